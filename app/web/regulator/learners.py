"""The regulator's learners list: the enrolments of the institutions in the jurisdiction, with
search, filters (institution, course, state, enrolment dates) and paging.

The same query as the staff's list (``courses.search_enrollments``), which holds the rule of
who sees what (``visible_to``: the jurisdiction); the query string is checked by
app/web/listing.py like every list (a bad value is dropped and named, status 400). Each row
links to the learner's file (``/regulator/learners/{id}``).
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.accounts.principal import Principal
from app.certificates import service as certificates
from app.courses import service as courses
from app.courses.progress import progress
from app.errors import DomainError, Forbidden
from app.http.session import SessionDep
from app.programmes import regions
from app.programmes.jurisdiction import visible_institutions
from app.web import listing
from app.web.i18n import gettext, lang_of
from app.web.listing import ListSpec, Select
from app.web.render import GROUP_NAMES, error_page, render, to_login
from app.web.session import PageUser

router = APIRouter(include_in_schema=False)

PAGE = "/regulator/learners"
PER_PAGE = 50
#: The states of an enrolment on the list (the staff's list has the same two).
STATES = {"in_progress": "学习中", "complete": "已完成"}


@router.get(PAGE)
def learners_page(request: Request, user: PageUser, session: SessionDep) -> Response:
    """Learners of the institutions in the regulator's jurisdiction, with their progress."""
    if user is None:
        return to_login(request)
    principal = Principal.of_user(user)
    if not principal.is_regulator or principal.jurisdiction is None:
        return error_page(request, user, Forbidden("The learners list is for regulators."))
    lang = lang_of(request)
    t = gettext(lang)
    institutions = visible_institutions(session, principal)
    inst_options = {str(i.id): f"{i.name}（{i.code}）" for i in institutions}
    # The course filter offers the chosen institution's courses (all of them when none is).
    asked = request.query_params.get("institution", "").strip()
    chosen_inst = uuid.UUID(asked) if asked in inst_options else None
    try:
        titles = courses.supervised_course_titles(session, principal, chosen_inst)
    except DomainError as err:
        return error_page(request, user, err)
    names = {i.id: i.name for i in institutions}
    course_options = {
        str(cid): title if chosen_inst else f"{title}（{names.get(inst, '')}）"
        for cid, (title, inst) in titles.items()
    }
    spec = ListSpec(
        search=t("姓名、用户名或手机号"),
        selects={
            "institution": Select(t("培训机构"), inst_options),
            "course": Select(t("课程"), course_options),
            "state": Select(t("状态"), {k: t(v) for k, v in STATES.items()}),
        },
        dates=t("报名日期"),
    )
    query, errors = listing.read(request, spec, t)
    chosen_course = query.get("course")
    state = query.get("state")
    result = courses.search_enrollments(
        session,
        principal,
        institution_id=chosen_inst,
        course_id=uuid.UUID(chosen_course) if chosen_course else None,
        q=query.q,
        state="complete" if state == "complete" else "in_progress" if state else None,
        enrolled_from=query.date_from,
        enrolled_to=query.date_to,
        page=query.page,
        per_page=PER_PAGE,
    )
    certs = certificates.certificates_of(session, principal, [e.id for e, _u, _c in result.items])
    items = []
    for enrollment, learner, course in result.items:
        p = progress(enrollment, course)
        items.append(
            {
                "enrollment": enrollment,
                "learner": learner,
                "course": course,
                "institution": names.get(enrollment.institution_id, ""),
                "p": p,
                "complete": enrollment.completed_at is not None or p.complete,
                "missing": p.missing_zh if lang == "zh" else p.missing,
                "certificate": certs.get(enrollment.id),
            }
        )
    return render(
        request,
        "regulator_learners.html",
        user,
        status=400 if errors else 200,
        items=items,
        result=result,
        query=query,
        spec=spec,
        errors=errors,
        action=PAGE,
        page_link=lambda n: query.link(PAGE, page=n),
        groups=GROUP_NAMES,
        jurisdiction_name=regions.full_name(session, principal.jurisdiction or regions.NATIONAL),
    )
