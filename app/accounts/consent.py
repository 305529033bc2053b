"""Whether a person's biometric consent covers the processing done today.

Consent is given to one version of the text (``settings.consent_version``). When the text
changes (v2, 2026-12: streamed checks of 10-15 s of video and a presentation-attack model),
consent given to an earlier version no longer covers the face checks: the person is asked
again, on the consent page, before their next check. Nothing else changes: their template,
credit and history stay.
"""

from __future__ import annotations

from enum import StrEnum

from app.accounts.models import User
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


__all__ = ["ConsentState", "consent_is_current", "consent_state"]
