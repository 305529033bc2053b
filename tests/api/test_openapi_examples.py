"""Every OpenAPI operation carries realistic request and response examples (issue 18 item 10).

Counted per media type: a JSON or text body has an example either on the media type or on the
component schema it references. Binary bodies (images, PDF, XLSX, multipart) and the HTML pages
are described by their schema instead. Every example must validate against its schema, problem
examples must be the codes the response documents, and the identity data in them must be real
(a GB 11643 ID number with the right check character, a 《职业分类大典》 code).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import jsonschema_rs
import pytest

from app.accounts.idcard import parse as parse_id_number
from app.main import create_app
from app.programmes.creditcode import normalise as normalise_credit_code

_METHODS = ("get", "head", "post", "put", "patch", "delete")
_ID_NUMBER = re.compile(r"^\d{17}[\dX]$")
_OCCUPATION = re.compile(r"^\d-\d{2}-\d{2}-\d{2}$")


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return create_app().openapi()


def _media(spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, media type object) for every request body and response body."""
    for path, item in spec["paths"].items():
        for method in _METHODS:
            op = item.get(method)
            if op is None:
                continue
            for ct, media in op.get("requestBody", {}).get("content", {}).items():
                yield f"{method.upper()} {path} request {ct}", media
            for status, response in op.get("responses", {}).items():
                for ct, media in response.get("content", {}).items():
                    yield f"{method.upper()} {path} {status} {ct}", media


def _component(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref", "")
    return spec["components"]["schemas"][ref.rsplit("/", 1)[-1]] if ref else schema


def _is_described_only(where: str, media: dict[str, Any]) -> bool:
    """Bytes and pages: a schema saying what they are stands in for an example."""
    schema = media.get("schema", {})
    return schema.get("format") == "binary" or where.endswith("text/html")


def _examples_of(spec: dict[str, Any], media: dict[str, Any]) -> list[Any]:
    if "example" in media:
        return [media["example"]]
    if "examples" in media:
        return [e["value"] for e in media["examples"].values()]
    return list(_component(spec, media.get("schema", {})).get("examples", []))


def _validator(spec: dict[str, Any], schema: dict[str, Any]) -> Any:
    wrapped = {"components": spec["components"], **schema}
    return jsonschema_rs.Draft202012Validator(wrapped)


def test_every_operation_has_request_and_response_examples(spec: dict[str, Any]) -> None:
    operations = sum(1 for item in spec["paths"].values() for m in _METHODS if m in item)
    counted, described, missing = 0, 0, []
    for where, media in _media(spec):
        if _is_described_only(where, media):
            assert media.get("schema"), f"{where}: no schema says what the bytes are"
            described += 1
        elif _examples_of(spec, media):
            counted += 1
        else:
            missing.append(where)
    assert missing == [], f"{len(missing)} bodies without an example:\n" + "\n".join(missing)
    assert operations >= 87 and counted > 5 * operations, (operations, counted, described)


def test_every_component_schema_has_an_example(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    assert len(schemas) >= 100
    assert [name for name, s in schemas.items() if not s.get("examples")] == []


def test_every_example_validates_against_its_schema(spec: dict[str, Any]) -> None:
    checked, errors = 0, []
    for name, schema in spec["components"]["schemas"].items():
        validator = _validator(spec, {"$ref": f"#/components/schemas/{name}"})
        for example in schema.get("examples", []):
            checked += 1
            errors += [f"{name}: {e}" for e in validator.iter_errors(example)]
    for where, media in _media(spec):
        if _is_described_only(where, media) or "schema" not in media:
            continue
        validator = _validator(spec, media["schema"])
        own = [media["example"]] if "example" in media else []
        own += [e["value"] for e in media.get("examples", {}).values()]
        for example in own:
            checked += 1
            errors += [f"{where}: {e}" for e in validator.iter_errors(example)]
    assert errors == [], "\n".join(errors[:30])
    assert checked > 500


def test_problem_examples_are_the_documented_codes(spec: dict[str, Any]) -> None:
    for path, item in spec["paths"].items():
        for method in _METHODS:
            for status, response in item.get(method, {}).get("responses", {}).items():
                media = response.get("content", {}).get("application/problem+json")
                if media is None:
                    continue
                codes = media["schema"]["properties"]["code"]["enum"]
                examples = media["examples"]
                assert sorted(examples) == sorted(codes), (method, path, status)
                for code, example in examples.items():
                    assert example["value"]["code"] == code
                    assert example["value"]["status"] == int(status), (method, path, code)
                    assert example["value"]["type"].endswith("/" + code)


def _strings(value: Any) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            if isinstance(inner, str):
                yield key, inner
            else:
                yield from _strings(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _strings(inner)


def test_examples_carry_real_identity_data(spec: dict[str, Any]) -> None:
    ids, occupations, credit_codes = 0, 0, 0
    for schema in spec["components"]["schemas"].values():
        for key, text in _strings(schema.get("examples", [])):
            if key == "id_number":
                assert _ID_NUMBER.match(text) and parse_id_number(text), text
                ids += 1
            if key == "occupation_code":
                assert _OCCUPATION.match(text), text
                occupations += 1
            if key == "credit_code":  # 统一社会信用代码 with its GB 32100 check character
                assert normalise_credit_code(text) == text
                credit_codes += 1
    assert ids >= 2 and occupations >= 4 and credit_codes >= 2
    # Masked numbers in examples are masked the way the API masks them.
    masked = {
        t
        for s in spec["components"]["schemas"].values()
        for k, t in _strings(s.get("examples", []))
    }
    assert not any(_ID_NUMBER.match(t) for t in masked if "masked" in t)


def test_health_and_keys_document_their_errors(spec: dict[str, Any]) -> None:
    for path in ("/healthz", "/.well-known/jwks.json"):
        responses = spec["paths"][path]["get"]["responses"]
        assert "500" in responses, path
        assert responses["500"]["content"]["application/problem+json"]["examples"]
    page = spec["paths"]["/certificates/{serial}"]["get"]["responses"]["404"]
    assert "by design" in page["description"] and "text/html" in page["content"]
    jwks = spec["paths"]["/.well-known/jwks.json"]["get"]["responses"]["200"]
    keys = jwks["content"]["application/json"]["example"]["keys"]
    assert {k["kty"] for k in keys} == {"OKP", "RSA"}
    json.dumps(spec)  # the whole document, examples included, is plain JSON
