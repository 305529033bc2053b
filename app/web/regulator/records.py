"""What the dashboard links to: evidence crops, the learners list and a learner's file, audit
exports and checkpoints, and the certificate lookup.

The learners list (``/regulator/learners``): the enrolments of the institutions in the
jurisdiction, with search, filters (institution, course, state, enrolment dates) and paging. The
same query as the staff's list (``courses.search_enrollments``), which holds the rule of who sees
what (``visible_to``: the jurisdiction); the query string is checked by app/web/listing.py like
every list (a bad value is dropped and named, status 400)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response as PlainResponse
from fastapi.responses import StreamingResponse
from starlette.responses import Response

from app.accounts.principal import Principal
from app.audit import export
from app.audit import service as audit
from app.certificates import exceptions as certx
from app.certificates import service as certificates
from app.certificates import subsidy
from app.certificates.schemas import VerifyOut
from app.courses import offline_records
from app.courses import service as courses
from app.db import get_engine, transaction
from app.errors import DomainError, Forbidden
from app.http.session import SessionDep
from app.programmes import regions
from app.programmes.jurisdiction import visible_institutions
from app.reports import audit_access, dashboard
from app.web import listing
from app.web.enrolment_list import enrolment_rows, state_filter
from app.web.i18n import gettext, lang_of
from app.web.listing import ListSpec, Select
from app.web.regulator.views import (
    crop_link,
)
from app.web.regulator.words import (
    OUTCOMES,
    PURPOSES,
    RULE_NAMES,
    BadFilter,
    bad_filter,
    fmt_time,
    parse_instant,
    reader,
    uuid_or_none,
    yuan_text,
)
from app.web.render import (
    GROUP_NAMES,
    error_page,
    evidence_image,
    render,
    secure_headers,
    to_login,
)
from app.web.session import PageUser

router = APIRouter(include_in_schema=False)


# ---------------------------------------------------------------- evidence and learners


@router.get("/regulator/evidence/{event_id}.jpg")
def evidence_crop(event_id: uuid.UUID, user: PageUser, session: SessionDep) -> Response:
    """An evidence crop for the dashboard and learner pages: regulators, and staff of the
    event's institution (the rule of the REST endpoint, ``attendance.evidence``). The session
    cookie alone signs in: an ``<img>`` or a link cannot send the CSRF header; a GET changes
    nothing."""
    if user is None:
        return Response(status_code=401, headers={"Cache-Control": "no-store"})
    return evidence_image(session, user, event_id)


# ---------------------------------------------------------------- learners list

LEARNERS = "/regulator/learners"
LEARNERS_PAGE = 50
#: The states of an enrolment on the list (the staff's list has the same two).


@router.get(LEARNERS)
def learners_list(request: Request, user: PageUser, session: SessionDep) -> Response:
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
            "state": state_filter(t),
        },
        dates=t("报名日期"),
    )
    query, errors = listing.read(request, spec, t)
    result, items = enrolment_rows(
        session,
        principal,
        query,
        lang,
        per_page=LEARNERS_PAGE,
        institution_id=chosen_inst,
        institution_names=names,
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
        action=LEARNERS,
        page_link=lambda n: query.link(LEARNERS, page=n),
        groups=GROUP_NAMES,
        jurisdiction_name=regions.full_name(session, principal.jurisdiction or regions.NATIONAL),
    )


@router.get("/regulator/learners/{user_id}")
def learner_page(
    request: Request, user_id: uuid.UUID, user: PageUser, session: SessionDep
) -> Response:
    """One learner's enrolments and attendance events, read-only (evidence of a finding)."""
    who = reader(request, user)
    if not isinstance(who, Principal):
        return who
    try:
        file = dashboard.learner_file(session, who, user_id)
    except DomainError as err:
        return error_page(request, user, err)
    courses = {}
    for en, course, credits in file.enrolments:
        courses[en.id] = {
            "over": {dc.day for dc in credits if dc.seconds > course.daily_cap_minutes * 60},
        }
    return render(
        request,
        "regulator_learner.html",
        user,
        file=file,
        offline=offline_records.records_of(session, [en.id for en, _, _ in file.enrolments]),
        over=courses,
        purposes=PURPOSES,
        outcomes=OUTCOMES,
        crop_link=crop_link,
        group_name=GROUP_NAMES.get(file.learner.group) if file.learner.group else None,
    )


# ---------------------------------------------------------------- audit


def _audit_window(since: str, until: str) -> tuple[datetime | None, datetime | None]:
    lo, hi = parse_instant(since), parse_instant(until)
    export.check_window(lo, hi)
    return lo, hi


@router.get("/regulator/audit/export")
def audit_export(
    request: Request,
    user: PageUser,
    session: SessionDep,
    institution_id: str = "",
    since: str = "",
    until: str = "",
    format: str = "ndjson",  # noqa: A002 - the API's parameter name
) -> Response:
    """The audit export of ``GET /api/v1/audit/export`` behind the session cookie (a download
    link cannot send the CSRF header): the same chain rules and the same bytes."""
    who = reader(request, user)
    if not isinstance(who, Principal):
        return who
    fmt: export.ExportFormat = "csv" if format == "csv" else "ndjson"
    try:
        lo, hi = _audit_window(since, until)
        chain = audit_access.resolve_chain(session, who, uuid_or_none(institution_id))
    except (BadFilter, DomainError) as err:
        return bad_filter(request, user, err)

    def body() -> Iterator[bytes]:
        # The request's session is closed once streaming starts: read in a transaction of our own.
        with transaction(get_engine(), reading=True) as s:
            yield from export.iter_export_bytes(s, chain, since=lo, until=hi, fmt=fmt)

    response = StreamingResponse(
        body(),
        media_type=export.MEDIA_TYPES[fmt],
        headers={
            "Content-Disposition": f'attachment; filename="{export.filename(chain, lo, hi, fmt)}"'
        },
    )
    secure_headers(response)
    return response


@router.get("/regulator/audit/checkpoint")
def audit_checkpoint(
    request: Request, user: PageUser, session: SessionDep, institution_id: str = ""
) -> Response:
    """The chain's latest signed checkpoint (``GET /api/v1/audit/checkpoint``) as a download."""
    who = reader(request, user)
    if not isinstance(who, Principal):
        return who
    try:
        chain = audit_access.resolve_chain(session, who, uuid_or_none(institution_id))
    except (BadFilter, DomainError) as err:
        return bad_filter(request, user, err)
    body = json.dumps(audit.checkpoint(session, chain), ensure_ascii=False, indent=2)
    response = PlainResponse(body.encode("utf-8"), media_type="application/json")
    secure_headers(response)
    name = "checkpoint-" + chain.replace(":", "-") + ".json"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# ---------------------------------------------------------------- certificate lookup


@router.get("/regulator/certificates")
def certificate_lookup(
    request: Request, user: PageUser, session: SessionDep, serial: str = ""
) -> Response:
    """Look a certificate up by serial: its public verification and, for regulators and staff of
    the issuing institution, the subsidy evaluation with every rule named."""
    who = reader(request, user)
    if not isinstance(who, Principal):
        return who
    serial = serial.strip()[:64]
    ctx: dict[str, Any] = {"serial": serial, "cert": None, "decision": None, "found": None}
    status = 200
    if serial:
        try:
            cert = certificates.by_serial(session, serial)
        except certx.CertificateNotFound:
            cert = None
            status = 404
        ctx["found"] = cert is not None
        if cert is not None:
            ctx["cert"] = VerifyOut.of(
                cert, institution=certificates.institution_name(session, cert)
            )
            if certificates.can_see_certificate(who, cert):
                ctx["decision"] = subsidy.decide(session, cert)
    return render(
        request,
        "regulator_certificate.html",
        user,
        status=status,
        rule_names=RULE_NAMES,
        yuan=yuan_text,
        local_day=lambda d: fmt_time(d)[:10],
        **ctx,
    )
