"""The checks 1EdTech's Open Badges 3.0 JSON schema makes, and those of a VC-JWT (OB 3.0 §8.2).

The official schema (https://purl.imsglobal.org/spec/ob/v3p0/schema/json/
ob_v3p0_achievementcredential_schema.json, JSON Schema 2019-09) is published under the IMS
specification licence (https://www.imsglobal.org/speclicense.html), which grants use to registered
users but no right to redistribute, so it is not vendored here. These are its constraints for the
members our credentials use (required members, ``@context`` order, ``type`` containing the class
names, URI/DateTime formats, IdentityObject/Evidence/CredentialStatus shapes; other members stay
allowed, as in the official schema), written as JSON Schema 2019-09, plus OB 3.0 §8.2's JOSE
header and JWT payload rules. The equalities §8.2 demands between claims and credential members
(``iss`` = ``issuer.id`` …) are not expressible in JSON Schema: tests check them.
"""

from __future__ import annotations

from typing import Any

DRAFT = "https://json-schema.org/draft/2019-09/schema"
OB_CONTEXT_PATTERN = r"^https://purl\.imsglobal\.org/spec/ob/v3p0/context(-3\.\d\.\d)*\.json$"
IDENTIFIER_TYPES = [
    "name", "sourcedId", "systemId", "productId", "userName", "accountId", "emailAddress",
    "nationalIdentityNumber", "isbn", "issn", "lisSourcedId", "oneRosterSourcedId",
    "sisSourcedId", "ltiContextId", "ltiDeploymentId", "ltiToolId", "ltiPlatformId",
    "ltiUserId", "identifier",
]  # fmt: skip
ACHIEVEMENT_TYPES = [
    "Achievement", "ApprenticeshipCertificate", "Assessment", "Assignment", "AssociateDegree",
    "Award", "Badge", "BachelorDegree", "Certificate", "CertificateOfCompletion",
    "Certification", "CommunityService", "Competency", "Course", "CoCurricular", "Degree",
    "Diploma", "DoctoralDegree", "Fieldwork", "GeneralEducationDevelopment",
    "JourneymanCertificate", "LearningProgram", "License", "Membership",
    "ProfessionalDoctorate", "QualityAssuranceCredential", "MasterCertificate", "MasterDegree",
    "MicroCredential", "ResearchDoctorate", "SecondarySchoolDiploma",
]  # fmt: skip


def _typed(name: str) -> dict[str, Any]:
    """``type``: one IRI or an array of them, containing ``name``."""
    return {
        "oneOf": [
            {"type": "string", "const": name},
            {
                "type": "array",
                "minItems": 1,
                "items": {"type": "string"},
                "contains": {"const": name},
            },
        ]
    }


def _extensible(values: list[str]) -> dict[str, Any]:
    return {"anyOf": [{"enum": values}, {"type": "string", "pattern": "(ext:)[a-zA-Z0-9.\\-_]+"}]}


URI = {"type": "string", "format": "uri"}
DATETIME = {"type": "string", "format": "date-time"}
CONTEXT = {"anyOf": [{"type": "string", "format": "uri"}, {"type": "object"}]}

PROFILE: dict[str, Any] = {
    "type": "object",
    "required": ["id", "type"],
    "properties": {
        "id": URI,
        "type": _typed("Profile"),
        "name": {"type": "string"},
        "url": URI,
        "otherIdentifier": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["type", "identifier", "identifierType"],
                "properties": {
                    "type": {"const": "IdentifierEntry"},
                    "identifier": {"type": "string"},
                    "identifierType": _extensible(IDENTIFIER_TYPES),
                },
            },
        },
    },
}

ACHIEVEMENT: dict[str, Any] = {
    "type": "object",
    "required": ["id", "type", "criteria", "description", "name"],
    "properties": {
        "id": URI,
        "type": _typed("Achievement"),
        "achievementType": _extensible(ACHIEVEMENT_TYPES),
        "criteria": {
            "type": "object",
            "anyOf": [{"required": ["id"]}, {"required": ["narrative"]}],
            "properties": {"id": URI, "narrative": {"type": "string"}},
        },
        "description": {"type": "string"},
        "name": {"type": "string"},
        "fieldOfStudy": {"type": "string"},
        "humanCode": {"type": "string"},
        "specialization": {"type": "string"},
    },
}

ACHIEVEMENT_CREDENTIAL: dict[str, Any] = {
    "$schema": DRAFT,
    "type": "object",
    "required": ["@context", "id", "type", "name", "issuer", "validFrom", "credentialSubject"],
    "properties": {
        "@context": {
            "type": "array",
            "minItems": 2,
            "items": [
                {"const": "https://www.w3.org/ns/credentials/v2"},
                {"type": "string", "pattern": OB_CONTEXT_PATTERN},
            ],
            "additionalItems": CONTEXT,
        },
        "id": URI,
        "type": {
            "type": "array",
            "items": {"type": "string"},
            "allOf": [
                {"contains": {"const": "VerifiableCredential"}},
                {"contains": {"enum": ["AchievementCredential", "OpenBadgeCredential"]}},
            ],
        },
        "name": {"type": "string"},
        "issuer": {"anyOf": [URI, PROFILE]},
        "validFrom": DATETIME,
        "validUntil": DATETIME,
        "awardedDate": DATETIME,
        "credentialSubject": {
            "type": "object",
            "required": ["type", "achievement"],
            "properties": {
                "id": URI,
                "type": _typed("AchievementSubject"),
                "achievement": ACHIEVEMENT,
                "identifier": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["type", "identityHash", "identityType", "hashed"],
                        "properties": {
                            "type": {"const": "IdentityObject"},
                            "hashed": {"type": "boolean"},
                            "identityHash": {"type": "string"},
                            "identityType": _extensible(IDENTIFIER_TYPES),
                            "salt": {"type": "string"},
                        },
                    },
                },
            },
        },
        "credentialStatus": {
            "type": "object",
            "required": ["id", "type"],
            "properties": {"id": URI, "type": {"type": "string"}},
        },
        "evidence": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["type"],
                "properties": {"id": URI, "type": _typed("Evidence"), "name": {"type": "string"}},
            },
        },
    },
}

#: OB 3.0 §8.2.4: the JWT payload is the credential with these claims (NumericDate, URI).
VC_JWT_PAYLOAD: dict[str, Any] = {
    "$schema": DRAFT,
    "allOf": [
        ACHIEVEMENT_CREDENTIAL,
        {
            "type": "object",
            "required": ["iss", "jti", "nbf", "sub"],
            "properties": {
                "iss": URI,
                "jti": URI,
                "sub": URI,
                "nbf": {"type": "integer", "minimum": 0},
                "exp": {"type": "integer", "minimum": 0},
            },
        },
    ],
}

#: OB 3.0 §8.2.3: alg RS256 (the interoperable minimum), a ``kid`` URI or a ``jwk``, ``typ``
#: JWT if present; "Additional JOSE Headers are NOT allowed".
JOSE_HEADER: dict[str, Any] = {
    "$schema": DRAFT,
    "type": "object",
    "required": ["alg"],
    "anyOf": [{"required": ["kid"]}, {"required": ["jwk"]}],
    "properties": {
        "alg": {"const": "RS256"},
        "kid": URI,
        "jwk": {"type": "object", "not": {"required": ["d"]}},
        "typ": {"const": "JWT"},
    },
    "additionalProperties": False,
}

PROFILE_DOCUMENT: dict[str, Any] = {
    "$schema": DRAFT,
    "allOf": [PROFILE, {"required": ["@context"]}],
}
