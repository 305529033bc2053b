"""Visibility in the query (app/accounts/repository.py, app/attendance/repository.py): who sees
which learner, event and crop is decided once, and the review queue comes ready to show in a
fixed number of queries however long it is."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import Session

from app.accounts.exceptions import UserNotFound
from app.accounts.models import Role, User
from app.accounts.principal import Principal
from app.accounts.service import get_managed_learner, get_visible_learner
from app.attendance import repository as visible
from app.attendance.exceptions import EventNotFound
from app.attendance.models import (
    AttendanceEvent,
    FaceTemplate,
    Outcome,
    Purpose,
    ReviewStatus,
    TemplateStatus,
)
from app.db import transaction
from app.errors import Forbidden
from tests.factories import login, make_institution, make_learner, make_user


def _event(learner: User, **kw: Any) -> AttendanceEvent:
    return AttendanceEvent(
        user_id=learner.id,
        institution_id=learner.institution_id,
        purpose=kw.pop("purpose", Purpose.checkin),
        outcome=kw.pop("outcome", Outcome.review),
        review_status=kw.pop("review_status", ReviewStatus.pending),
        accept_threshold="0.3500",
        reject_threshold="0.5000",
        model_name="test",
        model_version="1",
        match_metric="euclidean",
        face_engine="test",
        model_sha256="0" * 64,
        **kw,
    )


def _learner_in_review(engine: Any, inst: Any, **kw: Any) -> tuple[User, uuid.UUID, uuid.UUID]:
    """A learner with an active template (its enrolment event has a crop) and an event in review."""
    learner = make_learner(engine, inst)
    with transaction(engine) as s:
        enrol = _event(
            learner,
            purpose=Purpose.enrol,
            outcome=Outcome.passed,
            review_status=None,
            evidence_path=f"evidence/{uuid.uuid4()}.jpg",
            evidence_sha256="0" * 64,
        )
        s.add(enrol)
        s.flush()
        s.add(
            FaceTemplate(
                user_id=learner.id,
                status=TemplateStatus.active,
                embeddings_sha256="0" * 64,
                n_embeddings=1,
                model_name="test",
                model_version="1",
                face_engine="test",
                model_sha256="0" * 64,
                enrol_event_id=enrol.id,
            )
        )
        pending = _event(learner, **kw)
        s.add(pending)
        s.flush()
        return learner, enrol.id, pending.id


@contextmanager
def _counting(engine: Any) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _queue_statements(engine: Any, principal: Principal) -> tuple[int, list[visible.ReviewRow]]:
    with Session(engine) as s, _counting(engine) as statements:
        rows = visible.review_queue(s, principal)
        selects = [x for x in statements if x.lstrip().upper().startswith("SELECT")]
        return len(selects), rows


def test_review_queue_is_ready_in_a_fixed_number_of_queries(engine: Any) -> None:
    inst = make_institution(engine)
    staff = Principal.of_user(make_user(engine, Role.staff, inst))
    first, first_enrol, first_event = _learner_in_review(engine, inst)
    one, rows = _queue_statements(engine, staff)
    assert [r.event.id for r in rows] == [first_event]
    [row] = rows
    assert row.learner is not None and row.learner.id == first.id
    assert row.enrolment_event_id == first_enrol and row.enrol_crop == first_enrol
    for _ in range(4):
        _learner_in_review(engine, inst)
    many, rows = _queue_statements(engine, staff)
    assert len(rows) == 5 and many == one


def test_review_queue_shows_only_what_the_reader_may_see(engine: Any) -> None:
    inst, other_inst = make_institution(engine), make_institution(engine)
    other_learner, other_enrol, _ = _learner_in_review(engine, other_inst)
    # A 1:N duplicate in this institution that matched the other institution's learner.
    _learner, _enrol, event_id = _learner_in_review(
        engine, inst, matched_user_id=other_learner.id, reason_code="face_matches_other_learner"
    )
    staff = Principal.of_user(make_user(engine, Role.staff, inst))
    regulator = Principal.of_user(make_user(engine, Role.regulator))
    learner = Principal.of_user(make_learner(engine, inst))
    with Session(engine) as s:
        [row] = visible.review_queue(s, staff)
        assert row.event.id == event_id
        assert row.matched is None and row.matched_crop is None  # another institution's learner
        by_regulator = {r.event.id: r for r in visible.review_queue(s, regulator)}
        assert len(by_regulator) == 2
        seen = by_regulator[event_id]
        assert seen.matched is not None and seen.matched.id == other_learner.id
        assert seen.matched_crop == other_enrol
        with pytest.raises(Forbidden):
            visible.review_queue(s, learner)
        assert visible.pending_count(s, staff) == 1 and visible.pending_count(s, regulator) == 2


def test_events_and_crops_are_found_only_when_visible(engine: Any) -> None:
    inst, other_inst = make_institution(engine), make_institution(engine)
    learner, enrol_id, event_id = _learner_in_review(engine, inst)
    own = Principal.of_user(learner)
    staff = Principal.of_user(make_user(engine, Role.staff, inst))
    stranger = Principal.of_user(make_user(engine, Role.staff, other_inst))
    with Session(engine) as s:
        assert visible.get_visible_event(s, own, event_id).id == event_id
        assert visible.get_visible_event(s, staff, event_id).id == event_id
        with pytest.raises(EventNotFound):
            visible.get_visible_event(s, stranger, event_id)
        assert visible.get_crop_event(s, staff, enrol_id).id == enrol_id
        for nobody in (own, stranger):  # a learner never sees crops, not even their own
            with pytest.raises(EventNotFound):
                visible.get_crop_event(s, nobody, enrol_id)


def test_learners_are_found_only_when_visible(engine: Any) -> None:
    inst, other_inst = make_institution(engine), make_institution(engine)
    learner = make_learner(engine, inst)
    staff = make_user(engine, Role.staff, inst)
    regulator = Principal.of_user(make_user(engine, Role.regulator))
    stranger = Principal.of_user(make_user(engine, Role.staff, other_inst))
    other = Principal.of_user(make_learner(engine, inst))
    with Session(engine) as s:
        assert get_visible_learner(s, Principal.of_user(staff), learner.id).id == learner.id
        assert get_visible_learner(s, Principal.of_user(learner), learner.id).id == learner.id
        assert get_visible_learner(s, regulator, learner.id).id == learner.id
        with pytest.raises(UserNotFound):
            get_visible_learner(s, stranger, learner.id)
        with pytest.raises(UserNotFound):  # staff are not learners
            get_visible_learner(s, Principal.of_user(staff), staff.id)
        with pytest.raises(UserNotFound):  # a learner sees only themselves
            get_visible_learner(s, other, learner.id)
        with pytest.raises(Forbidden):  # learners act for nobody
            get_managed_learner(s, other, learner.id)


def test_a_learner_cannot_read_a_classmate_through_the_api(client: Any, engine: Any) -> None:
    """GET /learners/{id} asks get_visible_learner: a learner of the same institution used to
    pass the institution check written in the handler."""
    inst = make_institution(engine)
    learner, classmate = make_learner(engine, inst), make_learner(engine, inst)
    h = login(client, learner.username)
    assert client.get(f"/api/v1/learners/{learner.id}", headers=h).status_code == 200
    r = client.get(f"/api/v1/learners/{classmate.id}", headers=h)
    assert (r.status_code, r.json()["code"]) == (404, "user_not_found")
