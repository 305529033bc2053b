"""Builders shared by the 1:N index tests (tests/attendance/test_search_*.py): templates written
through the ORM as enrolment writes them, synthetic SFace-like faces, a search through an index,
and the SQL statements a block runs."""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
from sqlalchemy import event
from sqlmodel import Session

from app.attendance import service
from app.attendance.face import ModelIdentity
from app.attendance.models import FaceTemplate, TemplateStatus
from app.attendance.search import TemplateIndex
from app.attendance.sface import SFACE_IDENTITY
from app.db import transaction


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def add_template(
    engine: Any, user_id: uuid.UUID, embs: np.ndarray, model: ModelIdentity = SFACE_IDENTITY
) -> uuid.UUID:
    """An active template of ``model``, written through the ORM as enrolment writes it."""
    blob, digest = service._encode_embeddings(embs.astype(np.float32))
    with transaction(engine) as s:
        t = FaceTemplate(
            user_id=user_id,
            status=TemplateStatus.active,
            embeddings_enc=blob,
            embeddings_sha256=digest,
            n_embeddings=len(embs),
            face_engine=model.engine,
            model_name=model.name,
            model_version=model.version,
            model_sha256=model.sha256,
        )
        s.add(t)
        s.flush()
        return t.id


def face(rng: np.random.Generator, k: int = 6) -> np.ndarray:
    """A template of ``k`` unit SFace-like embeddings around one random direction."""
    return unit(unit(rng.normal(size=(1, 128))) + rng.normal(scale=0.05, size=(k, 128)))


def hits(index: TemplateIndex, engine: Any, probes: np.ndarray, t: float = 0.5) -> list[uuid.UUID]:
    with Session(engine) as s:
        index.refresh(s)
        return [u for u, _ in index.search(s, probes, t, exclude_user=uuid.uuid4())]


class Statements:
    """The SQL statements run on ``engine`` while it is active."""

    def __init__(self, engine: Any) -> None:
        self.engine, self.seen = engine, []

    def _note(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.seen.append(statement)

    def __enter__(self) -> list[str]:
        event.listen(self.engine, "before_cursor_execute", self._note)
        return self.seen

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._note)
