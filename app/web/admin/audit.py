"""The audit chains, paged, with their downloads."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.accounts import administration as admin
from app.audit import service as audit
from app.http.session import SessionDep
from app.web.admin.common import (
    AUDIT_PAGE_SIZE,
    HOME,
    TEXTS,
    admin_page,
    chain_links,
    entries_view,
    page_number,
    page_query,
    parse_uuid,
    require_admin,
    texts_for,
)
from app.web.session import PageUser

router = APIRouter(include_in_schema=False)


# ---------------------------------------------------------------- audit


@router.get(f"{HOME}/audit")
def audit_page(
    request: Request,
    user: PageUser,
    session: SessionDep,
    institution_id: str = "",
    before: str = "",
) -> Response:
    """One chain's newest entries, 50 a page back along the chain, and its downloads."""
    who = require_admin(request, user)
    if isinstance(who, Response):
        return who
    t = texts_for(request)
    institutions = admin.all_institutions(session)
    inst = parse_uuid(institution_id)
    if inst is not None and not any(i.id == inst for i in institutions):
        inst = None
    chain = audit.chain_for(inst)
    before_seq = page_number(before, 0) if before else None
    entries = audit.recent_entries(
        session, chain=chain, before_seq=before_seq, limit=AUDIT_PAGE_SIZE
    )
    head = audit.chain_head(session, chain)
    older = entries[-1].seq if entries and entries[-1].seq > 1 else None
    q = {"institution_id": str(inst)} if inst else {}
    return admin_page(
        request,
        "admin_audit.html",
        who,
        institutions=institutions,
        form={"institution_id": str(inst) if inst else ""},
        chain=chain,
        chain_name=next(
            (f"{i.name}（{i.code}）" for i in institutions if i.id == inst),
            t(TEXTS["platform_chain"]),
        ),
        head=head,
        entries=entries_view(session, entries, t),
        newest_link=page_query(f"{HOME}/audit", **q) if before_seq else None,
        older_link=page_query(f"{HOME}/audit", **q, before=older) if older else None,
        links=chain_links(inst),
    )
