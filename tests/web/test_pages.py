"""Pages over HTTP (no browser): cookie sign-in, CSRF on forms and on API calls, CSP, language."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from app.api.deps import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE
from tests.factories import PASSWORD, csrf_of, id_number, make_institution, make_learner

API = "/api/v1"


def register(client: TestClient, engine: Any, username: str = "zhangsan", **over: str) -> Any:
    """Registration through the page, picking an institution from the list."""
    page = client.get("/register")
    assert page.status_code == 200
    form = {
        "csrf": csrf_of(page.text),
        "username": username,
        "password": PASSWORD,
        "real_name": "张三",
        "id_number": id_number(seq=321),
        "institution": make_institution(engine).code,
        **over,
    }
    return client.post("/register", data=form, follow_redirects=False)


def test_pages_send_a_strict_csp(client: TestClient) -> None:
    r = client.get("/login")
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    for part in (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "frame-ancestors 'none'",
        "img-src 'self' data: blob:",
    ):
        assert part in csp
    assert "unsafe-inline" not in csp
    assert "<style" not in r.text and " style=" not in r.text
    assert re.search(r"<script(?![^>]*(src=|application/json))", r.text) is None
    assert r.headers["x-content-type-options"] == "nosniff"


def test_register_signs_in_with_an_httponly_cookie(client: TestClient, engine: Any) -> None:
    r = register(client, engine)
    assert r.status_code == 303 and r.headers["location"] == "/consent"
    cookies = r.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith(SESSION_COOKIE + "="))
    csrf = next(c for c in cookies if c.startswith(CSRF_COOKIE + "="))
    assert "HttpOnly" in session and "SameSite=lax" in session
    assert "HttpOnly" not in csrf
    assert "Secure" not in session  # plain http in tests; https sets Secure
    page = client.get("/consent")
    assert page.status_code == 200 and "人脸信息处理说明" in page.text
    assert "180" in page.text  # evidence retention in days


def test_register_refuses_a_bad_id_number_in_words(client: TestClient, engine: Any) -> None:
    bad = id_number(seq=5)[:-1] + ("0" if id_number(seq=5)[-1] != "0" else "1")
    r = register(client, engine, id_number=bad)
    assert r.status_code == 422
    assert "身份证号码无效" in r.text and 'data-code="invalid_id_number"' in r.text


def test_form_post_without_csrf_is_refused(client: TestClient) -> None:
    client.get("/register")
    r = client.post(
        "/register",
        data={
            "username": "lisi",
            "password": PASSWORD,
            "real_name": "李四",
            "id_number": id_number(seq=9),
        },
    )
    assert r.status_code == 403 and r.json()["code"] == "csrf_failed"


def test_login_and_logout(client: TestClient, engine: Any) -> None:
    learner = make_learner(engine, make_institution(engine))
    page = client.get("/login")
    bad = client.post(
        "/login",
        data={
            "csrf": csrf_of(page.text),
            "username": learner.username,
            "password": "wrong-password",
        },
    )
    assert bad.status_code == 401 and "用户名或密码错误" in bad.text
    ok = client.post(
        "/login",
        data={"csrf": csrf_of(page.text), "username": learner.username, "password": PASSWORD},
        follow_redirects=False,
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/consent"
    my = client.get("/my")
    assert my.status_code == 200 and "我的课程" in my.text
    out = client.post("/logout", data={"csrf": csrf_of(my.text)}, follow_redirects=False)
    assert out.status_code == 303
    assert client.get("/my", follow_redirects=False).status_code == 303


def test_login_refuses_open_redirects(client: TestClient, engine: Any) -> None:
    learner = make_learner(engine, make_institution(engine))
    page = client.get("/login")
    r = client.post(
        "/login",
        data={
            "csrf": csrf_of(page.text),
            "username": learner.username,
            "password": PASSWORD,
            "next": "//evil.example/x",
        },
        follow_redirects=False,
    )
    assert r.headers["location"] in ("/my", "/consent")


def test_api_accepts_the_cookie_only_with_the_csrf_header(client: TestClient, engine: Any) -> None:
    register(client, engine)
    csrf = client.cookies[CSRF_COOKIE]
    # The cookie alone (what a cross-site request would carry) is not enough.
    r = client.get(f"{API}/me")
    assert r.status_code == 401
    r = client.post(f"{API}/me/consent", json={"biometric": True})
    assert r.status_code == 401
    # A header that does not match the CSRF cookie and the session.
    r = client.post(f"{API}/me/consent", json={"biometric": True}, headers={CSRF_HEADER: "x" * 43})
    assert r.status_code == 403 and r.json()["code"] == "csrf_failed"
    r = client.get(f"{API}/me", headers={CSRF_HEADER: "ü".encode("latin-1") * 10})
    assert r.status_code == 403
    # Header and cookie agree, but neither belongs to this session (a planted pair).
    client.cookies.set(CSRF_COOKIE, "a" * 43)
    r = client.get(f"{API}/me", headers={CSRF_HEADER: "a" * 43})
    assert r.status_code == 403
    client.cookies.set(CSRF_COOKIE, csrf)
    r = client.post(f"{API}/me/consent", json={"biometric": True}, headers={CSRF_HEADER: csrf})
    assert r.status_code == 200 and r.json()["biometric_consent"] is True
    assert client.get(f"{API}/me", headers={CSRF_HEADER: csrf}).json()["username"] == "zhangsan"


def test_bearer_tokens_are_unaffected(client: TestClient, engine: Any) -> None:
    from tests.factories import login

    learner = make_learner(engine, make_institution(engine))
    h = login(client, learner.username)
    assert client.get(f"{API}/me", headers=h).status_code == 200
    # A bad Authorization header is not rescued by a valid cookie.
    register(client, engine, username="wangwu", id_number=id_number(seq=654))
    csrf = client.cookies[CSRF_COOKIE]
    r = client.get(f"{API}/me", headers={"Authorization": "Bearer nope", CSRF_HEADER: csrf})
    assert r.status_code == 401
    r = client.get(f"{API}/me", headers={**h, CSRF_HEADER: csrf})
    assert r.json()["username"] == learner.username


def test_english_is_switchable_and_remembered(client: TestClient) -> None:
    r = client.get("/login?lang=en")
    assert 'lang="en"' in r.text and "Sign in" in r.text
    assert 'lang="en"' in client.get("/register").text
    assert 'lang="zh-CN"' in client.get("/login?lang=zh").text


def test_pages_are_not_in_the_openapi_schema(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not [
        p
        for p in paths
        if not p.startswith(
            ("/api/", "/xapi", "/.well-known", "/healthz", "/readyz", "/metrics", "/certificates")
        )
        # the documents a credential's verifier dereferences (issuer, key, status list, context)
        and not p.startswith(("/institutions/", "/keys/", "/credentials/"))
    ]


def test_a_template_of_an_older_model_sends_the_learner_to_re_enrol(
    client: TestClient, engine: Any
) -> None:
    """After the switch to SFace, a learner holding a dlib template is asked to re-enrol before
    the study page's check-in (the quiz page sends them to /face), and /my and /face say why
    (credit is kept)."""
    import numpy as np

    from app.accounts.models import User
    from app.accounts.principal import Principal
    from app.attendance import service as attendance
    from app.attendance.face import DLIB_IDENTITY
    from app.attendance.models import FaceTemplate, TemplateStatus
    from app.config import get_settings
    from app.courses import service as courses
    from app.db import transaction
    from tests.web.conftest import seed_course

    course_id, _ = seed_course(engine)
    learner = make_learner(engine, make_institution(engine))
    blob, digest = attendance._encode_embeddings(np.full((3, 128), 0.05, np.float32))
    with transaction(engine) as s:
        user = s.get(User, learner.id)
        assert user is not None
        user.biometric_consent = True
        user.consent_version = get_settings().consent_version
        s.add(
            FaceTemplate(
                user_id=learner.id,
                status=TemplateStatus.active,
                embeddings_enc=blob,
                embeddings_sha256=digest,
                n_embeddings=3,
                face_engine=DLIB_IDENTITY.engine,
                model_name=DLIB_IDENTITY.name,
                model_version=DLIB_IDENTITY.version,
                model_sha256=DLIB_IDENTITY.sha256,
            )
        )
        enrollment = courses.enrol(s, Principal.of_user(user), course_id)
    page = client.get("/login")
    client.post(
        "/login",
        data={"csrf": csrf_of(page.text), "username": learner.username, "password": PASSWORD},
    )
    study = client.get(f"/study/{enrollment.id}")
    assert 'id="reenrol-notice"' in study.text and 'id="checkin-panel"' not in study.text
    quiz = client.get(f"/quiz/{enrollment.id}", follow_redirects=False)
    assert quiz.status_code == 303 and quiz.headers["location"] == "/face"
    face = client.get("/face")
    assert 'data-reenrol="1"' in face.text and "人脸识别模型已升级" in face.text
    my = client.get("/my")
    assert 'id="reenrol-notice"' in my.text


def test_every_page_has_the_favicon(client: TestClient) -> None:
    """Every HTML document the app serves names the icon: the page templates with their own
    <head> (base.html and the public certificate check) and /docs."""
    from pathlib import Path

    import app.web

    templates = Path(app.web.__file__).parent / "templates"
    heads = [p for p in templates.glob("*.html") if "<head>" in p.read_text()]
    assert {p.name for p in heads} >= {"base.html", "certificate_verify.html"}
    link = '<link rel="icon" href="/static/favicon.svg"'
    for template in heads:
        assert link in template.read_text(), template.name
    for path in ("/login", "/docs", "/certificates/ST-NO-SUCH-SERIAL"):
        assert link in client.get(path).text, path
    icon = client.get("/static/favicon.svg")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
