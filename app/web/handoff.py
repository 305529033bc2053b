"""The phone side of the no-camera fallback: ``/m/<code>`` and its QR code.

No sign-in: the code is the credential for exactly one face check of one learner. The page shows
only the learner's masked name and what the check is for, and runs the same capture code as the
computer (``static/js/handoff.js`` drives ``facecheck.js`` with the hand-off's uploader).
"""

from __future__ import annotations

import io

import segno
from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.accounts.exceptions import RateLimited
from app.attendance.exceptions import HandoffExpired, HandoffNotFound, HandoffUsed
from app.attendance.models import HandoffPurpose, HandoffState
from app.config import get_settings
from app.errors import DomainError
from app.handoff import service as handoff
from app.http.links import phone_url
from app.http.session import SessionDep
from app.web.i18n import lang_of, message_for
from app.web.render import render, secure_headers, with_retry_after

router = APIRouter(include_in_schema=False)

#: What the check is for, in the page's words.
PURPOSE_TEXT = {
    HandoffPurpose.enrol: "人脸采集",
    HandoffPurpose.checkin: "学习签到",
    HandoffPurpose.rollcall: "随机点名",
    HandoffPurpose.quiz: "考试前身份核验",
}


def _private(response: Response) -> Response:
    # The path carries the code: never send it on as a referrer, never cache the page.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store, private"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def _refused(request: Request, err: DomainError) -> Response:
    return _private(
        with_retry_after(
            err,
            render(
                request,
                "handoff_closed.html",
                None,
                status=err.status,
                message=message_for(err, lang_of(request)),
                code_name=err.code,
            ),
        )
    )


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.get("/m/{code}")
def phone_page(code: str, request: Request, session: SessionDep) -> Response:
    try:
        view = handoff.phone_view(session, code, client=_client(request))
    except (HandoffNotFound, RateLimited) as err:
        return _refused(request, err)
    if view.state is HandoffState.passed or (
        view.state is HandoffState.failed and view.handoff.closed_at is not None
    ):
        return _refused(request, HandoffUsed())
    if view.state is HandoffState.expired:
        return _refused(request, HandoffExpired())
    return _private(
        render(
            request,
            "handoff_phone.html",
            None,
            view=view,
            code=code,
            purpose_text=PURPOSE_TEXT[view.purpose],
            max_frames=get_settings().face_max_frames,
        )
    )


@router.get("/m/{code}/qr.svg")
def phone_qr(code: str, request: Request, session: SessionDep) -> Response:
    """The phone link as a QR code, same-origin (the page's CSP allows only its own images)."""
    try:
        view = handoff.phone_view(session, code, client=_client(request))
    except HandoffNotFound:
        return _private(Response(status_code=404))
    except RateLimited as err:
        return _private(
            Response(status_code=429, headers={"Retry-After": str(err.extra["retry_after"])})
        )
    if view.state in (HandoffState.expired, HandoffState.passed):
        return _private(Response(status_code=410))
    buf = io.BytesIO()
    segno.make(phone_url(request, code), error="m").save(
        buf, kind="svg", scale=6, border=4, dark="#000", light="#fff", xmldecl=False
    )
    response = Response(buf.getvalue(), media_type="image/svg+xml")
    secure_headers(response)
    return _private(response)
