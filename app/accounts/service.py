"""Account rules, one import for callers: ``from app.accounts import service as accounts``.

The rules live in one module per concern; this module re-exports their public names (callers,
the API and the pages keep this one import path):

- :mod:`app.accounts.institutions`: creating institutions and looking them up;
- :mod:`app.accounts.users`: usernames, learners' real-name registration, other accounts, and
  who may see which learner;
- :mod:`app.accounts.login`: passwords with back-off, sign-in refusals, access tokens;
- :mod:`app.accounts.apikeys`: partner API keys;
- :mod:`app.accounts.consent`: biometric consent (and its withdrawal hooks).

Functions take the request's session, ``flush()`` and never commit; each write appends its
audit entry in the same transaction.
"""

from __future__ import annotations

from app.accounts.apikeys import (
    api_key_from_secret,
    create_api_key,
    list_api_keys,
    revoke_api_key,
)
from app.accounts.consent import (
    CONSENT_TEXT_ZH,
    consent_withdrawn_hooks,
    set_biometric_consent,
)
from app.accounts.institutions import (
    create_institution,
    get_institution,
    get_institution_by_code,
)
from app.accounts.login import (
    authenticate,
    issue_token,
    token_user,
    user_from_token,
)
from app.accounts.users import (
    USERNAME_RE,
    acting_institution,
    can_see_learner,
    count_users,
    create_user,
    get_managed_learner,
    get_user,
    get_visible_learner,
    list_institution_staff,
    list_learners,
    normalise_username,
    register_learner,
)

__all__ = [
    "CONSENT_TEXT_ZH",
    "USERNAME_RE",
    "acting_institution",
    "api_key_from_secret",
    "authenticate",
    "can_see_learner",
    "consent_withdrawn_hooks",
    "count_users",
    "create_api_key",
    "create_institution",
    "create_user",
    "get_institution",
    "get_institution_by_code",
    "get_managed_learner",
    "get_user",
    "get_visible_learner",
    "issue_token",
    "list_api_keys",
    "list_institution_staff",
    "list_learners",
    "normalise_username",
    "register_learner",
    "revoke_api_key",
    "set_biometric_consent",
    "token_user",
    "user_from_token",
]
