"""Migration 0026: each learner's single declared ``users.group`` becomes a declared group fact
(it counts for nothing until staff confirm it); existing standards keep deciding as before."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import text
from sqlmodel import Session, select

from app.accounts.models import LearnerGroup, User
from app.db import make_engine
from app.migrate import upgrade
from app.programmes.models import EvidenceKind, FactStatus, LearnerGroupFact


def test_the_single_group_becomes_a_declared_fact(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url, "0025")
    engine = make_engine(url, pooled=False)
    with engine.begin() as conn:  # the users table as it was at 0025 (later columns unknown)
        for name, group in (("a", "ex_serviceman"), ("b", None)):
            conn.execute(
                text(
                    'INSERT INTO users (id, username, password_hash, role, "group", is_active,'
                    " biometric_consent, face_enrolled, token_version, created_at) VALUES"
                    " (:id, :name, 'x', 'learner', :group, 1, 0, 0, 0, '2026-01-01 00:00:00')"
                ),
                {"id": uuid.uuid4().hex, "name": name, "group": group},
            )
    upgrade(url)  # through 0026 to the head (the models read the head's tables)
    with Session(engine) as s:
        [fact] = s.exec(select(LearnerGroupFact)).all()
        user = s.exec(select(User).where(User.username == "a")).one()
        assert (fact.user_id, fact.group) == (user.id, "ex_serviceman")
        assert fact.status is FactStatus.declared
        assert fact.evidence_kind is EvidenceKind.self_declared
        assert user.group is LearnerGroup.ex_serviceman  # what they declared stays
    with engine.connect() as conn:
        columns = {r[1] for r in conn.execute(text("PRAGMA table_info(subsidy_standards)"))}
    assert {"target_groups", "retirement_rule", "residence_kinds", "max_per_year"} <= columns
    engine.dispose()
