"""The signed credential: an Open Badges 3.0 ``OpenBadgeCredential`` as a VC-JWT (RS256).

RS256 is the Open Badges 3.0 interoperability minimum. The RSA key is read from the setting
``credential_signing_key_pem`` or generated into ``data_dir/keys`` on first use (like the audit
key, app/audit/signing.py); its RFC 7638 thumbprint is the ``kid`` and its public half is listed
at ``/.well-known/jwks.json``. The learner appears only as a salted SHA-256 ``identityHash`` of
the ID number (Open Badges ``IdentityObject``): whoever is shown the ID number can check it, the
credential never carries it.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime
from functools import lru_cache
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import (
    RSAPrivateKey,
    RSAPublicKey,
    generate_private_key,
)

from app.audit.service import format_time
from app.certificates.models import Certificate
from app.config import Settings, get_settings
from app.courses.models import LEVEL_NAMES_ZH
from app.keys import load_or_create_private_key

KEY_FILE = "credential-rsa.pem"
KEY_BITS = 3072
CONTEXT = [
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
]


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _int_b64u(n: int) -> str:
    return _b64u(n.to_bytes((n.bit_length() + 7) // 8, "big"))


def public_jwk(key: RSAPublicKey) -> dict[str, str]:
    numbers = key.public_numbers()
    jwk = {"e": _int_b64u(numbers.e), "kty": "RSA", "n": _int_b64u(numbers.n)}
    thumb = json.dumps(jwk, sort_keys=True, separators=(",", ":")).encode()
    return {**jwk, "kid": _b64u(hashlib.sha256(thumb).digest()), "use": "sig", "alg": "RS256"}


def _key_pem(settings: Settings) -> str:
    return settings.credential_signing_key_pem


def _load_or_create(settings: Settings) -> RSAPrivateKey:
    key = load_or_create_private_key(
        _key_pem(settings),
        settings.data_dir / "keys" / KEY_FILE,
        lambda: generate_private_key(public_exponent=65537, key_size=KEY_BITS),
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
    issued = format_time(cert.issued_at)
    return {
        "@context": CONTEXT,
        "id": f"urn:uuid:{cert.id}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {
            "id": f"{base}/institutions/{cert.institution_id}",
            "type": ["Profile"],
            "name": institution_name,
        },
        "validFrom": issued,
        "awardedDate": issued,
        "name": f"{cert.course_title} 培训合格证明",
        "credentialSubject": {
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
            "training": {
                "serial": cert.serial,
                "occupationCode": cert.occupation_code,
                "occupationName": cert.occupation_name,
                "level": cert.level.value,
                "levelName": level_zh,
                "verifiedMinutes": cert.credited_minutes,
                "verifiedHours": hours(cert.credited_minutes),
                "quizScore": cert.quiz_score,
                "rollCallsTotal": cert.rollcalls_total,
                "rollCallsPassed": cert.rollcalls_passed,
            },
        },
        "evidence": [
            {
                "id": verify_url(cert.serial),
                "type": ["Evidence"],
                "name": "在线核验 / Online verification",
            }
        ],
    }


def sign(credential: dict[str, Any], issued_at: datetime) -> str:
    """VC-JWT as Open Badges 3.0 specifies it: the credential in ``vc``, RS256, ``kid``."""
    key = signing_key()
    kid = public_jwk(key.public_key())["kid"]
    subject = credential["credentialSubject"]["identifier"][0]["identityHash"]
    claims = {
        "iss": credential["issuer"]["id"],
        "jti": credential["id"],
        "sub": subject,
        "nbf": int(issued_at.timestamp()),
        "iat": int(issued_at.timestamp()),
        "vc": credential,
    }
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid, "typ": "JWT"})


def verify(token: str) -> dict[str, Any]:
    """Verify a credential signed with this service's key; raises jwt.InvalidTokenError."""
    claims: dict[str, Any] = jwt.decode(
        token, signing_key().public_key(), algorithms=["RS256"], options={"verify_nbf": False}
    )
    return claims
