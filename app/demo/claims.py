"""The quarter's subsidy claims: each institution files its certificates, the provincial
regulator reviews the lines (one rejected, one waiting for evidence), approves and pays."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from functools import partial

from sqlmodel import Session

from app import clock
from app.accounts.models import User
from app.accounts.principal import Principal
from app.claims import service as claims
from app.claims.models import ClaimBatch, LineDecision
from app.config import get_settings
from app.demo.timeline import Timeline
from app.errors import DomainError


def plan_claims(
    session: Session,
    timeline: Timeline,
    staff: dict[str, list[User]],
    provincial: User,
    year: int,
    quarter: int,
    filed: datetime,
) -> None:
    """Each institution files the quarter's certificates ten days after it ends; the provincial
    regulator decides 示范学校's lines (one rejected), approves and, after the public notice,
    pays; 天河's batch waits for evidence on one line; 宝安's is still under review."""
    batches: dict[str, uuid.UUID] = {}
    regulator = Principal.of_user(provincial)

    def file(code: str) -> None:
        try:
            with session.begin_nested():
                batch = claims.file_quarter(
                    session, Principal.of_user(staff[code][0]), year=year, quarter=quarter
                )
        except DomainError:  # nothing to claim this quarter
            return
        batches[code] = batch.id

    def roles() -> dict[str, str]:
        """Which filed batch is approved and paid (示范学校's, or the first that filed: how
        many certificates a quarter holds varies with the moment the history is simulated),
        and which waits for evidence (天河's, or another); any other stays under review."""
        filed = [c for c in ("DEMO01", "SZBA01", "GZTH01") if c in batches]
        if not filed:
            return {}
        out: dict[str, str] = {filed[0]: "approve"}
        other = [c for c in ("GZTH01", "SZBA01", "DEMO01") if c in batches and c not in out]
        if other:
            out[other[0]] = "evidence"
        return out

    def review() -> None:
        for code, decide in roles().items():
            lines = claims.lines_of(session, session.get_one(ClaimBatch, batches[code]))
            for n, line in enumerate(lines):
                if decide == "evidence":
                    if n == 0:
                        claims.review_line(
                            session,
                            regulator,
                            line.id,
                            decision=LineDecision.evidence_requested,
                            reason="请补充该学员的签到与点名人脸记录截图",
                        )
                    continue
                rejected = n == len(lines) - 1 and len(lines) > 1
                claims.review_line(
                    session,
                    regulator,
                    line.id,
                    decision=LineDecision.rejected if rejected else LineDecision.approved,
                    reason="学员参保地不在本省，不符合本地补贴条件" if rejected else None,
                )
            if decide == "approve":
                claims.approve_batch(session, regulator, batches[code])

    def pay() -> None:
        approved = [code for code, decide in roles().items() if decide == "approve"]
        if not approved:
            return
        batch = session.get_one(ClaimBatch, batches[approved[0]])
        total = sum(line.amount_fen for line in claims.approved_lines(session, batch))
        try:
            with session.begin_nested():
                claims.record_payment(
                    session,
                    regulator,
                    batch.id,
                    amount_fen=total,
                    paid_on=clock.now().astimezone(clock.SHANGHAI).date(),
                    reference=f"粤财社〔{year}〕{quarter}0{len(batches)}号",
                )
        except DomainError:  # the notice is not over (a short history): stays approved
            return

    for i, code in enumerate(("DEMO01", "SZBA01", "GZTH01")):
        timeline.at(filed + timedelta(hours=i), partial(file, code))
    timeline.at(filed + timedelta(days=9), review)
    notice = get_settings().claims_notice_days
    timeline.at(filed + timedelta(days=9 + notice + 3), pay)


def quarter_start(d: date) -> date:
    return date(d.year, (d.month - 1) // 3 * 3 + 1, 1)
