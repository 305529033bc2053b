"""the institution registry: credit code, legal name, kind and the regulator's status

Institutions get their registry record (``credit_code`` — 统一社会信用代码, unique —
``legal_name``, ``kind``) and the status the regulator of their jurisdiction sets
(``registry_status``: pending → approved → suspended → revoked) with ``approved_scope``, the
occupations and levels the approval covers, and ``registry_changed_at``.

Existing institutions are trading today, so they are **approved** — not left pending, which would
stop their classes, certificates and claims overnight — for the occupations and levels of their
existing courses (any status; none if they have no course yet). Each gets an audit entry
``institution.registry.migrated`` in its own chain (actor ``system:migration``) saying so, with the
scope, so a regulator reading the registry history sees that this approval came from the migration
and not from a decision; they review it like any other (suspend, revoke, approve with another
scope). The record's credit code, legal name and kind are unknown for them: their staff fill them
in (an empty field may be filled after approval). Institutions created from now on start pending.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-03 12:50:00.000000
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.dbtypes
from app.audit.chain import GENESIS, canonical, entry_hash

revision: str = '0032'
down_revision: str | None = '0031'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LEVELS = ("level5", "level4", "level3", "level2", "level1", "special")
NOTE = (
    "migration 0032: an institution trading before the registry is approved for the "
    "occupations and levels of its existing courses; the regulator reviews it"
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
    sa.column('registry_changed_at', app.dbtypes.UTCDateTime(timezone=True)),
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


def upgrade() -> None:
    with op.batch_alter_table('institutions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('credit_code', sqlmodel.sql.sqltypes.AutoString(length=18), nullable=True))
        batch_op.add_column(sa.Column('legal_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
        batch_op.add_column(
            sa.Column(
                'kind',
                sa.Enum('public', 'private', 'enterprise', 'technical_school', name='institutionkind', native_enum=False, length=32),
                nullable=True,
            )
        )
        batch_op.add_column(
            sa.Column(
                'registry_status',
                sa.Enum('pending', 'approved', 'suspended', 'revoked', name='registrystatus', native_enum=False, length=16),
                nullable=False,
                server_default='pending',
            )
        )
        batch_op.add_column(sa.Column('approved_scope', sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
        batch_op.add_column(sa.Column('registry_changed_at', app.dbtypes.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_institutions_credit_code'), ['credit_code'], unique=True)
        batch_op.create_index(batch_op.f('ix_institutions_registry_status'), ['registry_status'], unique=False)

    conn = op.get_bind()
    now = datetime.now(UTC)
    scopes: dict[uuid.UUID, set[tuple[str, str]]] = {}
    for inst_id, code, level in conn.execute(
        sa.text(
            "SELECT i.id, c.occupation_code, c.level FROM institutions i "
            "LEFT JOIN courses c ON c.institution_id = i.id"
        )
    ):
        items = scopes.setdefault(uuid.UUID(str(inst_id)), set())  # SQLite: 32 hex digits
        if code and level in LEVELS:
            items.add((code, level))
    for inst_id in sorted(scopes):
        scope = [
            {'occupation_code': code, 'level': level}
            for code, level in sorted(scopes[inst_id], key=lambda s: (s[0], LEVELS.index(s[1])))
        ]
        conn.execute(
            _institutions.update()
            .where(_institutions.c.id == inst_id)
            .values(registry_status='approved', approved_scope=scope, registry_changed_at=now)
        )
        _append(
            conn,
            f"inst:{inst_id}",
            f"institution:{inst_id}",
            {'from': None, 'to': 'approved', 'approved_scope': scope, 'reason': NOTE},
            now,
        )

    with op.batch_alter_table('institutions', schema=None) as batch_op:
        batch_op.alter_column('registry_status', server_default=None)
        batch_op.alter_column('approved_scope', server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('institutions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_institutions_registry_status'))
        batch_op.drop_index(batch_op.f('ix_institutions_credit_code'))
        batch_op.drop_column('registry_changed_at')
        batch_op.drop_column('approved_scope')
        batch_op.drop_column('registry_status')
        batch_op.drop_column('kind')
        batch_op.drop_column('legal_name')
        batch_op.drop_column('credit_code')
