"""Fraud indicators for regulators: each a pure scan over stored facts, with its evidence rows.

Every indicator takes the session, a :class:`Scope` (a jurisdiction's institutions or one) and the
:class:`FraudParams`, and returns :class:`Finding` s; an empty list means it stayed silent.
Evidence rows name ids and the API path where a regulator (or the institution's staff) can
look at the record itself.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlmodel import Session, col

from app.accounts.models import User
from app.attendance.engine import current_model
from app.attendance.face import Metric, distance_matrix, fused_score, matches
from app.attendance.models import AttendanceEvent, FaceTemplate, FrameHash, Purpose, TemplateStatus
from app.attendance.templates import _decode_embeddings
from app.courses.models import (
    Course,
    DailyCredit,
    Enrollment,
    RollCall,
    RollCallStatus,
    StudySession,
)
from app.reports.scope import Scope

API = "/api/v1"


@dataclass(frozen=True)
class FraudParams:
    #: In the configured face model's metric (dlib: distance; SFace: cosine similarity); the
    #: callers pass that model's accept threshold.
    face_threshold: float = 0.38
    ip_window_minutes: int = 10
    ip_min_learners: int = 5
    rollcall_min_count: int = 20
    rollcall_max_rate: float = 0.5
    rollcall_rate_factor: float = 3.0
    since: datetime | None = None
    until: datetime | None = None


@dataclass
class Evidence:
    kind: str
    id: str
    url: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class Finding:
    summary: str
    subjects: list[str]
    evidence: list[Evidence]
    metrics: dict[str, Any] = field(default_factory=dict)


def _event_ev(event_id: uuid.UUID, **detail: Any) -> Evidence:
    return Evidence(
        "attendance_event", str(event_id), f"{API}/attendance-events/{event_id}", detail
    )


def _template_ev(template_id: uuid.UUID, enrol_event: uuid.UUID | None, **detail: Any) -> Evidence:
    """A face template; its link is the enrolment's attendance event."""
    url = f"{API}/attendance-events/{enrol_event}" if enrol_event else None
    return Evidence("face_template", str(template_id), url, detail)


def _events_query(scope: Scope, params: FraudParams, *columns: Any) -> Any:
    stmt = select(*columns)
    stmt = stmt.where(*scope.where(AttendanceEvent.institution_id))
    if params.since is not None:
        stmt = stmt.where(col(AttendanceEvent.created_at) >= params.since)
    if params.until is not None:
        stmt = stmt.where(col(AttendanceEvent.created_at) < params.until)
    return stmt


# ---------------------------------------------------------------- (a) one face, several accounts


def _template_blocks(
    starts: npt.NDArray[Any], sizes: npt.NDArray[Any], block_rows: int
) -> list[tuple[int, int]]:
    """Runs [t, t_end) of whole templates of about ``block_rows`` embeddings (at least one)."""
    out = []
    t = 0
    while t < len(starts):
        t_end = t + 1
        while t_end < len(starts) and starts[t_end] + sizes[t_end] - starts[t] <= block_rows:
            t_end += 1
        out.append((t, t_end))
        t = t_end
    return out


def shared_face_pairs(
    embeddings: Sequence[npt.NDArray[Any]],
    threshold: float,
    *,
    metric: Metric = "euclidean",
    block_rows: int = 2048,
    block_cols: int = 8192,
) -> list[tuple[int, int, float]]:
    """All pairs (i, j), i < j, of templates whose fused distance is at most ``threshold``.

    Vectorised 1:N over every template at once, one tile of distances at a time (at most
    ``block_rows`` × ``block_cols`` float64, 128 MiB by default, whatever the number of
    templates): each tile is reduced to the closest pair per (template, template) with
    ``minimum.reduceat``; only pairs whose closest embeddings are within the threshold can have a
    fused distance within it (a mean of the k best is never below the best), and only those get
    the exact fused distance. Time stays quadratic: at 10^5 templates this is a batch job.
    With ``metric="cosine"`` (unit-length SFace embeddings) ``threshold`` is a similarity: the
    same Euclidean prefilter runs with ``sqrt(2 - 2 * threshold)``.
    """
    bound = threshold if metric == "euclidean" else float(np.sqrt(max(0.0, 2 - 2 * threshold)))
    if len(embeddings) < 2:
        return []
    embeddings = [np.atleast_2d(e) for e in embeddings]
    sizes = np.array([len(e) for e in embeddings])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    stacked = np.concatenate([np.asarray(e, np.float64) for e in embeddings])
    rows = _template_blocks(starts, sizes, block_rows)
    cols = _template_blocks(starts, sizes, block_cols)
    out: list[tuple[int, int, float]] = []
    for t, t_end in rows:
        r0, r1 = starts[t], starts[t_end - 1] + sizes[t_end - 1]
        for u, u_end in cols:
            if u_end <= t + 1:  # every j in this block is <= every i: nothing above the diagonal
                continue
            c0, c1 = starts[u], starts[u_end - 1] + sizes[u_end - 1]
            d = distance_matrix(stacked[r0:r1], stacked[c0:c1])
            by_col = np.minimum.reduceat(d, starts[u:u_end] - c0, axis=1)
            by_pair = np.minimum.reduceat(by_col, starts[t:t_end] - r0, axis=0)
            ii, jj = np.nonzero(by_pair <= bound + 1e-9)
            for bi, bj in zip(ii.tolist(), jj.tolist(), strict=True):
                i, j = t + bi, u + bj
                if j <= i:
                    continue
                fused = fused_score(embeddings[i], embeddings[j], metric)
                if matches(fused, threshold, metric):
                    out.append((i, j, fused))
    out.sort()
    return out


def shared_faces(session: Session, scope: Scope, params: FraudParams) -> list[Finding]:
    stmt = select(
        col(FaceTemplate.id),
        col(FaceTemplate.user_id),
        col(FaceTemplate.embeddings_enc),
        col(FaceTemplate.enrol_event_id),
        col(User.institution_id),
    ).join(User, col(User.id) == col(FaceTemplate.user_id))
    model = current_model()
    # Only the configured model's templates are comparable (a learner with an older one is
    # asked to re-enrol and is compared from then on).
    stmt = stmt.where(
        col(FaceTemplate.status) == TemplateStatus.active,
        col(FaceTemplate.embeddings_enc).is_not(None),
        col(FaceTemplate.face_engine) == model.engine,
        col(FaceTemplate.model_name) == model.name,
        col(FaceTemplate.model_sha256) == model.sha256,
    )
    stmt = stmt.where(*scope.where(User.institution_id))
    rows = session.execute(stmt.order_by(col(FaceTemplate.id))).all()
    embs = [_decode_embeddings(r.embeddings_enc) for r in rows]
    what = "distance" if model.metric == "euclidean" else "cosine similarity"
    findings = []
    for i, j, dist in shared_face_pairs(embs, params.face_threshold, metric=model.metric):
        a, b = rows[i], rows[j]
        if a.user_id == b.user_id:
            continue
        findings.append(
            Finding(
                summary=f"one face behind two accounts (fused {what} {dist:.4f})",
                subjects=[str(a.user_id), str(b.user_id)],
                evidence=[
                    _template_ev(a.id, a.enrol_event_id, learner=str(a.user_id)),
                    _template_ev(b.id, b.enrol_event_id, learner=str(b.user_id)),
                ],
                metrics={
                    "distance": f"{dist:.4f}",
                    "threshold": f"{params.face_threshold:.4f}",
                    "metric": model.metric,
                },
            )
        )
    return findings


# ---------------------------------------------------------------- (b) one frame, several learners


def shared_frames(session: Session, scope: Scope, params: FraudParams) -> list[Finding]:
    seen: dict[str, dict[uuid.UUID, list[uuid.UUID]]] = defaultdict(lambda: defaultdict(list))
    stmt = _events_query(
        scope, params, AttendanceEvent.id, AttendanceEvent.user_id, AttendanceEvent.frame_sha256
    )
    for event_id, user_id, hashes in session.execute(stmt):
        for h in hashes or ():
            seen[h][user_id].append(event_id)
    # The first learner a frame was seen from (FrameHash), even if that event is out of scope.
    shared = [h for h, users in seen.items() if len(users) > 1]
    candidates = [h for h, users in seen.items() if len(users) == 1]
    for i in range(0, len(candidates), 500):
        for fh in session.execute(
            select(FrameHash).where(col(FrameHash.sha256).in_(candidates[i : i + 500]))
        ).scalars():
            users = seen[fh.sha256]
            if fh.user_id not in users:
                users[fh.user_id].append(fh.event_id)
                shared.append(fh.sha256)
    # An institution's view names only its own learners: one first seen at another institution
    # is reported as such (the regulator's view names both).
    elsewhere: set[uuid.UUID] = set()
    if scope.limited:
        everyone = {u for h in shared for u in seen[h]}
        for i in range(0, len(everyone), 500):
            chunk = sorted(everyone, key=str)[i : i + 500]
            inside = set(
                session.execute(
                    select(col(User.id)).where(
                        col(User.id).in_(chunk), *scope.where(User.institution_id)
                    )
                ).scalars()
            )
            elsewhere |= set(chunk) - inside
    findings = []
    for h in sorted(shared):
        users = seen[h]
        own = sorted((u for u in users if u not in elsewhere), key=str)
        evidence = [_event_ev(e, learner=str(u), frame_sha256=h) for u in own for e in users[u]]
        others = len(users) - len(own)
        if others:
            evidence.append(
                Evidence("other_institution", "", None, {"frame_sha256": h, "learners": others})
            )
        findings.append(
            Finding(
                summary=f"the same frame was sent by {len(users)} learners",
                subjects=[str(u) for u in own] + ["other-institution"] * bool(others),
                evidence=evidence,
                metrics={"frame_sha256": h, "learners": len(users)},
            )
        )
    return findings


# ---------------------------------------------------------------- (c) many learners, one IP


def crowded_ips(session: Session, scope: Scope, params: FraudParams) -> list[Finding]:
    stmt = _events_query(
        scope,
        params,
        AttendanceEvent.id,
        AttendanceEvent.user_id,
        AttendanceEvent.client_ip,
        AttendanceEvent.created_at,
    ).where(
        col(AttendanceEvent.purpose) == Purpose.checkin, col(AttendanceEvent.client_ip).is_not(None)
    )
    by_ip: dict[str, list[Any]] = defaultdict(list)
    for row in session.execute(stmt.order_by(col(AttendanceEvent.created_at))):
        by_ip[row.client_ip].append(row)
    window = timedelta(minutes=params.ip_window_minutes)
    findings = []
    for ip, rows in sorted(by_ip.items()):
        best: tuple[int, int, int] | None = None  # (learners, start, end)
        counts: dict[uuid.UUID, int] = defaultdict(int)
        lo = 0
        for hi, row in enumerate(rows):
            counts[row.user_id] += 1
            while row.created_at - rows[lo].created_at > window:
                counts[rows[lo].user_id] -= 1
                if not counts[rows[lo].user_id]:
                    del counts[rows[lo].user_id]
                lo += 1
            if best is None or len(counts) > best[0]:
                best = (len(counts), lo, hi)
        if best is None or best[0] < params.ip_min_learners:
            continue
        n, lo, hi = best
        hits = rows[lo : hi + 1]
        findings.append(
            Finding(
                summary=(
                    f"{n} learners checked in from {ip} within {params.ip_window_minutes} minutes"
                ),
                subjects=sorted({str(r.user_id) for r in hits}),
                evidence=[_event_ev(r.id, learner=str(r.user_id), ip=ip) for r in hits],
                metrics={
                    "ip": ip,
                    "learners": n,
                    "from": hits[0].created_at.isoformat(),
                    "to": hits[-1].created_at.isoformat(),
                },
            )
        )
    return findings


# ---------------------------------------------------------------- (d) impossible hours


def over_cap(session: Session, scope: Scope, params: FraudParams) -> list[Finding]:
    stmt = (
        select(DailyCredit, col(Enrollment.user_id), col(Course.daily_cap_minutes), col(Course.id))
        .join(Enrollment, col(Enrollment.id) == col(DailyCredit.enrollment_id))
        .join(Course, col(Course.id) == col(Enrollment.course_id))
        .where(col(DailyCredit.ms) > col(Course.daily_cap_minutes) * 60_000)
    )
    stmt = stmt.where(*scope.where(Enrollment.institution_id))
    findings = []
    for dc, user_id, cap, course_id in session.execute(stmt.order_by(col(DailyCredit.day))):
        findings.append(
            Finding(
                summary=(
                    f"{dc.seconds // 60} minutes credited on {dc.day} (daily cap {cap} minutes)"
                ),
                subjects=[str(user_id)],
                evidence=[
                    Evidence(
                        "enrollment",
                        str(dc.enrollment_id),
                        f"{API}/enrollments/{dc.enrollment_id}",
                        {
                            "day": dc.day.isoformat(),
                            "seconds": dc.seconds,
                            "course": str(course_id),
                        },
                    )
                ],
                metrics={"day": dc.day.isoformat(), "minutes": dc.seconds // 60, "cap": cap},
            )
        )
    return findings


def overlapping_sessions(session: Session, scope: Scope, params: FraudParams) -> list[Finding]:
    stmt = select(
        col(StudySession.id),
        col(StudySession.user_id),
        col(StudySession.enrollment_id),
        col(StudySession.started_at),
        col(StudySession.ended_at),
        col(StudySession.last_heartbeat_at),
    )
    if scope.limited:
        stmt = stmt.join(Enrollment, col(Enrollment.id) == col(StudySession.enrollment_id)).where(
            *scope.where(Enrollment.institution_id)
        )
    by_user: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for row in session.execute(stmt.order_by(col(StudySession.started_at))):
        by_user[row.user_id].append(row)
    findings = []
    for user_id, rows in by_user.items():
        latest: Any = None
        for row in rows:
            if latest is not None and row.started_at < _end_of(latest):
                findings.append(
                    Finding(
                        summary="two study sessions of one learner overlap in time",
                        subjects=[str(user_id)],
                        evidence=[
                            Evidence(
                                "study_session",
                                str(r.id),
                                f"{API}/enrollments/{r.enrollment_id}/ledger",
                                {
                                    "started_at": r.started_at.isoformat(),
                                    "end": _end_of(r).isoformat(),
                                },
                            )
                            for r in (latest, row)
                        ],
                        metrics={
                            "overlap_s": int(
                                (
                                    min(_end_of(latest), _end_of(row)) - row.started_at
                                ).total_seconds()
                            )
                        },
                    )
                )
            if latest is None or _end_of(row) > _end_of(latest):
                latest = row
    return findings


def _end_of(row: Any) -> datetime:
    end: datetime = row.ended_at or row.last_heartbeat_at or row.started_at
    return end


# ---------------------------------------------------------------- (e) roll-call failure rates


def rollcall_rates(session: Session, scope: Scope, params: FraudParams) -> list[Finding]:
    decided = (RollCallStatus.passed, RollCallStatus.failed, RollCallStatus.missed)
    stmt = (
        select(col(Course.id), col(Course.institution_id), col(RollCall.status), col(RollCall.id))
        .join(Enrollment, col(Enrollment.id) == col(RollCall.enrollment_id))
        .join(Course, col(Course.id) == col(Enrollment.course_id))
        .where(col(RollCall.status).in_(decided))
    )
    stmt = stmt.where(*scope.where(Course.institution_id))
    if params.since is not None:
        stmt = stmt.where(col(RollCall.due_at) >= params.since)
    if params.until is not None:
        stmt = stmt.where(col(RollCall.due_at) < params.until)
    totals: dict[tuple[str, uuid.UUID], list[int]] = defaultdict(lambda: [0, 0, 0])
    samples: dict[tuple[str, uuid.UUID], list[uuid.UUID]] = defaultdict(list)
    all_n = all_bad = 0
    for course_id, inst_id, status, rc_id in session.execute(stmt):
        bad = status is not RollCallStatus.passed
        all_n += 1
        all_bad += bad
        for key in (("course", course_id), ("institution", inst_id)):
            t = totals[key]
            t[0] += 1
            t[1] += status is RollCallStatus.failed
            t[2] += status is RollCallStatus.missed
            if bad and len(samples[key]) < 20:
                samples[key].append(rc_id)
    overall = all_bad / all_n if all_n else 0.0
    findings = []
    for (kind, ident), (n, failed, missed) in sorted(totals.items(), key=lambda kv: str(kv[0])):
        rate = (failed + missed) / n
        unusual = rate > params.rollcall_max_rate or (
            overall > 0 and rate >= params.rollcall_rate_factor * overall and rate - overall >= 0.1
        )
        if n < params.rollcall_min_count or not unusual:
            continue
        findings.append(
            Finding(
                summary=(
                    f"{kind} {ident}: {rate:.0%} of {n} roll-calls failed or missed "
                    f"(overall {overall:.0%})"
                ),
                subjects=[f"{kind}:{ident}"],
                evidence=[
                    Evidence("rollcall", str(rc), None, {kind: str(ident)})
                    for rc in samples[(kind, ident)]
                ],
                metrics={
                    "rollcalls": n,
                    "failed": failed,
                    "missed": missed,
                    "rate": f"{rate:.4f}",
                    "overall_rate": f"{overall:.4f}",
                },
            )
        )
    return findings


INDICATORS = {
    "shared_face": (shared_faces, "One face behind several accounts", "同一人脸对应多个账号"),
    "shared_frame": (
        shared_frames,
        "The same frame from different learners",
        "不同学员提交相同画面",
    ),
    "crowded_ip": (
        crowded_ips,
        "Many learners checking in from one IP",
        "同一 IP 短时间内多人签到",
    ),
    "over_daily_cap": (over_cap, "Credited minutes beyond the daily cap", "单日学时超过上限"),
    "overlapping_sessions": (overlapping_sessions, "Overlapping study sessions", "学习时段重叠"),
    "rollcall_failure_rate": (
        rollcall_rates,
        "Unusual roll-call failure or miss rate",
        "随机点名失败或未应答率异常",
    ),
}
