"""The credential as a verifier outside sees it (OB 3.0 §8, VC Data Model 2.0, Bitstring Status
List v1.0): every document it names is fetched over HTTP, signatures are checked with joserfc
(never our own code), the payload against the OB 3.0 schema's checks (tests/certificates/
ob3_schema.py), and a revoked credential reads as revoked from the public status list alone."""

from __future__ import annotations

import base64
import gzip
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import jsonschema_rs
from joserfc import jwt
from joserfc.jwk import RSAKey

from app.accounts.models import Role
from app.config import get_settings
from app.courses.models import SessionState, StudySession
from app.db import transaction
from tests.certificates import ob3_schema
from tests.factories import (
    course_row,
    enrollment_row,
    login,
    make_institution,
    make_learner,
    make_user,
)


def _b64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _get(client: Any, url: str) -> Any:
    """Dereference an absolute URL the credential names (the app is the only server here)."""
    parts = urlsplit(url)
    assert parts.scheme in ("http", "https") and parts.netloc, url
    return client.get(parts.path + (f"?{parts.query}" if parts.query else ""))


def _verify(client: Any, token: str) -> dict[str, Any]:
    """OB 3.0 §8.2.5: dereference ``kid`` to a JWK, check the signature with it (joserfc)."""
    header = json.loads(_b64(token.split(".")[0]))
    r = _get(client, header["kid"])
    assert r.status_code == 200, r.text
    jwk = r.json()
    assert "d" not in jwk and jwk["kid"] == header["kid"]
    claims: dict[str, Any] = jwt.decode(token, RSAKey.import_key(jwk), algorithms=["RS256"]).claims
    return claims


def _errors(schema: dict[str, Any], instance: Any) -> list[str]:
    validator = jsonschema_rs.validator_for(schema, validate_formats=True)
    return [f"{e.instance_path}: {e.message}" for e in validator.iter_errors(instance)]


def _issue(
    client: Any, engine: Any, inst: Any, learner: Any, title: str = "养老护理员（中级）"
) -> Any:
    course = course_row(engine, inst, title=title, occupation_name="养老护理员")
    enrollment = enrollment_row(engine, learner, course, minutes=125, quiz=88, rollcalls=(9, 10))
    h = login(client, learner.username)
    r = client.post(f"/api/v1/enrollments/{enrollment.id}/certificate", headers=h)
    assert r.status_code == 201, r.text
    return enrollment, r.json()


def _unix(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def test_the_payload_is_a_vc_jwt_per_ob3_section_8(client: Any, engine: Any, clock: Any) -> None:
    clock.advance(microseconds=654_321)  # validFrom must still equal nbf exactly
    inst = make_institution(engine, code="SHJN")
    learner = make_learner(engine, inst)
    _, issued = _issue(client, engine, inst, learner)
    token = issued["credential_jwt"]

    header = json.loads(_b64(token.split(".")[0]))
    assert _errors(ob3_schema.JOSE_HEADER, header) == []
    assert header["kid"].startswith(
        get_settings().base_url + "/"
    )  # an absolute URL that resolves to the key
    jwks = client.get("/.well-known/jwks.json").json()
    assert header["kid"] in {k["kid"] for k in jwks["keys"]}

    payload = _verify(client, token)
    assert _errors(ob3_schema.VC_JWT_PAYLOAD, payload) == []
    # §8.2.4: the claims are the credential's own members.
    assert payload["iss"] == payload["issuer"]["id"]
    assert payload["jti"] == payload["id"]
    assert payload["sub"] == payload["credentialSubject"]["id"]
    assert payload["nbf"] == _unix(payload["validFrom"])
    assert payload["validFrom"] == "2026-01-05T01:00:00Z"
    # VC Data Model 1.1 verifiers read the same credential from ``vc``.
    vc = payload["vc"]
    assert _errors(ob3_schema.ACHIEVEMENT_CREDENTIAL, vc) == []
    assert vc == {k: payload[k] for k in vc}


def test_the_subject_is_a_stable_uri_per_learner(client: Any, engine: Any, clock: Any) -> None:
    inst = make_institution(engine)
    learner, other = make_learner(engine, inst), make_learner(engine, inst)
    subjects = []
    for who, title in ((learner, "课程一"), (learner, "课程二"), (other, "课程一")):
        _, issued = _issue(client, engine, inst, who, title=title)
        claims = _verify(client, issued["credential_jwt"])
        subject = claims["credentialSubject"]
        assert claims["sub"] == subject["id"]
        uuid.UUID(subject["id"].removeprefix("urn:uuid:"))
        assert "sha256$" not in subject["id"] and str(who.id) not in json.dumps(claims)
        # The salted hash stays for identity matching.
        assert subject["identifier"][0]["identityHash"].startswith("sha256$")
        subjects.append(subject["id"])
    assert subjects[0] == subjects[1] != subjects[2]


def test_the_issuer_id_resolves_to_its_profile(client: Any, engine: Any, clock: Any) -> None:
    inst = make_institution(engine, code="SHJN")
    _, issued = _issue(client, engine, inst, make_learner(engine, inst))
    issuer = _verify(client, issued["credential_jwt"])["issuer"]
    r = _get(client, issuer["id"])
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/ld+json")
    profile = r.json()
    assert _errors(ob3_schema.PROFILE_DOCUMENT, profile) == []
    assert profile["id"] == issuer["id"] and profile["name"] == issuer["name"] == inst.name
    assert profile["type"] == ["Profile"]
    assert "SHJN" in json.dumps(profile)

    missing = client.get(f"/institutions/{uuid.uuid4()}")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert missing.json()["code"] == "institution_not_found"
    assert client.get("/institutions/not-a-uuid").status_code == 422


def test_training_terms_are_defined_by_a_published_context(
    client: Any, engine: Any, clock: Any
) -> None:
    inst = make_institution(engine)
    learner = make_learner(engine, inst)
    course = course_row(engine, inst, title="电工（初级）", occupation_name="电工")
    enrollment = enrollment_row(engine, learner, course, minutes=125)
    first = datetime(2026, 1, 2, 1, 30, tzinfo=UTC)
    with transaction(engine) as s:
        for start, hours in ((first, 1), (first + timedelta(days=2), 2)):
            s.add(
                StudySession(
                    enrollment_id=enrollment.id,
                    user_id=learner.id,
                    state=SessionState.ended,
                    checkin_event_id=uuid.uuid4(),
                    started_at=start,
                    segment_started_at=start,
                    ended_at=start + timedelta(hours=hours, microseconds=5),
                )
            )
    h = login(client, learner.username)
    r = client.post(f"/api/v1/enrollments/{enrollment.id}/certificate", headers=h)
    assert r.status_code == 201, r.text
    claims = _verify(client, r.json()["credential_jwt"])
    training = claims["credentialSubject"]["training"]
    assert training["studyStartedAt"] == "2026-01-02T01:30:00Z"
    assert training["studyEndedAt"] == "2026-01-04T03:30:00Z"
    assert training["verifiedMinutes"] == 125 and training["verifiedHours"] == 2.1

    [own] = [c for c in claims["@context"] if "purl.imsglobal.org" not in c and "w3.org" not in c]
    doc = _get(client, own)
    assert doc.status_code == 200
    assert doc.headers["content-type"].startswith("application/ld+json")
    context = doc.json()["@context"]
    assert context["training"]["@id"].startswith("http")
    assert training["type"] in context
    terms = context["training"]["@context"]
    assert set(training) - {"type"} <= set(terms), "every training member is a defined term"
    for term in set(training) - {"type"}:
        assert terms[term]["@id"].startswith("http"), term


def _status_bit(client: Any, entry: dict[str, Any]) -> bool:
    """Bitstring Status List v1.0 §3.2, as a verifier does it, from public documents only."""
    assert entry["type"] == "BitstringStatusListEntry"
    assert entry["statusPurpose"] == "revocation"
    r = _get(client, entry["statusListCredential"])
    assert r.status_code == 200, r.text
    status = _verify(client, r.text)  # signed with the key the credential's kid names
    assert "BitstringStatusListCredential" in status["type"]
    assert status["id"] == entry["statusListCredential"]
    subject = status["credentialSubject"]
    assert subject["type"] == "BitstringStatusList"
    assert subject["statusPurpose"] == entry["statusPurpose"]
    encoded = subject["encodedList"]
    assert encoded.startswith("u")  # multibase base64url, no padding
    bits = gzip.decompress(_b64(encoded[1:]))
    assert len(bits) >= 16 * 1024  # herd privacy: at least 131,072 entries
    index = int(entry["statusListIndex"])
    return bool(bits[index // 8] >> (7 - index % 8) & 1)


def test_a_revoked_credential_reads_revoked_from_the_status_list(
    client: Any, engine: Any, clock: Any
) -> None:
    inst = make_institution(engine)
    staff = login(client, make_user(engine, Role.staff, inst).username)
    issued = [_issue(client, engine, inst, make_learner(engine, inst))[1] for _ in range(3)]
    claims = [_verify(client, i["credential_jwt"]) for i in issued]
    entries = [c["credentialStatus"] for c in claims]
    assert len({e["statusListIndex"] for e in entries}) == 3
    assert all(
        e["statusListCredential"].startswith(c["issuer"]["id"])
        for e, c in zip(entries, claims, strict=True)
    )
    assert [_status_bit(client, e) for e in entries] == [False, False, False]

    r = client.post(
        f"/api/v1/certificates/{issued[1]['serial']}/revoke",
        json={"reason": "材料造假"},
        headers=staff,
    )
    assert r.status_code == 200, r.text
    assert [_status_bit(client, e) for e in entries] == [False, True, False]


def test_unknown_keys_and_lists_are_404(client: Any, engine: Any, clock: Any) -> None:
    inst = make_institution(engine)
    _, issued = _issue(client, engine, inst, make_learner(engine, inst))
    entry = _verify(client, issued["credential_jwt"])["credentialStatus"]
    url = entry["statusListCredential"]
    other = _get(client, url.rsplit("/", 1)[0] + "/1")
    assert other.status_code == 404 and other.json()["code"] == "status_list_not_found"
    foreign = client.get(f"/institutions/{uuid.uuid4()}/status-lists/0")
    assert foreign.status_code == 404
    key = client.get("/keys/" + "A" * 43)
    assert key.status_code == 404 and key.json()["code"] == "key_not_found"


PUBLIC_DOCUMENTS = [
    "/institutions/{institution_id}",
    "/institutions/{institution_id}/status-lists/{status_list}",
    "/keys/{thumbprint}",
    "/credentials/context/v1.jsonld",
]


def test_public_documents_declare_public_access_once() -> None:
    from fastapi.routing import APIRoute, iter_route_contexts

    from app.api.deps import route_access
    from app.main import create_app

    app = create_app()
    declared = {
        r.path: route_access(r.dependant)
        for r in iter_route_contexts(app.routes)
        if isinstance(r.original_route, APIRoute) and r.path in PUBLIC_DOCUMENTS
    }
    assert sorted(declared) == sorted(PUBLIC_DOCUMENTS)
    doc = app.openapi()
    for path, access in declared.items():
        assert [a.kind for a in access] == ["public"], path
        assert doc["paths"][path]["get"]["security"] == [], path
