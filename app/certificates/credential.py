"""The signed credential: an Open Badges 3.0 ``OpenBadgeCredential`` as a VC-JWT (RS256).

RS256 is the Open Badges 3.0 interoperability minimum. The RSA key is read from the setting
``credential_signing_key_pem`` or generated into ``data_dir/keys`` on first use (like the audit
key, app/audit/signing.py). Its ``kid`` is an absolute URL, ``{base}/keys/{RFC 7638 thumbprint}``,
that dereferences to the public JWK (OB 3.0 §8.2.3); the same key, under the same ``kid``, is
listed at ``/.well-known/jwks.json``.

The JWT payload is the credential itself with the claims OB 3.0 §8.2.4 maps onto it (``iss`` =
``issuer.id``, ``jti`` = ``id``, ``nbf`` = ``validFrom``, ``sub`` = ``credentialSubject.id``); the
same credential is also kept in the ``vc`` claim for VC Data Model 1.1 verifiers.

The learner is ``credentialSubject.id``, a ``urn:uuid:`` derived from their account (the same on
every certificate of theirs, revealing nothing), and a salted SHA-256 ``identityHash`` of the ID
number (Open Badges ``IdentityObject``): whoever is shown the ID number can check it, the
credential never carries it. Training facts that Open Badges has no term for live under
``training``, defined by our own published JSON-LD context (:func:`context_document`).
Revocation is checkable offline through a W3C Bitstring Status List (app/certificates/status.py).
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import (
    RSAPrivateKey,
    RSAPublicKey,
    generate_private_key,
)

from app.accounts.models import Institution
from app.certificates.models import Certificate
from app.config import Settings, get_settings
from app.courses.models import LEVEL_NAMES_ZH
from app.keys import CREDENTIAL_KEY_BITS, load_or_create_private_key

KEY_FILE = "credential-rsa.pem"
KEY_BITS = CREDENTIAL_KEY_BITS
VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
#: Path of our own JSON-LD context (the ``training`` terms), served by app/web/certificates.py.
CONTEXT_PATH = "/credentials/context/v1.jsonld"
#: Namespace of the learners' subject ids: uuid5(this, user id) is stable per learner and
#: reveals neither the account id nor the ID number.
SUBJECT_NAMESPACE = uuid.UUID("6f3c2a9e-54d1-4b8e-9a57-1c0d5e7b2f40")


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _int_b64u(n: int) -> str:
    return _b64u(n.to_bytes((n.bit_length() + 7) // 8, "big"))


def thumbprint(key: RSAPublicKey) -> str:
    """RFC 7638 JWK thumbprint (SHA-256, base64url)."""
    numbers = key.public_numbers()
    jwk = {"e": _int_b64u(numbers.e), "kty": "RSA", "n": _int_b64u(numbers.n)}
    return _b64u(hashlib.sha256(json.dumps(jwk, separators=(",", ":")).encode()).digest())


def key_url(thumb: str) -> str:
    """The ``kid``: an absolute URL that dereferences to the public JWK."""
    return f"{get_settings().base_url}/keys/{thumb}"


def public_jwk(key: RSAPublicKey) -> dict[str, str]:
    """The public JWK (never ``d``), its ``kid`` the URL it is served at."""
    numbers = key.public_numbers()
    jwk = {"e": _int_b64u(numbers.e), "kty": "RSA", "n": _int_b64u(numbers.n)}
    return {**jwk, "kid": key_url(thumbprint(key)), "use": "sig", "alg": "RS256"}


def _key_pem(settings: Settings) -> str:
    return settings.credential_signing_key_pem


def _load_or_create(settings: Settings) -> RSAPrivateKey:
    key = load_or_create_private_key(
        _key_pem(settings),
        settings.data_dir / "keys" / KEY_FILE,
        lambda: generate_private_key(public_exponent=65537, key_size=KEY_BITS),
        setting="SKILLTRACE_CREDENTIAL_SIGNING_KEY_PEM" if settings.storage == "s3" else "",
    )
    if not isinstance(key, RSAPrivateKey) or key.key_size < 2048:
        raise ValueError("the credential signing key must be an RSA private key of 2048+ bits")
    return key


@lru_cache(maxsize=4)
def _signing_key(data_dir: str, pem: str) -> RSAPrivateKey:
    return _load_or_create(get_settings())


def signing_key() -> RSAPrivateKey:
    s = get_settings()
    return _signing_key(str(s.data_dir.resolve()), _key_pem(s))


def jwks() -> dict[str, Any]:
    return {"keys": [public_jwk(signing_key().public_key())]}


def jwk_by_thumbprint(thumb: str) -> dict[str, str] | None:
    """The public JWK a ``kid`` URL names, or None (not one of our keys)."""
    key = signing_key().public_key()
    return public_jwk(key) if thumbprint(key) == thumb else None


def subject_id(user_id: uuid.UUID) -> str:
    """The learner's ``credentialSubject.id`` (and ``sub``): the same on all their credentials."""
    return f"urn:uuid:{uuid.uuid5(SUBJECT_NAMESPACE, str(user_id))}"


def issuer_id(institution_id: uuid.UUID) -> str:
    return f"{get_settings().base_url}/institutions/{institution_id}"


def status_list_url(institution_id: uuid.UUID, status_list: int) -> str:
    """Where the signed Bitstring Status List credential of this list is served."""
    return f"{issuer_id(institution_id)}/status-lists/{status_list}"


def status_entry(institution_id: uuid.UUID, status_list: int, index: int) -> dict[str, str]:
    """The credential's ``credentialStatus`` (W3C Bitstring Status List v1.0 entry)."""
    url = status_list_url(institution_id, status_list)
    return {
        "id": f"{url}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": str(index),
        "statusListCredential": url,
    }


def issuer_profile(institution: Institution) -> dict[str, Any]:
    """The issuer's Open Badges 3.0 ``Profile``, served at its ``id`` (public facts only)."""
    return {
        "@context": [VC_CONTEXT, OB_CONTEXT],
        "id": issuer_id(institution.id),
        "type": ["Profile"],
        "name": institution.name,
        "otherIdentifier": [
            {
                "type": "IdentifierEntry",
                "identifier": institution.code,
                "identifierType": "identifier",
            }
        ],
    }


def context_url() -> str:
    return f"{get_settings().base_url}{CONTEXT_PATH}"


def iso_seconds(t: datetime) -> str:
    """A DateTime without fractions: ``validFrom`` must equal the whole-second ``nbf``."""
    return t.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


#: Our terms under ``training`` (IRI fragment: JSON-LD type); see :func:`context_document`.
TRAINING_TERMS: dict[str, str | None] = {
    "serial": None,
    "occupationCode": None,
    "occupationName": None,
    "level": None,
    "levelName": None,
    "verifiedMinutes": "xsd:integer",
    "verifiedHours": "xsd:decimal",
    "requiredMinutes": "xsd:integer",
    "offlineMinutes": "xsd:integer",
    "offlineHours": "xsd:decimal",
    "offlineRequiredMinutes": "xsd:integer",
    "studyStartedAt": "xsd:dateTime",
    "studyEndedAt": "xsd:dateTime",
    "quizScore": "xsd:integer",
    "rollCallsTotal": "xsd:integer",
    "rollCallsPassed": "xsd:integer",
}


def context_document() -> dict[str, Any]:
    """Our JSON-LD context: defines ``training`` (a ``TrainingRecord``) and its members."""
    vocab = f"{get_settings().base_url}/credentials/vocab#"
    terms: dict[str, Any] = {}
    for name, xsd in TRAINING_TERMS.items():
        terms[name] = {"@id": vocab + name, **({"@type": xsd} if xsd else {})}
    return {
        "@context": {
            "@version": 1.1,
            "@protected": True,
            "xsd": "http://www.w3.org/2001/XMLSchema#",
            "TrainingRecord": {"@id": vocab + "TrainingRecord"},
            "training": {
                "@id": vocab + "training",
                "@context": {"@version": 1.1, "@protected": True, **terms},
            },
        }
    }


def identity_hash(id_number: str, salt: str) -> str:
    """Open Badges ``identityHash``: ``sha256$`` + hex SHA-256 of the value followed by the salt."""
    return "sha256$" + hashlib.sha256((id_number + salt).encode()).hexdigest()


def verify_url(serial: str) -> str:
    return f"{get_settings().base_url}/certificates/{serial}"


def hours(minutes: int) -> float:
    return round(minutes / 60, 1)


def build(cert: Certificate, *, institution_name: str, id_number: str) -> dict[str, Any]:
    """The credential (W3C VC 2.0 data model, Open Badges 3.0 ``OpenBadgeCredential``)."""
    base = get_settings().base_url
    level_zh = LEVEL_NAMES_ZH[cert.level]
    issued = iso_seconds(cert.issued_at)
    training: dict[str, Any] = {
        "type": "TrainingRecord",
        "serial": cert.serial,
        "occupationCode": cert.occupation_code,
        "occupationName": cert.occupation_name,
        "level": cert.level.value,
        "levelName": level_zh,
        "verifiedMinutes": cert.credited_minutes,
        "verifiedHours": hours(cert.credited_minutes),
        "requiredMinutes": cert.required_minutes,
        "quizScore": cert.quiz_score,
        "rollCallsTotal": cert.rollcalls_total,
        "rollCallsPassed": cert.rollcalls_passed,
    }
    if cert.offline_minutes is not None:  # blended training: the offline practical part
        training["offlineMinutes"] = cert.offline_minutes
        training["offlineHours"] = hours(cert.offline_minutes)
        training["offlineRequiredMinutes"] = cert.offline_required_minutes
    if cert.study_started_at is not None and cert.study_ended_at is not None:
        training["studyStartedAt"] = iso_seconds(cert.study_started_at)
        training["studyEndedAt"] = iso_seconds(cert.study_ended_at)
    out: dict[str, Any] = {
        "@context": [VC_CONTEXT, OB_CONTEXT, context_url()],
        "id": f"urn:uuid:{cert.id}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {
            "id": issuer_id(cert.institution_id),
            "type": ["Profile"],
            "name": institution_name,
        },
        "validFrom": issued,
        "awardedDate": issued,
        "name": f"{cert.course_title} 培训合格证明",
        "credentialSubject": {
            "id": subject_id(cert.user_id),
            "type": ["AchievementSubject"],
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityHash": identity_hash(id_number, cert.identity_salt),
                    "identityType": "nationalIdentityNumber",
                    "hashed": True,
                    # The salt is NOT published: an ID number has too little entropy (region,
                    # birth date, 4 digits) to withstand a search once the salt is known. The
                    # learner gets it from their own certificate to prove the link when asked.
                }
            ],
            "achievement": {
                "id": f"{base}/courses/{cert.course_id}",
                "type": ["Achievement"],
                "achievementType": "Certificate",
                "name": cert.course_title,
                "description": (
                    f"{cert.occupation_name}（{cert.occupation_code}）{level_zh} 职业技能培训"
                ),
                "criteria": {
                    "narrative": (
                        f"完成不少于 {cert.required_minutes} 分钟经人脸核验的有效学时；"
                        f"考试成绩不低于 {cert.pass_score} 分；"
                        f"随机点名通过率不低于 {cert.min_pass_rate}%。"
                    )
                },
                "fieldOfStudy": cert.occupation_name,
                "specialization": level_zh,
                "humanCode": cert.occupation_code,
            },
            "training": training,
        },
        "evidence": [
            {
                "id": verify_url(cert.serial),
                "type": ["Evidence"],
                "name": "在线核验 / Online verification",
            }
        ],
    }
    if cert.status_list is not None and cert.status_index is not None:
        out["credentialStatus"] = status_entry(
            cert.institution_id, cert.status_list, cert.status_index
        )
    return out


def sign_jwt(payload: dict[str, Any]) -> str:
    """RS256 JWS with this service's credential key; header ``alg``, ``kid`` (a URL), ``typ``."""
    key = signing_key()
    kid = public_jwk(key.public_key())["kid"]
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": kid, "typ": "JWT"})


def _issuer_id(credential: dict[str, Any]) -> str:
    issuer = credential["issuer"]
    return str(issuer["id"] if isinstance(issuer, dict) else issuer)


def jwt_claims(credential: dict[str, Any]) -> dict[str, Any]:
    """OB 3.0 §8.2.4: ``iss``, ``jti``, ``nbf`` (= ``validFrom``, whole seconds), ``sub``."""
    valid_from = datetime.fromisoformat(credential["validFrom"])  # "…Z": aware, UTC
    if valid_from.microsecond:
        raise ValueError("validFrom must be whole seconds to equal nbf")
    nbf = int(valid_from.timestamp())
    claims: dict[str, Any] = {
        "iss": _issuer_id(credential),
        "jti": credential["id"],
        "nbf": nbf,
        "iat": nbf,
    }
    subject = credential["credentialSubject"]
    if isinstance(subject, dict) and "id" in subject:
        claims["sub"] = subject["id"]
    return claims


def sign(credential: dict[str, Any]) -> str:
    """VC-JWT as Open Badges 3.0 §8.2 specifies it: the credential is the payload, with the
    JWT claims mapped onto it, and again in ``vc`` (VC Data Model 1.1 verifiers); RS256."""
    return sign_jwt({**credential, **jwt_claims(credential), "vc": credential})


def verify(token: str) -> dict[str, Any]:
    """Verify a credential signed with this service's key; raises jwt.InvalidTokenError."""
    claims: dict[str, Any] = jwt.decode(
        token, signing_key().public_key(), algorithms=["RS256"], options={"verify_nbf": False}
    )
    return claims
