"""the approved scope is enforced: approvals cover the courses that exist when it starts

From this revision an institution opens and files classes and issues certificates only for the
occupations and levels its approval covers (app/programmes/registry.py ``ensure_in_scope``).
Migration 0032 approved the institutions trading before the registry for their courses'
occupations and levels; courses created since (nothing checked the scope until now) would be
refused overnight. So every approved or suspended institution's ``approved_scope`` is widened to
cover each course it has now, in any status — and only where something is missing. Each widened
institution gets an audit entry ``institution.registry.migrated`` in its own chain (actor
``system:migration``) naming what was ``added``, so the regulator sees that this came from the
migration and reviews it like any approval. Pending and revoked institutions are left as they
are: they do none of that work anyway.

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-03 16:00:00.000000

"""
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import app.dbtypes
from app.audit.chain import GENESIS, canonical, entry_hash

revision: str = '0034'
down_revision: str | None = '0033'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LEVELS = ("level5", "level4", "level3", "level2", "level1", "special")
NOTE = (
    "migration 0034: the approved scope is enforced from now on; the approval is widened to "
    "the occupations and levels of the courses the institution already had; the regulator "
    "reviews it"
)

_heads = sa.table(
    'audit_chain_heads',
    sa.column('chain', sa.String),
    sa.column('seq', sa.BigInteger),
    sa.column('head_hash', sa.String),
    sa.column('updated_at', app.dbtypes.UTCDateTime(timezone=True)),
)
_entries = sa.table(
    'audit_entries',
    sa.column('chain', sa.String),
    sa.column('seq', sa.BigInteger),
    sa.column('time', app.dbtypes.UTCDateTime(timezone=True)),
    sa.column('actor', sa.String),
    sa.column('action', sa.String),
    sa.column('subject', sa.String),
    sa.column('payload', sa.Text),
    sa.column('prev_hash', sa.String),
    sa.column('hash', sa.String),
)
_institutions = sa.table(
    'institutions',
    sa.column('id', sa.Uuid),
    sa.column('registry_status', sa.String),
    sa.column('approved_scope', sa.JSON),
)


def _append(conn: sa.Connection, chain: str, subject: str, payload: dict, now: datetime) -> None:
    """One entry at the end of ``chain``, hashed exactly as app/audit/service.py appends."""
    head = conn.execute(
        sa.select(_heads.c.seq, _heads.c.head_hash, _heads.c.updated_at).where(_heads.c.chain == chain)
    ).first()
    seq, prev = (head[0], head[1]) if head else (0, GENESIS)
    at = max(now, head[2]) if head else now
    fields = {
        'chain': chain,
        'seq': seq + 1,
        'time': at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        'actor': 'system:migration',
        'action': 'institution.registry.migrated',
        'subject': subject,
        'payload': payload,
        'prev_hash': prev,
    }
    digest = entry_hash(fields)
    conn.execute(
        _entries.insert().values(
            chain=chain,
            seq=seq + 1,
            time=at,
            actor=fields['actor'],
            action=fields['action'],
            subject=subject,
            payload=canonical(payload).decode('utf-8'),
            prev_hash=prev,
            hash=digest,
        )
    )
    if head:
        conn.execute(
            _heads.update().where(_heads.c.chain == chain).values(seq=seq + 1, head_hash=digest, updated_at=at)
        )
    else:
        conn.execute(_heads.insert().values(chain=chain, seq=1, head_hash=digest, updated_at=at))


def _key(item: dict) -> tuple[str, int]:
    return item['occupation_code'], LEVELS.index(item['level'])


def upgrade() -> None:
    conn = op.get_bind()
    now = datetime.now(UTC)
    taught: dict[uuid.UUID, set[tuple[str, str]]] = {}
    for inst_id, code, level in conn.execute(
        sa.text(
            "SELECT i.id, c.occupation_code, c.level FROM institutions i "
            "JOIN courses c ON c.institution_id = i.id "
            "WHERE i.registry_status IN ('approved', 'suspended')"
        )
    ):
        if code and level in LEVELS:
            taught.setdefault(uuid.UUID(str(inst_id)), set()).add((code, level))
    for inst_id in sorted(taught):
        status, scope = conn.execute(
            sa.select(_institutions.c.registry_status, _institutions.c.approved_scope).where(
                _institutions.c.id == inst_id
            )
        ).one()
        had = {(s['occupation_code'], s['level']) for s in scope or []}
        added = sorted(taught[inst_id] - had, key=lambda s: (s[0], LEVELS.index(s[1])))
        if not added:
            continue
        widened = sorted(
            [{'occupation_code': c, 'level': lv} for c, lv in had | set(added)], key=_key
        )
        conn.execute(
            _institutions.update().where(_institutions.c.id == inst_id).values(approved_scope=widened)
        )
        _append(
            conn,
            f"inst:{inst_id}",
            f"institution:{inst_id}",
            {
                'from': status,
                'to': status,
                'approved_scope': widened,
                'added': [{'occupation_code': c, 'level': lv} for c, lv in added],
                'reason': NOTE,
            },
            now,
        )


def downgrade() -> None:
    # The widened scopes stay (harmless without the rule); their audit entries are history.
    pass
