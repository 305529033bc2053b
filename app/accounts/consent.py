"""Biometric consent: whether a person's consent covers the processing done today, and every
grant and withdrawal, recorded with the version of the text shown.

Consent is given to one version of the text (``settings.consent_version``). When the text
changes (v2, 2026-12: streamed checks of 10-15 s of video and a presentation-attack model),
consent given to an earlier version no longer covers the face checks: the person is asked
again, on the consent page, before their next check. Nothing else changes: their template,
credit and history stay. A withdrawal deletes the face templates (through
:data:`consent_withdrawn_hooks`).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from sqlmodel import Session, col, select

from app import clock
from app.accounts import users
from app.accounts.models import ConsentRecord, User
from app.audit import service as audit
from app.audit.service import Actor
from app.config import get_settings


class ConsentState(StrEnum):
    none = "none"  # never given, or withdrawn
    outdated = "outdated"  # given to an earlier version of the text
    current = "current"


def consent_state(user: User) -> ConsentState:
    if not user.biometric_consent:
        return ConsentState.none
    if user.consent_version != get_settings().consent_version:
        return ConsentState.outdated
    return ConsentState.current


def consent_is_current(user: User) -> bool:
    return consent_state(user) is ConsentState.current


CONSENT_TEXT_ZH = (
    "为核验参加补贴性职业技能培训的是您本人，平台将在签到、随机点名和考试时通过摄像头"
    "采集约 10–15 秒的人脸画面（期间按提示眨眼或转头，并检查是否为照片或翻拍）"
    "，提取人脸特征（加密保存）用于比对；画面仅在本次核验完成前暂存，核验后立即删除，"
    "仅保留小尺寸人脸截图作为考勤凭证，保存期满后删除。仅您所在培训机构的工作人员和人"
    "社监管部门可查看考勤凭证。您可以随时撤回同意，撤回后人脸特征将被删除；不同意的，"
    "可联系培训机构采用线下签到等替代方式。"
)

#: Called with (session, user) after biometric consent is withdrawn (face templates are deleted);
#: subscribed in app/wiring.py.
consent_withdrawn_hooks: list[Callable[[Session, User], None]] = []


def set_biometric_consent(
    session: Session,
    user: User,
    *,
    granted: bool,
    ip: str | None = None,
    user_agent: str | None = None,
) -> ConsentRecord:
    """Record a grant or withdrawal with the consent text version; withdrawal deletes templates.

    The same decision again (the form sent twice, a reload) while it stands records nothing: the
    standing record is returned (the person's row is locked, so two at once are one)."""
    version = get_settings().consent_version
    user = users.locked(session, user)
    standing = _latest(session, user)
    if (
        standing is not None
        and standing.granted is granted
        and standing.version == version
        and user.biometric_consent is granted
        and user.consent_version == version
    ):
        return standing
    now = clock.now()
    record = ConsentRecord(
        user_id=user.id,
        granted=granted,
        version=version,
        at=now,
        ip=ip,
        user_agent=(user_agent or "")[:300] or None,
    )
    session.add(record)
    user.biometric_consent = granted
    user.consent_version = version
    user.consent_at = now
    session.add(user)
    session.flush()
    if not granted:
        for hook in consent_withdrawn_hooks:
            hook(session, user)
    audit.append(
        session,
        actor=Actor.user(user.id),
        action="consent.granted" if granted else "consent.withdrawn",
        subject=f"user:{user.id}",
        payload={"kind": "biometric", "version": version},
        institution_id=user.institution_id,
    )
    return record


def _latest(session: Session, user: User) -> ConsentRecord | None:
    return session.exec(
        select(ConsentRecord)
        .where(col(ConsentRecord.user_id) == user.id)
        .order_by(col(ConsentRecord.at).desc(), col(ConsentRecord.id).desc())
        .limit(1)
    ).first()


__all__ = [
    "CONSENT_TEXT_ZH",
    "ConsentState",
    "consent_is_current",
    "consent_state",
    "consent_withdrawn_hooks",
    "set_biometric_consent",
]
