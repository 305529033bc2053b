"""The ``class_filed`` subsidy rule's facts and words: was the certificate's training done in a
class whose opening filing (开班备案) the regulator approved?

:func:`facts_for` looks the facts up for many certificates in two queries; :func:`explain` turns
one certificate's fact into the rule's outcome in English and Chinese. The rules engine
(app/certificates/subsidy.py) calls both; the decision itself is made on every read (an
approval after the certificate was issued counts; a later return would not).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, select

from app.certificates.models import Certificate
from app.clock import SHANGHAI
from app.config import get_settings
from app.courses.classes.refusals import StudiedInFiledClass
from app.courses.models import CourseClass, Enrollment
from app.filing.models import ClassFiling, FilingKind, FilingStatus


@dataclass(frozen=True)
class FilingFact:
    """The class a certificate's training was done in and its latest opening filing."""

    class_code: str
    class_name: str
    is_default: bool
    filing: ClassFiling | None


def facts_for(session: Session, certs: Iterable[Certificate]) -> dict[uuid.UUID, FilingFact]:
    """Certificate id → its class's filing fact (two queries)."""
    by_enrollment = {c.enrollment_id: c.id for c in certs}
    if not by_enrollment:
        return {}
    rows = session.exec(
        select(col(Enrollment.id), CourseClass)
        .join(CourseClass, col(CourseClass.id) == col(Enrollment.class_id))
        .where(col(Enrollment.id).in_(list(by_enrollment)))
    ).all()
    class_of = dict(rows)
    latest: dict[uuid.UUID, ClassFiling] = {}
    for f in session.exec(
        select(ClassFiling)
        .where(
            col(ClassFiling.class_id).in_({k.id for k in class_of.values()}),
            col(ClassFiling.kind) == FilingKind.opening,
        )
        .order_by(col(ClassFiling.version))
    ):
        latest[f.class_id] = f
    return {
        cert_id: FilingFact(k.code, k.name, k.is_default, latest.get(k.id))
        for eid, cert_id in by_enrollment.items()
        if (k := class_of.get(eid)) is not None
    }


def _day(t: datetime | None) -> str:
    return t.astimezone(SHANGHAI).date().isoformat() if t is not None else "?"


def _late(f: ClassFiling) -> tuple[str, str]:
    if not f.late:
        return "", ""
    due = date.isoformat(f.due_on)
    return (
        f"; filed late: {f.days_late} day(s) after it was due on {due}",
        f"（逾期备案：应于 {due} 前备案，晚 {f.days_late} 天）",
    )


def explain(cert: Certificate, fact: FilingFact | None) -> tuple[bool, str, str]:
    """(passed, words in English, words in Chinese) of the ``class_filed`` rule."""
    if cert.issued_before_class_filing:
        return (
            True,
            "issued before class filing (开班备案) was required: decided as before",
            "发证早于开班备案要求，按原规则认定",
        )
    if fact is None or fact.is_default:
        return (
            False,
            "self-enrolled training outside any scheduled class: subsidised training must be "
            "done in a class filed with the regulator and approved (开班备案)",
            "自主报名、未编入开班备案班级的培训，不予补贴：补贴培训须在经人社部门开班备案同意的班级中进行",
        )
    what = f"class {fact.class_code} ({fact.class_name})"
    what_zh = f"班级「{fact.class_name}」（期次 {fact.class_code}）"
    f = fact.filing
    if f is None:
        return (
            False,
            f"{what} was not filed with the regulator (开班备案): unfiled training is not "
            "subsidised",
            f"{what_zh}未向人社部门开班备案，不予补贴",
        )
    late_en, late_zh = _late(f)
    filed = _day(f.filed_at)
    if f.status is FilingStatus.pending:
        return (
            False,
            f"{what} was filed on {filed} (version {f.version}) and awaits the regulator's "
            f"approval{late_en}",
            f"{what_zh}已于 {filed} 提交开班备案（第 {f.version} 版），待人社部门审核{late_zh}",
        )
    decided = _day(f.decided_at)
    if f.status is FilingStatus.returned:
        return (
            False,
            f"the regulator returned the filing of {what} on {decided}: {f.decision_note}; the "
            "institution must correct it and file again",
            f"人社部门已于 {decided} 退回{what_zh}的开班备案：{f.decision_note}；须由培训机构修改后"
            "重新备案",
        )
    if f.late and not get_settings().class_filing_late_counts:
        return (
            False,
            f"{what} was filed late ({f.days_late} day(s) after it was due on "
            f"{f.due_on.isoformat()}): training in a class filed late is not subsidised",
            f"{what_zh}逾期开班备案（应于 {f.due_on.isoformat()} 前备案，晚 {f.days_late} 天），"
            "不予补贴",
        )
    return (
        True,
        f"{what} was filed on {filed} and approved by the regulator on {decided} (version "
        f"{f.version}){late_en}",
        f"{what_zh}已于 {filed} 开班备案，人社部门于 {decided} 同意（第 {f.version} 版）{late_zh}",
    )


def refuse_move_of_filed_study(
    session: Session,
    enrollment: Enrollment,
    source: CourseClass,
    target: CourseClass,
    studied: bool,
) -> None:
    """A move (转班, app/courses/classes/moves.py) of an enrolment with study recorded, out of
    or into a class filed for opening (any version, pending, approved or returned): refused
    (409 ``class_move_filed_studied``), since this rule counts her training in the class she
    is in, and the regional system has no record of a roster change."""
    if not studied:
        return
    filed = session.exec(
        select(col(ClassFiling.id))
        .where(
            col(ClassFiling.class_id).in_([source.id, target.id]),
            col(ClassFiling.kind) == FilingKind.opening,
        )
        .limit(1)
    ).first()
    if filed is not None:
        raise StudiedInFiledClass(enrollment_id=str(enrollment.id))
