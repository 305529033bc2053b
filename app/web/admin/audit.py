"""The audit chains, paged, with their downloads."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.accounts import administration as admin
from app.audit import service as audit
from app.http.session import SessionDep
from app.web import listing
from app.web.admin.common import (
    AUDIT_PAGE_SIZE,
    HOME,
    TEXTS,
    admin_page,
    chain_links,
    entries_view,
    page_query,
    require_admin,
    texts_for,
)
from app.web.listing import ListSpec, Select
from app.web.session import PageUser

router = APIRouter(include_in_schema=False)

#: What a bad ``before`` (a position in the chain) gets, in words.
BAD_BEFORE = "“更早的记录”的位置应为正整数，已显示最新的记录。"


# ---------------------------------------------------------------- audit


@router.get(f"{HOME}/audit")
def audit_page(request: Request, user: PageUser, session: SessionDep) -> Response:
    """One chain's newest entries, 50 a page back along the chain, and its downloads. The chain
    (``institution_id``) is a select of the lists' helper (app/web/listing.py) and ``before`` a
    position in the chain: a bad value is named and dropped (status 400)."""
    who = require_admin(request, user)
    if isinstance(who, Response):
        return who
    t = texts_for(request)
    institutions = admin.all_institutions(session)
    spec = ListSpec(
        selects={
            "institution_id": Select(
                t("审计链"),
                {str(i.id): f"{i.name}（{i.code}）" for i in institutions},
                blank=t(TEXTS["platform_chain"]),
            )
        }
    )
    query, errors = listing.read(request, spec, t)
    chosen = query.get("institution_id")
    inst = uuid.UUID(chosen) if chosen else None
    chain = audit.chain_for(inst)
    raw = request.query_params.get("before", "").strip()
    before_seq = None
    if raw:
        if raw.isascii() and raw.isdigit() and len(raw) <= 15 and int(raw) > 0:
            before_seq = int(raw)
        else:
            errors["before"] = t(BAD_BEFORE)
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
        status=400 if errors else 200,
        institutions=institutions,
        query=query,
        spec=spec,
        filter_errors=errors,
        action=f"{HOME}/audit",
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
