"""Statistics for regulators: the monthly/quarterly figures institutions report (DESIGN.md §1).

Rows are keyed by period (Asia/Shanghai calendar month or quarter), institution, occupation,
level and learner group, with these counts:

``enrolled``
    enrolments created in the period;
``trained``
    enrolments with at least one verified minute (``credited_seconds`` ≥ 60), counted in the
    period of their first credited day (the earliest ``daily_credits`` day with seconds; an
    enrolment without daily rows, e.g. imported, falls back to the period of enrolment);
``qualified``
    certificates issued in the period and not revoked;
``certificates_revoked``
    certificates issued in the period that have since been revoked (so ``qualified +
    certificates_revoked`` is every certificate issued in the period);
``subsidy_eligible`` / ``subsidy_amount_fen``
    certificates issued in the period that :mod:`app.certificates.subsidy` grants a subsidy,
    and the sum of their amounts;
``offline_trained`` / ``offline_minutes``
    blended training: enrolments with an offline session checked out in the period (a verified
    check-in and check-out at the site's station, app/courses/offline.py) and the offline
    practical minutes those check-outs credited — apart from online study time;
``outcomes_recorded`` / ``employed``
    certificates issued in the period (not revoked) whose training has an employment outcome
    recorded (app/outcomes), and those whose outcome is a job or a business of one's own
    (实现就业，包括自主创业或灵活就业); ``employment_rate`` = employed / qualified.

Periods are months, quarters or years: a quarter or a year is the sum of its months, so the
annual figures are the sum of the quarters by construction.

Enrolments are grouped by their course's occupation and level and the learner's current group;
certificates by what they state (their snapshot of occupation, level and learner group).

The counts are SQL ``GROUP BY`` queries over (month, dimensions); the month is computed in SQL
with each backend's own date functions (PostgreSQL ``AT TIME ZONE 'Asia/Shanghai'``, SQLite a
fixed ``+8 hours``: Shanghai has kept UTC+8 without daylight saving since 1991). Quarters are
months folded together in Python. The subsidy decision needs every certificate of each learner
(earlier grants count against later ones), so those are loaded — one query, bounded by the
learners with a certificate in the window — and decided by :func:`subsidy.evaluate`.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any, Literal

from sqlalchemy import and_, case, func, literal_column, or_, select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col

from app import clock
from app.accounts.models import Institution, LearnerGroup, User
from app.accounts.principal import Principal
from app.audit.export import InvalidWindow
from app.audit.service import format_time
from app.certificates import subsidy
from app.certificates.models import Certificate, CertificateStatus
from app.clock import SHANGHAI
from app.courses.ledger import day_of
from app.courses.models import Course, DailyCredit, Enrollment, Level, OfflineAttendance
from app.outcomes.models import EmploymentOutcome, OutcomeStatus
from app.programmes import regions
from app.reports.schemas import SummaryCountsOut, SummaryOut, SummaryRowOut
from app.reports.scope import Scope, scope_for

Period = Literal["month", "quarter", "year"]

#: Verified seconds that make an enrolment "trained" (≥ 1 verified minute).
TRAINED_SECONDS = 60

_LEVELS = {lv: i for i, lv in enumerate(Level)}
_GROUPS = {g: i for i, g in enumerate(LearnerGroup)}

COUNTS = (
    "enrolled",
    "trained",
    "qualified",
    "certificates_revoked",
    "subsidy_eligible",
    "subsidy_amount_fen",
    "outcomes_recorded",
    "employed",
    "offline_trained",
    "offline_minutes",
)


@dataclass(frozen=True)
class Window:
    """Asia/Shanghai days ``since`` ≤ day < ``until`` (either open), and the same as instants."""

    since: date | None = None
    until: date | None = None

    def __post_init__(self) -> None:
        if self.since is not None and self.until is not None and self.since >= self.until:
            raise InvalidWindow()

    @property
    def since_utc(self) -> datetime | None:
        return _start_of(self.since)

    @property
    def until_utc(self) -> datetime | None:
        return _start_of(self.until)

    def instant_in(self, column: Any) -> list[ColumnElement[bool]]:
        out: list[ColumnElement[bool]] = []
        if self.since_utc is not None:
            out.append(column >= self.since_utc)
        if self.until_utc is not None:
            out.append(column < self.until_utc)
        return out

    def day_in(self, column: Any) -> list[ColumnElement[bool]]:
        out: list[ColumnElement[bool]] = []
        if self.since is not None:
            out.append(column >= self.since)
        if self.until is not None:
            out.append(column < self.until)
        return out

    def contains(self, t: datetime) -> bool:
        lo, hi = self.since_utc, self.until_utc
        return (lo is None or t >= lo) and (hi is None or t < hi)


def _start_of(d: date | None) -> datetime | None:
    """The instant a Shanghai day starts, in UTC (clamped at the ends of the calendar)."""
    if d is None:
        return None
    try:
        return datetime.combine(d, time(), SHANGHAI).astimezone(UTC)
    except OverflowError:
        return datetime.min.replace(tzinfo=UTC)


def summary_scope(
    session: Session, principal: Principal, institution_id: uuid.UUID | None
) -> Scope:
    """Regulators: their jurisdiction's institutions or one of them; staff and API keys (scope
    ``audit:read``, checked by the route): their own institution only."""
    return scope_for(session, principal, institution_id, what="Statistics")


# ---------------------------------------------------------------- month expressions per backend


def _month_of_instant(dialect: str, column: Any) -> Any:
    """'YYYY-MM' of a UTC timestamp column, in Asia/Shanghai. Constants are inlined (not bound)
    so PostgreSQL sees the same expression in SELECT and GROUP BY."""
    if dialect == "postgresql":
        local = column.op("AT TIME ZONE")(literal_column("'Asia/Shanghai'"))
        return func.to_char(local, literal_column("'YYYY-MM'"))
    return func.strftime(literal_column("'%Y-%m'"), column, literal_column("'+8 hours'"))


def _month_of_day(dialect: str, column: Any) -> Any:
    """'YYYY-MM' of a date column (already a Shanghai day)."""
    if dialect == "postgresql":
        return func.to_char(column, literal_column("'YYYY-MM'"))
    return func.strftime(literal_column("'%Y-%m'"), column)


def _period_of(month: str, period: Period) -> str:
    if period == "month":
        return month
    year, m = month.split("-")
    if period == "year":
        return year
    return f"{year}-Q{(int(m) + 2) // 3}"


# ---------------------------------------------------------------- the report


Key = tuple[str, uuid.UUID, str, Level, LearnerGroup | None]


@dataclass
class _Acc:
    counts: dict[Key, dict[str, int]] = field(
        default_factory=lambda: defaultdict(lambda: dict.fromkeys(COUNTS, 0))
    )
    names: dict[str, str] = field(default_factory=dict)

    def add(self, period: str, row: Any, counts: dict[str, int]) -> None:
        key: Key = (period, row.institution_id, row.occupation_code, row.level, row.group)
        self.names.setdefault(row.occupation_code, row.occupation_name)
        acc = self.counts[key]
        for k, v in counts.items():
            acc[k] += int(v or 0)


def _dims(course: bool) -> list[Any]:
    if course:
        return [
            col(Course.institution_id).label("institution_id"),
            col(Course.occupation_code).label("occupation_code"),
            col(Course.occupation_name).label("occupation_name"),
            col(Course.level).label("level"),
            col(User.group).label("group"),
        ]
    return [
        col(Certificate.institution_id).label("institution_id"),
        col(Certificate.occupation_code).label("occupation_code"),
        col(Certificate.occupation_name).label("occupation_name"),
        col(Certificate.level).label("level"),
        col(Certificate.learner_group).label("group"),
    ]


def _enrolled(session: Session, dialect: str, scope: Scope, w: Window) -> Any:
    month = _month_of_instant(dialect, col(Enrollment.created_at)).label("month")
    dims = _dims(course=True)
    stmt = (
        select(month, *dims, func.count(col(Enrollment.id)).label("n"))
        .select_from(Enrollment)
        .join(Course, col(Course.id) == col(Enrollment.course_id))
        .join(User, col(User.id) == col(Enrollment.user_id))
        .where(*w.instant_in(col(Enrollment.created_at)))
        .group_by(month, *dims)
    )
    stmt = stmt.where(*scope.where(Course.institution_id))
    return session.execute(stmt)


def _trained(session: Session, dialect: str, scope: Scope, w: Window) -> Any:
    first = (
        select(
            col(DailyCredit.enrollment_id).label("enrollment_id"),
            func.min(col(DailyCredit.day)).label("day"),
        )
        .where(col(DailyCredit.ms) > 0)
        .group_by(col(DailyCredit.enrollment_id))
        .subquery()
    )
    month = case(
        (first.c.day.is_not(None), _month_of_day(dialect, first.c.day)),
        else_=_month_of_instant(dialect, col(Enrollment.created_at)),
    ).label("month")
    dims = _dims(course=True)
    in_window = or_(
        and_(first.c.day.is_not(None), *w.day_in(first.c.day)),
        and_(first.c.day.is_(None), *w.instant_in(col(Enrollment.created_at))),
    )
    stmt = (
        select(month, *dims, func.count(col(Enrollment.id)).label("n"))
        .select_from(Enrollment)
        .join(Course, col(Course.id) == col(Enrollment.course_id))
        .join(User, col(User.id) == col(Enrollment.user_id))
        .outerjoin(first, first.c.enrollment_id == col(Enrollment.id))
        .where(col(Enrollment.credited_ms) >= TRAINED_SECONDS * 1000, in_window)
        .group_by(month, *dims)
    )
    stmt = stmt.where(*scope.where(Course.institution_id))
    return session.execute(stmt)


def _offline(session: Session, dialect: str, scope: Scope, w: Window) -> Any:
    """Offline sessions checked out in the period: distinct enrolments and credited ms."""
    checkout = col(OfflineAttendance.checkout_at)
    month = _month_of_instant(dialect, checkout).label("month")
    dims = _dims(course=True)
    stmt = (
        select(
            month,
            *dims,
            func.count(func.distinct(col(OfflineAttendance.enrollment_id))).label("n"),
            func.coalesce(func.sum(col(OfflineAttendance.credited_ms)), 0).label("ms"),
        )
        .select_from(OfflineAttendance)
        .join(Enrollment, col(Enrollment.id) == col(OfflineAttendance.enrollment_id))
        .join(Course, col(Course.id) == col(Enrollment.course_id))
        .join(User, col(User.id) == col(Enrollment.user_id))
        .where(checkout.is_not(None), *w.instant_in(checkout))
        .group_by(month, *dims)
    )
    stmt = stmt.where(*scope.where(Course.institution_id))
    return session.execute(stmt)


def _certificates(session: Session, dialect: str, scope: Scope, w: Window) -> Any:
    month = _month_of_instant(dialect, col(Certificate.issued_at)).label("month")
    dims = _dims(course=False)
    revoked = col(Certificate.status) == CertificateStatus.revoked
    stmt = (
        select(
            month,
            *dims,
            func.sum(case((revoked, 0), else_=1)).label("qualified"),
            func.sum(case((revoked, 1), else_=0)).label("revoked"),
        )
        .where(*w.instant_in(col(Certificate.issued_at)))
        .group_by(month, *dims)
    )
    stmt = stmt.where(*scope.where(Certificate.institution_id))
    return session.execute(stmt)


def _outcomes(session: Session, dialect: str, scope: Scope, w: Window) -> Any:
    """Per month of issue and dimensions: valid certificates with an outcome, and employed."""
    month = _month_of_instant(dialect, col(Certificate.issued_at)).label("month")
    dims = _dims(course=False)
    employed = col(EmploymentOutcome.status).in_(
        [s.value for s in OutcomeStatus if s.counts_as_employed]
    )
    stmt = (
        select(
            month,
            *dims,
            func.count().label("recorded"),
            func.sum(case((employed, 1), else_=0)).label("employed"),
        )
        .join(
            EmploymentOutcome,
            col(EmploymentOutcome.enrollment_id) == col(Certificate.enrollment_id),
        )
        .where(
            col(Certificate.status) != CertificateStatus.revoked,
            *w.instant_in(col(Certificate.issued_at)),
        )
        .group_by(month, *dims)
    )
    stmt = stmt.where(*scope.where(Certificate.institution_id))
    return session.execute(stmt)


def _in_scope(scope: Scope, w: Window) -> list[ColumnElement[bool]]:
    out = w.instant_in(col(Certificate.issued_at))
    out.extend(scope.where(Certificate.institution_id))
    return out


def _subsidies(
    session: Session, scope: Scope, w: Window
) -> Iterable[tuple[Certificate, subsidy.Decision]]:
    """Each certificate in scope and window with its subsidy decision. A learner's decisions
    depend on all their certificates (any institution, any time), so all of them are loaded for
    the learners who have one in the window, and decided together as the subsidy module does."""
    learners = select(col(Certificate.user_id)).where(*_in_scope(scope, w)).distinct()
    certs = (
        session.execute(
            select(Certificate).where(col(Certificate.user_id).in_(learners.scalar_subquery()))
        )
        .scalars()
        .all()
    )
    inside = (
        {
            i
            for (i,) in session.execute(
                select(col(Institution.id)).where(*scope.where(Institution.id))
            ).all()
        }
        if scope.limited
        else None
    )
    decisions = subsidy.decide_all(session, certs)
    for c in certs:
        if (inside is None or c.institution_id in inside) and w.contains(c.issued_at):
            yield c, decisions[c.id]


def summary(
    session: Session,
    principal: Principal,
    *,
    institution_id: uuid.UUID | None = None,
    window: Window | None = None,
    period: Period = "month",
) -> SummaryOut:
    scope = summary_scope(session, principal, institution_id)
    w = window or Window()
    dialect = session.get_bind().dialect.name
    acc = _Acc()
    for row in _enrolled(session, dialect, scope, w):
        acc.add(_period_of(row.month, period), row, {"enrolled": row.n})
    for row in _trained(session, dialect, scope, w):
        acc.add(_period_of(row.month, period), row, {"trained": row.n})
    for row in _offline(session, dialect, scope, w):
        counts = {"offline_trained": row.n, "offline_minutes": int(row.ms) // 60_000}
        acc.add(_period_of(row.month, period), row, counts)
    for row in _certificates(session, dialect, scope, w):
        counts = {"qualified": row.qualified, "certificates_revoked": row.revoked}
        acc.add(_period_of(row.month, period), row, counts)
    for row in _outcomes(session, dialect, scope, w):
        counts = {"outcomes_recorded": row.recorded, "employed": row.employed}
        acc.add(_period_of(row.month, period), row, counts)
    for cert, decision in _subsidies(session, scope, w):
        if not decision.eligible:
            continue
        month = day_of(cert.issued_at).strftime("%Y-%m")
        row = _CertDims(cert)
        counts = {"subsidy_eligible": 1, "subsidy_amount_fen": decision.amount_fen}
        acc.add(_period_of(month, period), row, counts)

    inst_ids = {k[1] for k in acc.counts}
    institutions: dict[uuid.UUID, Institution] = {}
    if inst_ids:
        institutions = {
            i.id: i
            for i in session.execute(
                select(Institution).where(col(Institution.id).in_(list(inst_ids)))
            ).scalars()
        }

    region_names = {
        code: regions.full_name(session, code)
        for code in {i.region_code for i in institutions.values() if i.region_code}
    }

    def order(key: Key) -> tuple[Any, ...]:
        per, inst, code, level, group = key
        return (
            per,
            str(inst),
            code,
            _LEVELS[level],
            len(_GROUPS) if group is None else _GROUPS[group],
        )

    rows = []
    totals = dict.fromkeys(COUNTS, 0)
    for key in sorted(acc.counts, key=order):
        per, inst, code, level, group = key
        counts = acc.counts[key]
        for k, v in counts.items():
            totals[k] += v
        institution = institutions.get(inst)
        rows.append(
            SummaryRowOut(
                period=per,
                institution_id=str(inst),
                institution_code=institution.code if institution else "",
                institution_name=institution.name if institution else "",
                region_code=(institution.region_code or "") if institution else "",
                region_name=region_names.get(institution.region_code or "", "")
                if institution
                else "",
                occupation_code=code,
                occupation_name=acc.names.get(code, ""),
                level=level,
                learner_group=group,
                **counts,
            )
        )
    return SummaryOut(
        generated_at=format_time(clock.now()),
        institution_id=str(scope.institution_id) if scope.institution_id else None,
        period=period,
        since=w.since,
        until=w.until,
        rows=rows,
        totals=SummaryCountsOut(**totals),
    )


@dataclass(frozen=True)
class _CertDims:
    """A certificate's snapshot as a row of dimensions (the shape :meth:`_Acc.add` reads)."""

    cert: Certificate

    @property
    def institution_id(self) -> uuid.UUID:
        return self.cert.institution_id

    @property
    def occupation_code(self) -> str:
        return self.cert.occupation_code

    @property
    def occupation_name(self) -> str:
        return self.cert.occupation_name

    @property
    def level(self) -> Level:
        return self.cert.level

    @property
    def group(self) -> LearnerGroup | None:
        return self.cert.learner_group
