"""The admin console's landing page: the system status."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.http.session import SessionDep
from app.status import system_status
from app.web.admin.common import (
    HOME,
    admin_page,
    require_admin,
)
from app.web.session import PageUser

router = APIRouter(include_in_schema=False)


# ---------------------------------------------------------------- status


@router.get(HOME)
def status_page(request: Request, user: PageUser, session: SessionDep) -> Response:
    """System status: version, database and migration, face engine, queues, totals."""
    who = require_admin(request, user)
    if isinstance(who, Response):
        return who
    return admin_page(request, "admin_status.html", who, s=system_status(session))
