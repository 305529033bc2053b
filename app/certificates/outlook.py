"""What a course's subsidy would be for a learner today, and what it asks of them.

The course page shows it before enrolment and during study. It is an outlook, not a decision:
the amount comes from the regulator's standard in force for the institution's region today
(:func:`app.programmes.standards.standard_in_force`, the lookup a certificate makes when it is
issued, so the page and the certificate agree on the same day), and the learner's own history is
read through the subsidy rules (:mod:`app.certificates.subsidy`): how many subsidised trainings
they already had this calendar year, and whether one was for the same occupation and level.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlmodel import Session, col, select

from app import clock
from app.accounts.models import Institution, Role, User
from app.certificates import subsidy
from app.certificates.models import Certificate
from app.clock import SHANGHAI
from app.config import get_settings
from app.courses.models import Course
from app.errors import DomainError
from app.programmes import eligibility, regions, standards


@dataclass(frozen=True)
class Outlook:
    """The subsidy a course pays today and where the learner stands against its rules."""

    course: Course
    on_date: date
    #: What the standard pays (after the caps of the regions above); None: no standard in force.
    amount_fen: int | None
    #: The standard's region, its version and the day it took effect (None without a standard).
    region_name: str | None = None
    version: int | None = None
    effective_from: date | None = None
    #: The region above whose lower standard caps the amount, if any.
    capped_by_region: str | None = None
    max_per_year: int = subsidy.MAX_PER_YEAR
    repeat_scope: str = "ever"
    #: The learner's granted subsidies this calendar year (None: not a learner's view).
    granted_this_year: int | None = None
    #: The serial of a granted subsidy for the same occupation and level (within the scope).
    repeat_serial: str | None = None
    #: The programme's own rules (groups, age, residence, certificate kind) for this learner
    #: starting today, each explained (app/programmes/eligibility.py); empty without both.
    programme: list[eligibility.Outcome] = field(default_factory=list)

    @property
    def personal(self) -> bool:
        return self.granted_this_year is not None

    @property
    def year_full(self) -> bool:
        return (self.granted_this_year or 0) >= self.max_per_year

    @property
    def available(self) -> bool:
        """A standard is in force and the learner's history does not rule it out."""
        return (
            self.amount_fen is not None
            and not self.year_full
            and self.repeat_serial is None
            and all(o.passed for o in self.programme)
        )


def course_outlook(session: Session, course: Course, user: User | None = None) -> Outlook:
    """The outlook of ``course`` today; with a learner, their history against the rules."""
    today = clock.now().astimezone(SHANGHAI).date()
    scope = get_settings().subsidy_repeat_scope
    found: standards.InForce | None = None
    institution = session.get(Institution, course.institution_id)
    if institution is not None:
        try:
            code = standards.normalise_occupation_code(course.occupation_code)
        except DomainError:  # not a classification code: no standard can name it
            code = None
        if code is not None:
            found = standards.standard_in_force(
                session, institution, code, course.level.value, today
            )
    learner = user if user is not None and user.role is Role.learner else None
    granted: int | None = None
    repeat: str | None = None
    if learner is not None:
        granted, repeat = _history(session, learner, course, today.year, scope)
    if found is None:
        return Outlook(
            course,
            today,
            None,
            repeat_scope=scope,
            granted_this_year=granted,
            repeat_serial=repeat,
        )
    programme: list[eligibility.Outcome] = []
    if learner is not None:
        facts = eligibility.load(session, [learner.id], [found.standard.id])
        programme = eligibility.check(
            facts,
            eligibility.Training(
                user_id=learner.id,
                standard_id=found.standard.id,
                first_day=today,
                occupation_code=found.standard.occupation_code,
                occupation_name=course.occupation_name,
                level=course.level.value,
            ),
        )
    return Outlook(
        course,
        today,
        found.amount_fen,
        region_name=regions.full_name(session, found.standard.region_code),
        version=found.standard.version,
        effective_from=found.standard.effective_from,
        capped_by_region=(
            regions.full_name(session, found.capped_by.region_code) if found.capped_by else None
        ),
        max_per_year=eligibility.max_per_year(found.standard),
        repeat_scope=scope,
        granted_this_year=granted,
        repeat_serial=repeat,
        programme=programme,
    )


def _history(
    session: Session, user: User, course: Course, year: int, scope: str
) -> tuple[int, str | None]:
    """(granted subsidies in ``year``, a granted one for the course's occupation and level),
    as the subsidy rules decided the learner's certificates."""
    decisions = subsidy.for_learners(session, [user.id])
    granted = [
        c
        for c in session.exec(select(Certificate).where(col(Certificate.user_id) == user.id))
        if c.id in decisions and decisions[c.id].eligible
    ]
    this_year = sum(1 for c in granted if c.year == year)
    repeat = next(
        (
            c.serial
            for c in sorted(granted, key=lambda c: c.issued_at)
            if c.occupation_code == course.occupation_code
            and c.level == course.level
            and (scope == "ever" or c.year == year)
        ),
        None,
    )
    return this_year, repeat
