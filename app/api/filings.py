"""Class filing with the regulator (开班备案 / 结业备案): the institution files, the regulator of
its jurisdiction approves or returns. Rules live in app/filing."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, status
from sqlmodel import Session

from app.accounts import exceptions as ax
from app.accounts.principal import Principal
from app.api.deps import SessionDep, UserPrincipal, require_scope
from app.courses import exceptions as cx
from app.errors import Forbidden, NotAuthenticated, problem_responses
from app.filing import exceptions as fx
from app.filing import service as filing
from app.filing.models import ClassFiling, FilingKind, FilingStatus
from app.filing.schemas import (
    ApproveIn,
    ClassFilingDetailOut,
    ClassFilingOut,
    FilingIn,
    FilingLineOut,
    ReturnIn,
)
from app.programmes.exceptions import InstitutionNotApproved, OutsideApprovedScope
from app.validation import InvalidText

router = APIRouter(tags=["class filings"])

CoursesRead = Annotated[Principal, require_scope("courses:read")]
FilingId = Annotated[uuid.UUID, Path(description="Class filing id (one version)")]
_user_auth = (NotAuthenticated, ax.InvalidToken, ax.InsufficientRole, Forbidden)
_read_auth = (NotAuthenticated, ax.InvalidToken, ax.MissingScope, Forbidden)


def _out(session: Session, filings: list[ClassFiling]) -> list[ClassFilingOut]:
    names = filing.institution_names(session, filings)
    return [ClassFilingOut.of(f, names.get(f.institution_id)) for f in filings]


def _detail(session: Session, f: ClassFiling) -> ClassFilingDetailOut:
    base = _out(session, [f])[0]
    lines = [FilingLineOut.of(x) for x in filing.lines_of(session, f)]
    return ClassFilingDetailOut(**base.model_dump(), lines=lines)


@router.post(
    "/classes/{class_id}/filings",
    status_code=status.HTTP_201_CREATED,
    response_model=ClassFilingDetailOut,
    responses=problem_responses(
        *_user_auth,
        cx.ClassNotFound,
        fx.ClassNotFileable,
        fx.ClassFilingPending,
        fx.ClassFilingApproved,
        fx.CompletionNotDue,
        fx.OpeningNotApproved,
        cx.ClassClosed,
        fx.InvalidClassFiling,
        InvalidText,
        InstitutionNotApproved,
        OutsideApprovedScope,
    ),
)
def file_class(
    class_id: uuid.UUID, body: FilingIn, principal: UserPrincipal, session: SessionDep
) -> ClassFilingDetailOut:
    """File a class with the regulator of the institution's jurisdiction (staff): its opening
    (开班备案) before it starts, or its completion (结业备案, with the roster's results) once it
    has ended and its opening was approved. After a return, file again: the next version."""
    f = filing.file_class(
        session, principal, class_id, kind=body.kind, site=body.site, note=body.note
    )
    return _detail(session, f)


@router.get(
    "/classes/{class_id}/filings",
    response_model=list[ClassFilingOut],
    responses=problem_responses(*_read_auth, cx.ClassNotFound),
)
def class_filings(
    class_id: uuid.UUID, principal: CoursesRead, session: SessionDep
) -> list[ClassFilingOut]:
    """Every version of a class's filings and the regulator's decisions, newest first."""
    return _out(session, filing.filings_of_class(session, principal, class_id))


@router.get(
    "/class-filings",
    response_model=list[ClassFilingOut],
    responses=problem_responses(*_read_auth),
)
def list_filings(
    principal: CoursesRead,
    session: SessionDep,
    status_: Annotated[FilingStatus | None, Query(alias="status")] = None,
    kind: FilingKind | None = None,
    late: Annotated[bool | None, Query(description="only late (true) or on-time (false)")] = None,
) -> list[ClassFilingOut]:
    """The filings queue: a regulator's jurisdiction (pending oldest first, then decided ones
    newest first); staff and keys see their own institution's."""
    rows = filing.queue(session, principal, status=status_, kind=kind, late=late)
    return _out(session, rows)


@router.get(
    "/class-filings/{filing_id}",
    response_model=ClassFilingDetailOut,
    responses=problem_responses(*_read_auth, fx.ClassFilingNotFound),
)
def get_filing(
    filing_id: FilingId, principal: CoursesRead, session: SessionDep
) -> ClassFilingDetailOut:
    """One filing; a completion filing with the roster's results per learner."""
    return _detail(session, filing.get_filing(session, principal, filing_id))


@router.post(
    "/class-filings/{filing_id}/approve",
    response_model=ClassFilingDetailOut,
    responses=problem_responses(
        *_user_auth,
        fx.ClassFilingNotFound,
        fx.ClassFilingDecided,
        fx.InvalidClassFiling,
        InvalidText,
    ),
)
def approve_filing(
    filing_id: FilingId, body: ApproveIn, principal: UserPrincipal, session: SessionDep
) -> ClassFilingDetailOut:
    """The regulator approves a pending filing within their jurisdiction (a late one stays
    flagged late)."""
    return _detail(session, filing.approve(session, principal, filing_id, note=body.note))


@router.post(
    "/class-filings/{filing_id}/return",
    response_model=ClassFilingDetailOut,
    responses=problem_responses(
        *_user_auth,
        fx.ClassFilingNotFound,
        fx.ClassFilingDecided,
        fx.InvalidClassFiling,
        InvalidText,
    ),
)
def return_filing(
    filing_id: FilingId, body: ReturnIn, principal: UserPrincipal, session: SessionDep
) -> ClassFilingDetailOut:
    """The regulator returns a pending filing with the reason; the institution corrects the
    class and files again."""
    return _detail(session, filing.return_filing(session, principal, filing_id, reason=body.reason))
