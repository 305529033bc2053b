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
from functools import partial
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
)
from app.web.i18n import lang_of, message_for
from app.web.regulator.standards import CERTIFICATE_NAMES, LEVEL_NAMES, RESIDENCE_NAMES
from app.web.render import GROUP_NAMES, act, error_page, redirect, render, to_login
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
EXTERNAL_KINDS = [k.value for k in external.EXTERNAL_KINDS]
QUEUE = "/regulator/external-certificates"


def _learner_page(learner_id: uuid.UUID, mode: str) -> str:
    return f"/{mode}/learners/{learner_id}/eligibility"


@dataclass(frozen=True)
class _Caller:
    """A signed-in staff member or regulator on these pages, with the request's session."""

    request: Request
    session: Session
    user: User
    principal: Principal
    mode: str  # "staff" or "regulator": whose page (and forms) the learner's facts show on

    def page(
        self,
        learner_id: uuid.UUID,
        *,
        status: int = 200,
        errors: dict[str, str] | None = None,
        values: dict[str, Any] | None = None,
    ) -> Response:
        """The learner's facts (``facts.facts_of``) with this caller's forms."""
        try:
            view = facts.facts_of(self.session, self.principal, learner_id)
        except DomainError as err:
            return error_page(self.request, self.user, err)
        masked = view.learner.id_number_masked
        staff = self.mode == "staff"
        return render(
            self.request,
            "eligibility.html",
            self.user,
            status=status,
            mode=self.mode,
            view=view,
            id_region=masked[:6] if masked else None,
            region_names=view.region_names,
            place_options=regions.labelled(self.session, places_only=True) if staff else [],
            group_names=GROUP_NAMES,
            evidence_names=EVIDENCE_NAMES,
            group_evidence={g: [k.value for k in ks] for g, ks in GROUP_EVIDENCE.items()},
            residence_evidence={
                k.value: [e.value for e in es] for k, es in RESIDENCE_EVIDENCE.items()
            },
            fact_status_names=FACT_STATUS_NAMES,
            external_status_names=EXTERNAL_STATUS_NAMES,
            residence_names=RESIDENCE_NAMES,
            certificate_names=CERTIFICATE_NAMES,
            level_names=LEVEL_NAMES,
            external_kinds=EXTERNAL_KINDS,
            errors=errors or {},
            values=values or {},
        )

    def act(
        self,
        learner_id: uuid.UUID,
        where: str,
        run: Callable[[], object],
        flash: str,
        values: dict[str, Any] | None = None,
    ) -> Response:
        """Handle a form on the learner's page as the API handles the request: ``run`` the
        service call in a savepoint; on success back to the page with the ``flash`` message; on
        a refusal the page again with the reason next to the form (``where``) and what was
        typed."""
        try:
            with attempt(self.session):
                run()
        except DomainError as err:
            lang = lang_of(self.request)
            message = message_for(err, lang)
            if err.detail and err.detail != err.message_en:
                message = f"{message}（{err.detail}）" if lang.startswith("zh") else err.detail
            return self.page(learner_id, status=err.status, errors={where: message}, values=values)
        return redirect(self.request, _learner_page(learner_id, self.mode), flash)


def _caller(
    request: Request, session: Session, user: User | None, mode: str, csrf: str | None = None
) -> _Caller | Response:
    """The signed-in caller of a ``mode`` page (a form's CSRF field checked first), or the page
    sending anyone else away."""
    if csrf is not None:
        check_csrf(request, csrf)
    if user is None:
        return to_login(request)
    principal = Principal.of_user(user)
    if mode == "staff" and user.role is not Role.staff:
        return error_page(request, user, Forbidden("This page is for training staff."))
    if mode == "regulator" and not principal.is_regulator:
        return error_page(request, user, Forbidden("This page is for regulators."))
    return _Caller(request, session, user, principal, mode)


# ---------------------------------------------------------------- staff


@router.get("/staff/learners/{learner_id}/eligibility")
def staff_facts(
    request: Request, learner_id: uuid.UUID, user: PageUser, session: SessionDep
) -> Response:
    """The learner's groups, residence and external certificates, with the forms to confirm and
    record them (``facts.facts_of``, as ``GET /api/v1/learners/{id}/eligibility``)."""
    who = _caller(request, session, user, "staff")
    return who if isinstance(who, Response) else who.page(learner_id)


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
    who = _caller(request, session, user, "staff", csrf)
    if isinstance(who, Response):
        return who
    typed = {"group": group, "evidence_kind": evidence_kind, "evidence_number": evidence_number}
    run = partial(
        facts.confirm_group,
        session,
        who.principal,
        learner_id,
        group=group,
        evidence_kind=evidence_kind,
        evidence_number=evidence_number or None,
    )
    return who.act(learner_id, "group", run, "group_confirmed", typed)


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
    who = _caller(request, session, user, "staff", csrf)
    if isinstance(who, Response):
        return who
    run = partial(
        facts.confirm_residence,
        session,
        who.principal,
        learner_id,
        kind=kind,
        region_code=region_code,
        evidence_kind=evidence_kind,
        evidence_number=evidence_number or None,
    )
    typed = {
        "kind": kind,
        "region_code": region_code,
        "evidence_kind": evidence_kind,
        "evidence_number": evidence_number,
    }
    return who.act(learner_id, "residence", run, "residence_confirmed", typed)


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
    who = _caller(request, session, user, "staff", csrf)
    if isinstance(who, Response):
        return who
    typed = {
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
        cert = external.ExternalInput(
            kind=kind,
            number=number,
            issuer=issuer,
            issued_on=day,
            occupation_code=occupation_code,
            occupation_name=occupation_name,
            level=level or None,
        )
        return external.record_external(session, who.principal, learner_id, cert, data)

    return who.act(learner_id, "external", record, "external_recorded", typed)


# ---------------------------------------------------------------- regulators


@router.get("/regulator/learners/{user_id}/eligibility")
def regulator_facts(
    request: Request, user_id: uuid.UUID, user: PageUser, session: SessionDep
) -> Response:
    """A learner's facts with the forms to verify or reject them (within the jurisdiction)."""
    who = _caller(request, session, user, "regulator")
    return who if isinstance(who, Response) else who.page(user_id)


def _decide_fact(
    who: _Caller | Response,
    fact_id: uuid.UUID,
    decision: str,
    reason: str,
    *,
    residence: bool,
) -> Response:
    if isinstance(who, Response):
        return who
    try:
        fact = (
            facts.visible_fact(who.session, who.principal, ResidenceFact, fact_id)
            if residence
            else facts.visible_fact(who.session, who.principal, LearnerGroupFact, fact_id)
        )
    except DomainError as err:
        return error_page(who.request, who.user, err)
    if decision == "verify":
        verify = facts.verify_residence if residence else facts.verify_group
        run = partial(verify, who.session, who.principal, fact_id)
    else:
        reject = facts.reject_residence if residence else facts.reject_group
        run = partial(reject, who.session, who.principal, fact_id, reason=reason)
    flash = "fact_verified" if decision == "verify" else "fact_rejected"
    return who.act(fact.user_id, f"fact-{fact_id}", run, flash)


@router.post("/staff/learner-groups/{fact_id}/decision")
def staff_reject_group(
    request: Request,
    fact_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    decision: Annotated[str, Form(max_length=16)] = "reject",
    reason: Annotated[str, Form(max_length=500)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Staff of the learner's institution reject a group with the reason (``facts.reject_group``,
    as the API's decision; verifying is the regulator's, and is refused here as there)."""
    who = _caller(request, session, user, "staff", csrf)
    return _decide_fact(who, fact_id, decision, reason, residence=False)


@router.post("/staff/residences/{residence_id}/decision")
def staff_reject_residence(
    request: Request,
    residence_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    decision: Annotated[str, Form(max_length=16)] = "reject",
    reason: Annotated[str, Form(max_length=500)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Staff reject a residence with the reason (``facts.reject_residence``), as the API."""
    who = _caller(request, session, user, "staff", csrf)
    return _decide_fact(who, residence_id, decision, reason, residence=True)


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
    who = _caller(request, session, user, "regulator", csrf)
    return _decide_fact(who, fact_id, decision, reason, residence=False)


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
    who = _caller(request, session, user, "regulator", csrf)
    return _decide_fact(who, residence_id, decision, reason, residence=True)


def _queue(
    who: _Caller,
    status_filter: str,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
) -> Response:
    wanted = ExternalStatus(status_filter) if status_filter in ExternalStatus.__members__ else None
    rows = external.list_externals(who.session, who.principal, status=wanted)
    learners = external.learners_of(who.session, rows)
    jurisdiction = who.principal.jurisdiction or regions.NATIONAL
    return render(
        who.request,
        "regulator_external.html",
        who.user,
        status=status,
        rows=rows,
        learners=learners,
        status_filter=wanted.value if wanted else "",
        external_status_names=EXTERNAL_STATUS_NAMES,
        certificate_names=CERTIFICATE_NAMES,
        level_names=LEVEL_NAMES,
        jurisdiction_name=regions.full_name(who.session, jurisdiction),
        errors=errors or {},
    )


@router.get(QUEUE)
def external_queue(
    request: Request, user: PageUser, session: SessionDep, status: str = "recorded"
) -> Response:
    """External certificates within the jurisdiction (default: those awaiting confirmation),
    as ``GET /api/v1/external-certificates?status=recorded``."""
    who = _caller(request, session, user, "regulator")
    return who if isinstance(who, Response) else _queue(who, status)


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
    who = _caller(request, session, user, "regulator", csrf)
    if isinstance(who, Response):
        return who
    lang = lang_of(request)
    flash = "external_confirmed" if decision == "confirm" else "external_rejected"
    return act(
        request,
        session,
        who.user,
        lambda: external.decide_external(
            session, who.principal, external_id, confirm=decision == "confirm", reason=reason
        ),
        # Every state: the row refused is shown, whatever it became.
        refused=lambda err: _queue(
            who, "", status=err.status, errors={f"ext-{external_id}": message_for(err, lang)}
        ),
        done=lambda _: redirect(request, QUEUE, flash),
    )


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
