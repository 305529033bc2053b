"""Regulator claim pages (issue 17): batches within jurisdiction, line-by-line review, each
line's evidence, batch approval (starts the public notice), payment after the notice, findings
and recoveries, objections. Thin: every rule is app/claims', called as the API calls it."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from sqlmodel import Session

from app.accounts.models import User
from app.accounts.principal import Principal
from app.claims import exceptions as cx
from app.claims import export
from app.claims import service as claims
from app.claims.models import (
    BatchStatus,
    LineDecision,
    ObjectionStatus,
    RecoveryStatus,
)
from app.claims.schemas import ObjectionOut
from app.errors import DomainError
from app.http.session import SessionDep
from app.web import claim_views as cv
from app.web.i18n import gettext, lang_of, message_for
from app.web.render import act, error_page, redirect, render, secure_headers, to_login
from app.web.session import PageUser, check_csrf
from app.web.staff.claim_batches import evidence_view

router = APIRouter(include_in_schema=False)

Text = Annotated[str, Form(max_length=1_000)]
Csrf = Annotated[str, Form(max_length=100)]


def _regulator(request: Request, user: User | None) -> User | Response:
    """The signed-in regulator, or the page sending everyone else away."""
    if user is None:
        return to_login(request)
    if not Principal.of_user(user).is_regulator:
        t = gettext(lang_of(request))
        return render(
            request, "error.html", user, status=403, message=t("此页面仅供人社监管部门使用。")
        )
    return user


def _regulator_post(request: Request, user: User | None, csrf: str) -> User | Response:
    check_csrf(request, csrf)
    return _regulator(request, user)


# ---------------------------------------------------------------- the list


def list_view(
    request: Request,
    who: User,
    session: Session,
    *,
    status_filter: str = "",
    institution_filter: str = "",
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    principal = Principal.of_user(who)
    everything = cv.summaries(session, principal)
    names = cv.institution_names(session, {b.institution_id for b in everything})
    try:
        institution_id = cv.uuid_of(institution_filter, "institution")
    except DomainError:
        institution_id = None
    wanted = BatchStatus(status_filter) if status_filter in BatchStatus.__members__ else None
    batches = [
        b
        for b in cv.summaries(session, principal, institution_id)
        if wanted is None or b.status is wanted
    ]
    return cv.list_page(
        request,
        who,
        session,
        "regulator",
        status=status,
        batches=batches,
        recoveries=cv.recoveries(session, principal, institution_id=institution_id),
        objections=[
            ObjectionOut.model_validate(o)
            for o in claims.list_objections(session, principal, status=ObjectionStatus.open)
        ],
        references={b.id: b.reference for b in everything},
        institutions=names,
        status_filter=wanted.value if wanted else "",
        institution_filter=str(institution_id) if institution_id else "",
        errors=errors or {},
        values=values or {},
    )


@router.get("/regulator/claims")
def batches_page(
    request: Request,
    user: PageUser,
    session: SessionDep,
    status: Annotated[str, Query(max_length=16)] = "",
    institution: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    """Batches within jurisdiction (filters: status, institution), open objections and
    recoveries."""
    who = _regulator(request, user)
    if isinstance(who, Response):
        return who
    return list_view(request, who, session, status_filter=status, institution_filter=institution)


# ---------------------------------------------------------------- a batch


@router.get("/regulator/claims/{batch_id}")
def batch_page(
    request: Request, batch_id: uuid.UUID, user: PageUser, session: SessionDep
) -> Response:
    who = _regulator(request, user)
    if isinstance(who, Response):
        return who
    return cv.batch_page(request, who, session, batch_id, "regulator")


def _line(
    request: Request, who: User, session: Session, line_id: uuid.UUID
) -> Response | uuid.UUID:
    """The batch of a line in the regulator's reach, or the not-found page."""
    try:
        return claims.get_line(session, Principal.of_user(who), line_id).batch_id
    except DomainError as err:
        return error_page(request, who, err)


@router.post("/regulator/claims/lines/{line_id}/review")
def review_line(
    request: Request,
    line_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    csrf: Csrf = "",
    decision: Annotated[str, Form(max_length=32)] = "",
    reason: Text = "",
) -> Response:
    """Approve a line, reject it with a reason, or request evidence (POST
    /claim-lines/{id}/review)."""
    who = _regulator_post(request, user, csrf)
    if isinstance(who, Response):
        return who
    batch_id = _line(request, who, session, line_id)
    if isinstance(batch_id, Response):
        return batch_id

    def run() -> object:
        if decision not in ("approved", "rejected", "evidence_requested"):
            raise cx.InvalidClaimInput("Choose a decision.", field="decision")
        return claims.review_line(
            session,
            Principal.of_user(who),
            line_id,
            decision=LineDecision(decision),
            reason=reason or None,
        )

    return cv.act(
        request,
        who,
        session,
        "regulator",
        batch_id=batch_id,
        key=f"line-{line_id}",
        run=run,
        done=f"/regulator/claims/{batch_id}#line-{line_id}",
        flash="claim_line_reviewed",
        values={"reason": reason},
    )


@router.get("/regulator/claims/lines/{line_id}/evidence")
def evidence_page(
    request: Request, line_id: uuid.UUID, user: PageUser, session: SessionDep
) -> Response:
    who = _regulator(request, user)
    if isinstance(who, Response):
        return who
    return evidence_view(request, who, session, line_id, "regulator")


@router.post("/regulator/claims/{batch_id}/approve")
def approve_batch(
    request: Request, batch_id: uuid.UUID, user: PageUser, session: SessionDep, csrf: Csrf = ""
) -> Response:
    """Approve the reviewed batch: its approved lines go on public notice."""
    who = _regulator_post(request, user, csrf)
    if isinstance(who, Response):
        return who
    return cv.act(
        request,
        who,
        session,
        "regulator",
        batch_id=batch_id,
        key="approve",
        run=lambda: claims.approve_batch(session, Principal.of_user(who), batch_id),
        done=f"/regulator/claims/{batch_id}",
        flash="claim_batch_approved",
    )


@router.post("/regulator/claims/{batch_id}/payments")
def record_payment(
    request: Request,
    batch_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    csrf: Csrf = "",
    amount_yuan: Annotated[str, Form(max_length=32)] = "",
    paid_on: Annotated[str, Form(max_length=32)] = "",
    reference: Text = "",
    line_id: Annotated[str, Form(max_length=64)] = "",
    account: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Record the payment after the notice (the platform moves no money)."""
    who = _regulator_post(request, user, csrf)
    if isinstance(who, Response):
        return who
    return cv.act(
        request,
        who,
        session,
        "regulator",
        batch_id=batch_id,
        key="payment",
        run=lambda: claims.record_payment(
            session,
            Principal.of_user(who),
            batch_id,
            amount_fen=cv.fen_of(amount_yuan, "amount_fen"),
            paid_on=cv.date_of(paid_on, "paid_on"),
            reference=reference,
            line_id=cv.uuid_of(line_id, "line_id"),
            account=account.strip() or None,
        ),
        done=f"/regulator/claims/{batch_id}",
        flash="claim_payment_recorded",
        values={
            "amount_yuan": amount_yuan,
            "paid_on": paid_on,
            "reference": reference,
            "line_id": line_id,
            "account": account,
        },
    )


@router.post("/regulator/claims/{batch_id}/export")
def export_batch(
    request: Request,
    batch_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    csrf: Csrf = "",
    format: Annotated[str, Form(max_length=8)] = "jsonl",  # noqa: A002 - the API's field name
    reason: Text = "",
) -> Response:
    """The signed export with full ID numbers (POST /claim-batches/{id}/exports), as one ZIP of
    the file, its detached JWS and its SHA-256; the reason is required and audited."""
    who = _regulator_post(request, user, csrf)
    if isinstance(who, Response):
        return who

    def run() -> export.ExportFile:
        if format not in ("jsonl", "xlsx"):
            raise cx.InvalidClaimInput("Choose a format.", field="format")
        fmt: export.Format = "xlsx" if format == "xlsx" else "jsonl"
        return export.export_batch(
            session, Principal.of_user(who), batch_id, fmt=fmt, reason=reason
        )

    def download(made: export.ExportFile) -> Response:
        name, body = export.bundle(made)
        response = Response(body, media_type=export.BUNDLE)
        secure_headers(response)
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-JWS-Signature"] = made.jws
        response.headers["X-Content-SHA256"] = made.sha256
        return response

    return cv.act(
        request,
        who,
        session,
        "regulator",
        batch_id=batch_id,
        key="export",
        run=run,
        done=download,
        values={"reason": reason, "format": format},
    )


@router.post("/regulator/claims/lines/{line_id}/findings")
def record_finding(
    request: Request,
    line_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    csrf: Csrf = "",
    reason: Text = "",
    amount_yuan: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    """A finding on a paid line: opens a recovery item against the institution."""
    who = _regulator_post(request, user, csrf)
    if isinstance(who, Response):
        return who
    batch_id = _line(request, who, session, line_id)
    if isinstance(batch_id, Response):
        return batch_id
    return cv.act(
        request,
        who,
        session,
        "regulator",
        batch_id=batch_id,
        key=f"finding-{line_id}",
        run=lambda: claims.record_finding(
            session,
            Principal.of_user(who),
            line_id,
            reason=reason,
            amount_fen=cv.fen_of(amount_yuan, "amount_fen") if amount_yuan.strip() else None,
        ),
        done="/regulator/claims#recoveries",
        flash="claim_finding_recorded",
        values={"reason": reason, "amount_yuan": amount_yuan},
    )


@router.post("/regulator/claims/recoveries/{recovery_id}/settle")
def settle_recovery(
    request: Request,
    recovery_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    csrf: Csrf = "",
    outcome: Annotated[str, Form(max_length=32)] = "",
    reference: Text = "",
) -> Response:
    """Close a recovery item as recovered or written off."""
    who = _regulator_post(request, user, csrf)
    if isinstance(who, Response):
        return who

    def settle() -> object:
        if outcome not in ("recovered", "written_off"):
            raise cx.InvalidClaimInput("Choose an outcome.", field="outcome")
        return claims.settle_recovery(
            session,
            Principal.of_user(who),
            recovery_id,
            outcome=RecoveryStatus(outcome),
            reference=reference,
        )

    lang = lang_of(request)
    return act(
        request,
        session,
        who,
        settle,
        refused=lambda err: list_view(
            request,
            who,
            session,
            status=err.status,
            errors={f"recovery-{recovery_id}": message_for(err, lang)},
            values={f"recovery-{recovery_id}.reference": reference},
        ),
        done=lambda _: redirect(request, "/regulator/claims#recoveries", "claim_recovery_settled"),
    )


@router.post("/regulator/claims/objections/{objection_id}/resolve")
def resolve_objection(
    request: Request,
    objection_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    csrf: Csrf = "",
    upheld: Annotated[str, Form(max_length=8)] = "",
    resolution: Text = "",
) -> Response:
    """Uphold an objection (its line is rejected) or dismiss it."""
    who = _regulator_post(request, user, csrf)
    if isinstance(who, Response):
        return who
    row = claims.find_objection(session, Principal.of_user(who), objection_id)
    if row is None:
        return error_page(request, who, cx.ObjectionNotFound())

    def run() -> object:
        if upheld not in ("yes", "no"):
            raise cx.InvalidClaimInput("Uphold or dismiss.", field="upheld")
        return claims.resolve_objection(
            session,
            Principal.of_user(who),
            objection_id,
            upheld=upheld == "yes",
            resolution=resolution,
        )

    return cv.act(
        request,
        who,
        session,
        "regulator",
        batch_id=row.batch_id,
        key=f"objection-{objection_id}",
        run=run,
        done=f"/regulator/claims/{row.batch_id}#objections",
        flash="claim_objection_resolved",
        values={"resolution": resolution},
    )
