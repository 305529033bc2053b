"""Words and page context of class filing (开班备案 / 结业备案), shared by the staff class page
and the regulator's filing pages (the rules are app/filing's)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from app.config import get_settings
from app.courses.models import CourseClass
from app.filing import service as filing
from app.filing.models import FilingKind, FilingStatus

FILING_KINDS: dict[str, str] = {
    FilingKind.opening.value: "开班备案",
    FilingKind.completion.value: "结业备案",
}
FILING_STATUSES: dict[str, str] = {
    FilingStatus.pending.value: "待审核",
    FilingStatus.approved.value: "已同意",
    FilingStatus.returned.value: "已退回",
}


def names() -> dict[str, Any]:
    return {"filing_kinds": FILING_KINDS, "filing_statuses": FILING_STATUSES}


def class_context(session: Session, klass: CourseClass) -> dict[str, Any]:
    """What ``_class_filing.html`` shows for a class (the caller already may see it)."""
    if klass.is_default:
        return {"filing_state": None, "filing_versions": [], **names()}
    return {
        "filing_state": filing.state(session, klass),
        "filing_versions": filing.versions(session, klass.id),
        "opening_due": filing.due_date(klass, FilingKind.opening),
        "completion_days": get_settings().class_completion_filing_days,
        **names(),
    }
