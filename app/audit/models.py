"""Audit tables. Entries are only ever inserted; the head row serialises appends per chain."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.dbtypes import UTCDateTime


class AuditChainHead(SQLModel, table=True):
    """The last entry of one chain. Locked (row lock / write lock) while appending."""

    __tablename__ = "audit_chain_heads"

    chain: str = Field(primary_key=True, max_length=64)
    seq: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    head_hash: str = Field(max_length=64)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entries"
    __table_args__ = (UniqueConstraint("chain", "seq", name="uq_audit_chain_seq"),)

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    )
    chain: str = Field(max_length=64, index=True)
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    time: datetime = Field(sa_type=UTCDateTime, index=True)
    actor: str = Field(max_length=128)
    action: str = Field(max_length=64, index=True)
    subject: str = Field(max_length=128, index=True)
    # Canonical JSON exactly as hashed, so exports are byte-identical to what was chained.
    payload: str = Field(sa_column=Column(Text, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)
