"""The learners lists' shared part, for the staff's list (their institution's learners) and the
regulator's (the learners of the institutions in their jurisdiction): the state filter's words,
and each page of rows with its progress and certificate. Who sees which enrolment is the
courses domain's one rule (``search_enrollments`` through ``visible_to``); this only shapes
what it returns for the templates."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from sqlmodel import Session

from app.accounts.models import User
from app.accounts.principal import Principal
from app.certificates import service as certificates
from app.courses import service as courses
from app.courses.models import Course, Enrollment
from app.courses.progress import progress
from app.paging import Page
from app.web.i18n import Lang
from app.web.listing import ListQuery, Select

#: What the learners lists filter by, and the words of its states.
STATES = {"in_progress": "学习中", "complete": "已完成"}


def state_filter(t: Callable[[str], str]) -> Select:
    return Select(t("状态"), {k: t(v) for k, v in STATES.items()})


def enrolment_rows(
    session: Session,
    principal: Principal,
    query: ListQuery,
    lang: Lang,
    *,
    per_page: int,
    institution_id: uuid.UUID | None = None,
    institution_names: Mapping[uuid.UUID, str] | None = None,
) -> tuple[Page[tuple[Enrollment, User, Course]], list[dict[str, Any]]]:
    """One page of the enrolments the caller supervises, filtered by the checked query (course,
    state, search, enrolment dates), with each row's progress, what is missing in the reader's
    language and its certificate; ``institution_names`` adds each row's institution."""
    chosen = query.get("course")
    state = query.get("state")
    result = courses.search_enrollments(
        session,
        principal,
        institution_id=institution_id,
        course_id=uuid.UUID(chosen) if chosen else None,
        q=query.q,
        state="complete" if state == "complete" else "in_progress" if state else None,
        enrolled_from=query.date_from,
        enrolled_to=query.date_to,
        page=query.page,
        per_page=per_page,
    )
    certs = certificates.certificates_of(session, principal, [e.id for e, _u, _c in result.items])
    items = []
    for enrollment, learner, course in result.items:
        p = progress(enrollment, course)
        row: dict[str, Any] = {
            "enrollment": enrollment,
            "learner": learner,
            "course": course,
            "p": p,
            "complete": enrollment.completed_at is not None or p.complete,
            "missing": p.missing_zh if lang == "zh" else p.missing,
            "certificate": certs.get(enrollment.id),
        }
        if institution_names is not None:
            row["institution"] = institution_names.get(enrollment.institution_id, "")
        items.append(row)
    return result, items
