"""A learner's eligibility facts as pages (issue 16 items 5 and 6): staff confirm groups and
residence and record external certificates with a scan; regulators verify or reject them and
confirm external certificates from a queue. A thin layer over :mod:`app.programmes.facts` — the
same calls as ``/api/v1/learners/{id}/eligibility`` and its siblings, so page and API answer
alike. Plain forms with the CSRF field; a success redirects with a flash, a refusal re-renders
the page with the reason in words next to the form it concerns."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response
from sqlmodel import Session

from app.accounts.models import Role, User
from app.accounts.principal import Principal
from app.db import attempt
from app.errors import DomainError, Forbidden
from app.http.media import scan_response
from app.http.session import SessionDep
from app.programmes import external, facts, regions
from app.programmes.exceptions import InvalidExternalCertificate
from app.programmes.facts import GROUP_EVIDENCE, RESIDENCE_EVIDENCE
from app.programmes.models import (
    EvidenceKind,
    ExternalStatus,
    FactStatus,
    LearnerGroupFact,
    ResidenceFact,
    ResidenceKind,
)
from app.web.i18n import lang_of, message_for
from app.web.regulator.standards import CERTIFICATE_NAMES, LEVEL_NAMES
from app.web.render import GROUP_NAMES, error_page, redirect, render, to_login
from app.web.session import PageUser, check_csrf

router = APIRouter(include_in_schema=False)

EVIDENCE_NAMES: dict[str, str] = {
    EvidenceKind.unemployment_registration.value: "就业失业登记证",
    EvidenceKind.veteran_card.value: "退役军人证（优待证）",
    EvidenceKind.disability_certificate.value: "残疾人证",
    EvidenceKind.employment_difficulty_certificate.value: "就业困难人员认定证明",
    EvidenceKind.graduation_certificate.value: "毕业证书",
    EvidenceKind.poverty_registration.value: "脱贫人口登记",
    EvidenceKind.labour_contract.value: "劳动合同",
    EvidenceKind.social_insurance.value: "社会保险缴费记录",
    EvidenceKind.household_register.value: "户口簿",
    EvidenceKind.other_document.value: "其他证明材料（如居住证）",
    EvidenceKind.self_declared.value: "本人申报",
}
FACT_STATUS_NAMES: dict[str, str] = {
    FactStatus.declared.value: "本人申报，待核实",
    FactStatus.confirmed.value: "机构已核实",
    FactStatus.verified.value: "人社部门已核验",
    FactStatus.rejected.value: "已驳回",
}
EXTERNAL_STATUS_NAMES: dict[str, str] = {
    ExternalStatus.recorded.value: "待人社部门确认",
    ExternalStatus.confirmed.value: "已确认",
    ExternalStatus.rejected.value: "未获确认",
}
RESIDENCE_NAMES: dict[str, str] = {
    ResidenceKind.household.value: "户籍地",
    ResidenceKind.resident.value: "常住地",
    ResidenceKind.employed.value: "就业地",
}
EXTERNAL_KINDS = [k.value for k in external.EXTERNAL_KINDS]
QUEUE = "/regulator/external-certificates"


def _staff_page(learner_id: uuid.UUID) -> str:
    return f"/staff/learners/{learner_id}/eligibility"


def _regulator_page(learner_id: uuid.UUID) -> str:
    return f"/regulator/learners/{learner_id}/eligibility"


@dataclass(frozen=True)
class _Caller:
    user: User
    principal: Principal


def _caller(
    request: Request, user: User | None, role: str, csrf: str | None = None
) -> _Caller | Response:
    """The signed-in caller of a ``role`` page (a form's CSRF field checked first), or the page
    sending anyone else away."""
    if csrf is not None:
        check_csrf(request, csrf)
    if user is None:
        return to_login(request)
    principal = Principal.of_user(user)
    if role == "staff" and user.role is not Role.staff:
        return error_page(request, user, Forbidden("This page is for training staff."))
    if role == "regulator" and not principal.is_regulator:
        return error_page(request, user, Forbidden("This page is for regulators."))
    return _Caller(user, principal)


def _page(
    request: Request,
    user: User,
    principal: Principal,
    session: Session,
    learner_id: uuid.UUID,
    mode: str,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> Response:
    try:
        view = facts.facts_of(session, principal, learner_id)
    except DomainError as err:
        return error_page(request, user, err)
    masked = view.learner.id_number_masked
    id_region = masked[:6] if masked else None
    return render(
        request,
        "eligibility.html",
        user,
        status=status,
        mode=mode,
        view=view,
        id_region=id_region,
        region_names=view.region_names,
        place_options=regions.labelled(session, places_only=True) if mode == "staff" else [],
        group_names=GROUP_NAMES,
        evidence_names=EVIDENCE_NAMES,
        group_evidence={g: [k.value for k in ks] for g, ks in GROUP_EVIDENCE.items()},
        residence_evidence={k.value: [e.value for e in es] for k, es in RESIDENCE_EVIDENCE.items()},
        fact_status_names=FACT_STATUS_NAMES,
        external_status_names=EXTERNAL_STATUS_NAMES,
        residence_names=RESIDENCE_NAMES,
        certificate_names=CERTIFICATE_NAMES,
        level_names=LEVEL_NAMES,
        external_kinds=EXTERNAL_KINDS,
        errors=errors or {},
        values=values or {},
    )


def _refused(
    request: Request,
    user: User,
    principal: Principal,
    session: Session,
    learner_id: uuid.UUID,
    mode: str,
    err: DomainError,
    where: str,
    values: dict[str, Any] | None = None,
) -> Response:
    message = message_for(err, lang_of(request))
    if err.detail and err.detail != err.message_en:
        message = f"{message}（{err.detail}）" if lang_of(request).startswith("zh") else err.detail
    return _page(
        request,
        user,
        principal,
        session,
        learner_id,
        mode,
        status=err.status,
        errors={where: message},
        values=values,
    )


def _act(
    request: Request,
    caller: _Caller,
    session: Session,
    learner_id: uuid.UUID,
    mode: str,
    *,
    where: str,
    run: Callable[[], object],
    flash: str,
    values: dict[str, Any] | None = None,
) -> Response:
    """Handle a form on a learner's eligibility page as the API handles the request: ``run``
    the service call in a savepoint; on success back to the page (``mode``: the staff's or the
    regulator's) with the ``flash`` message; on a refusal the page again with the reason next to
    the form (``where``) and what was typed."""
    try:
        with attempt(session):
            run()
    except DomainError as err:
        return _refused(
            request, caller.user, caller.principal, session, learner_id, mode, err, where, values
        )
    page = _staff_page(learner_id) if mode == "staff" else _regulator_page(learner_id)
    return redirect(request, page, flash)


# ---------------------------------------------------------------- staff


@router.get("/staff/learners/{learner_id}/eligibility")
def staff_facts(
    request: Request, learner_id: uuid.UUID, user: PageUser, session: SessionDep
) -> Response:
    """The learner's groups, residence and external certificates, with the forms to confirm and
    record them (``facts.facts_of``, as ``GET /api/v1/learners/{id}/eligibility``)."""
    who = _caller(request, user, "staff")
    if isinstance(who, Response):
        return who
    return _page(request, who.user, who.principal, session, learner_id, "staff")


@router.post("/staff/learners/{learner_id}/groups")
def staff_confirm_group(
    request: Request,
    learner_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    group: Annotated[str, Form(max_length=32)] = "",
    evidence_kind: Annotated[str, Form(max_length=40)] = "",
    evidence_number: Annotated[str, Form(max_length=64)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """``facts.confirm_group``, as ``POST /api/v1/learners/{id}/groups``."""
    who = _caller(request, user, "staff", csrf)
    if isinstance(who, Response):
        return who
    return _act(
        request,
        who,
        session,
        learner_id,
        "staff",
        where="group",
        values={"group": group, "evidence_kind": evidence_kind, "evidence_number": evidence_number},
        run=lambda: facts.confirm_group(
            session,
            who.principal,
            learner_id,
            group=group,
            evidence_kind=evidence_kind,
            evidence_number=evidence_number or None,
        ),
        flash="group_confirmed",
    )


@router.post("/staff/learners/{learner_id}/residences")
def staff_confirm_residence(
    request: Request,
    learner_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    kind: Annotated[str, Form(max_length=16)] = "",
    region_code: Annotated[str, Form(max_length=12)] = "",
    evidence_kind: Annotated[str, Form(max_length=40)] = "",
    evidence_number: Annotated[str, Form(max_length=64)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """``facts.confirm_residence``, as ``POST /api/v1/learners/{id}/residences``."""
    who = _caller(request, user, "staff", csrf)
    if isinstance(who, Response):
        return who
    values = {
        "kind": kind,
        "region_code": region_code,
        "evidence_kind": evidence_kind,
        "evidence_number": evidence_number,
    }
    return _act(
        request,
        who,
        session,
        learner_id,
        "staff",
        where="residence",
        values=values,
        run=lambda: facts.confirm_residence(
            session,
            who.principal,
            learner_id,
            kind=kind,
            region_code=region_code,
            evidence_kind=evidence_kind,
            evidence_number=evidence_number or None,
        ),
        flash="residence_confirmed",
    )


@router.post("/staff/learners/{learner_id}/external-certificates")
def staff_record_external(
    request: Request,
    learner_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    scan: Annotated[UploadFile | None, File()] = None,
    kind: Annotated[str, Form(max_length=32)] = "",
    number: Annotated[str, Form(max_length=64)] = "",
    issuer: Annotated[str, Form(max_length=200)] = "",
    issued_on: Annotated[str, Form(max_length=32)] = "",
    occupation_code: Annotated[str, Form(max_length=32)] = "",
    occupation_name: Annotated[str, Form(max_length=100)] = "",
    level: Annotated[str, Form(max_length=16)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """``external.record_external``, as ``POST /api/v1/learners/{id}/external-certificates``."""
    who = _caller(request, user, "staff", csrf)
    if isinstance(who, Response):
        return who
    values = {
        "kind": kind,
        "number": number,
        "issuer": issuer,
        "issued_on": issued_on,
        "occupation_code": occupation_code,
        "occupation_name": occupation_name,
        "level": level,
    }

    def record() -> object:
        try:
            day = date.fromisoformat(issued_on.strip())
        except ValueError:
            raise InvalidExternalCertificate(
                f"{issued_on!r} is not a date (YYYY-MM-DD).", field="issued_on"
            ) from None
        data = scan.file.read(external.MAX_SCAN_BYTES + 1) if scan is not None else b""
        return external.record_external(
            session,
            who.principal,
            learner_id,
            external.ExternalInput(
                kind=kind,
                number=number,
                issuer=issuer,
                issued_on=day,
                occupation_code=occupation_code,
                occupation_name=occupation_name,
                level=level or None,
            ),
            data,
        )

    return _act(
        request,
        who,
        session,
        learner_id,
        "staff",
        where="external",
        values=values,
        run=record,
        flash="external_recorded",
    )


# ---------------------------------------------------------------- regulators


@router.get("/regulator/learners/{user_id}/eligibility")
def regulator_facts(
    request: Request, user_id: uuid.UUID, user: PageUser, session: SessionDep
) -> Response:
    """A learner's facts with the forms to verify or reject them (within the jurisdiction)."""
    who = _caller(request, user, "regulator")
    if isinstance(who, Response):
        return who
    return _page(request, who.user, who.principal, session, user_id, "regulator")


def _decide_fact(
    request: Request,
    user: User | None,
    session: Session,
    fact_id: uuid.UUID,
    decision: str,
    reason: str,
    csrf: str,
    *,
    residence: bool,
) -> Response:
    who = _caller(request, user, "regulator", csrf)
    if isinstance(who, Response):
        return who
    try:
        fact = (
            facts.visible_fact(session, who.principal, ResidenceFact, fact_id)
            if residence
            else facts.visible_fact(session, who.principal, LearnerGroupFact, fact_id)
        )
    except DomainError as err:
        return error_page(request, who.user, err)

    def decide() -> object:
        if decision == "verify":
            verify = facts.verify_residence if residence else facts.verify_group
            return verify(session, who.principal, fact_id)
        reject = facts.reject_residence if residence else facts.reject_group
        return reject(session, who.principal, fact_id, reason=reason)

    return _act(
        request,
        who,
        session,
        fact.user_id,
        "regulator",
        where=f"fact-{fact_id}",
        run=decide,
        flash="fact_verified" if decision == "verify" else "fact_rejected",
    )


@router.post("/regulator/learner-groups/{fact_id}/decision")
def regulator_decide_group(
    request: Request,
    fact_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    decision: Annotated[str, Form(max_length=16)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """``facts.verify_group`` / ``reject_group``, as the API's decision on a group."""
    return _decide_fact(request, user, session, fact_id, decision, reason, csrf, residence=False)


@router.post("/regulator/residences/{residence_id}/decision")
def regulator_decide_residence(
    request: Request,
    residence_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    decision: Annotated[str, Form(max_length=16)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """``facts.verify_residence`` / ``reject_residence``, as the API."""
    return _decide_fact(
        request, user, session, residence_id, decision, reason, csrf, residence=True
    )


def _queue(
    request: Request,
    user: User,
    principal: Principal,
    session: Session,
    status_filter: str,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
) -> Response:
    wanted = ExternalStatus(status_filter) if status_filter in ExternalStatus.__members__ else None
    rows = external.list_externals(session, principal, status=wanted)
    learners = external.learners_of(session, rows)
    return render(
        request,
        "regulator_external.html",
        user,
        status=status,
        rows=rows,
        learners=learners,
        status_filter=wanted.value if wanted else "",
        external_status_names=EXTERNAL_STATUS_NAMES,
        certificate_names=CERTIFICATE_NAMES,
        level_names=LEVEL_NAMES,
        jurisdiction_name=regions.full_name(session, principal.jurisdiction or regions.NATIONAL),
        errors=errors or {},
    )


@router.get(QUEUE)
def external_queue(
    request: Request, user: PageUser, session: SessionDep, status: str = "recorded"
) -> Response:
    """External certificates within the jurisdiction (default: those awaiting confirmation),
    as ``GET /api/v1/external-certificates?status=recorded``."""
    who = _caller(request, user, "regulator")
    if isinstance(who, Response):
        return who
    return _queue(request, who.user, who.principal, session, status)


@router.post(QUEUE + "/{external_id}/decision")
def external_decision(
    request: Request,
    external_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    decision: Annotated[str, Form(max_length=16)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """``external.decide_external``, as ``POST /api/v1/external-certificates/{id}/decision``."""
    who = _caller(request, user, "regulator", csrf)
    if isinstance(who, Response):
        return who
    try:
        with attempt(session):
            external.decide_external(
                session, who.principal, external_id, confirm=decision == "confirm", reason=reason
            )
    except DomainError as err:
        message = message_for(err, lang_of(request))
        return _queue(
            request,
            who.user,
            who.principal,
            session,
            "",  # every state: the row refused is shown, whatever it became
            status=err.status,
            errors={f"ext-{external_id}": message},
        )
    flash = "external_confirmed" if decision == "confirm" else "external_rejected"
    return redirect(request, QUEUE, flash)


@router.get("/eligibility/external-certificates/{external_id}/scan")
def external_scan(external_id: uuid.UUID, user: PageUser, session: SessionDep) -> Response:
    """The scan for the pages (the session cookie signs in; a link cannot send a header):
    whoever may see the certificate, as ``GET /api/v1/external-certificates/{id}/scan``."""
    if user is None:
        return Response(status_code=401, headers={"Cache-Control": "no-store"})
    try:
        cert = external.get_external(session, Principal.of_user(user), external_id)
    except DomainError as err:
        return Response(status_code=err.status, headers={"Cache-Control": "no-store"})
    try:
        data = external.scan_bytes(cert)
    except DomainError as err:
        return Response(status_code=err.status, headers={"Cache-Control": "no-store"})
    return scan_response(cert, data)
