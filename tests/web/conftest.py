"""Browser tests: a real uvicorn server on a free port, Debian's Chromium driven by Playwright,
and a fake camera playing an MJPEG file made at test time.

Browser tests skip (with the reason) when Chromium or Playwright is missing, unless
``SKILLTRACE_REQUIRE_BROWSER=1`` (CI): then they fail.
"""

from __future__ import annotations

import importlib.util
import io
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
REQUIRE_BROWSER = os.environ.get("SKILLTRACE_REQUIRE_BROWSER") == "1"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
FACE_TIMEOUT_MS = 60_000
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives Chromium with Playwright (fake camera)")
    config.addinivalue_line(
        "markers",
        "face_pool: the live server analyses frames in a face worker (streamed frames while they "
        "arrive, as in production) instead of at submit in the request's thread",
    )


def _missing() -> str | None:
    if importlib.util.find_spec("playwright") is None:
        return "Playwright for Python is not installed (pip install playwright)"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    return None


def require_browser() -> None:
    why = _missing()
    if why is None:
        return
    if REQUIRE_BROWSER:
        pytest.fail(f"SKILLTRACE_REQUIRE_BROWSER=1 but {why}", pytrace=False)
    pytest.skip(why)


def pdf_text(data: bytes) -> str:
    """The text of a PDF, whitespace removed (pypdf puts NULs and spaces between the two-byte
    CID glyphs of the embedded CJK font; the characters themselves are right)."""
    import pypdf

    reader = pypdf.PdfReader(io.BytesIO(data))
    return re.sub(r"[\s\x00]+", "", "".join(p.extract_text() for p in reader.pages))


#: Recorded before any page script runs: CSP violations would otherwise only reach the console.
WATCH_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`);
});
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def blink_challenges(monkeypatch: pytest.MonkeyPatch) -> None:
    """Test-only: every check asks for a blink (the clip's blinks are what we can rely on).

    The server reveals random actions at random moments; a camera file cannot follow them (it
    is a replay, which is what the protocol stops). The streamed checks are configured to one
    blink (``face_stream_actions``/``face_stream_reveals``, settings an operator has too); any
    burst challenge is wrapped to ask for a blink. Both only for this test's server.
    """
    from app.attendance import service as attendance
    from app.config import get_settings

    monkeypatch.setenv("SKILLTRACE_FACE_STREAM_ACTIONS", "blink")
    monkeypatch.setenv("SKILLTRACE_FACE_STREAM_REVEALS", "1")
    # Chromium's fake camera on a busy 2-core CI machine delivers frames unevenly: the
    # frame-rate bounds are for live webcams, not for what these tests look at.
    monkeypatch.setenv("SKILLTRACE_FACE_STREAM_MIN_FPS", "1")
    monkeypatch.setenv("SKILLTRACE_FACE_STREAM_MAX_GAP_S", "6")
    get_settings.cache_clear()

    original = attendance.create_challenge

    def blink_only(session: Any, user: Any, **kw: Any) -> Any:
        challenge = original(session, user, **kw)
        challenge.actions = ["blink"]
        session.add(challenge)
        session.flush()
        return challenge

    monkeypatch.setattr(attendance, "create_challenge", blink_only)


@pytest.fixture
def live_server(
    request: pytest.FixtureRequest, app_env: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """The app under uvicorn in a thread, on the test database, with the real clock.

    Its public address is the server's own, so the addresses it prints (the certificate's QR
    code and verification link) lead back to it. Marked ``face_pool``, the server has one face
    worker: each streamed frame is analysed as it arrives, so the answer comes ~1 s after the
    last frame instead of 5-15 s (all at submit, in-process); worth its start-up (~3-6 s) in
    tests that run many streamed checks."""
    require_browser()
    import uvicorn

    from app.config import get_settings
    from app.main import create_app

    port = _free_port()
    monkeypatch.setenv("SKILLTRACE_PUBLIC_BASE_URL", f"http://127.0.0.1:{port}")
    if request.node.get_closest_marker("face_pool"):
        monkeypatch.setenv("SKILLTRACE_FACE_WORKERS", "1")
    get_settings.cache_clear()
    config = uvicorn.Config(
        create_app(), host="127.0.0.1", port=port, log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=15)


@dataclass
class Browsing:
    """A Chromium page on the live server (1280 × 900, zh-CN, CSP violations recorded in
    ``window.__csp``) and every uncaught script error and console error it has seen."""

    page: Any
    base: str
    errors: list[str] = field(default_factory=list)

    def sign_in(self, username: str) -> None:
        """Sign in afresh (the previous user's cookies cleared) with the test password."""
        from tests.factories import PASSWORD

        self.page.context.clear_cookies()
        self.page.goto(f"{self.base}/login")
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", PASSWORD)
        self.page.click("button[type=submit]")
        self.page.wait_for_load_state()

    def csp_violations(self) -> list[str]:
        return list(self.page.evaluate("window.__csp"))


@pytest.fixture
def browsing(live_server: str) -> Iterator[Browsing]:
    """A desktop page on the live server, watched for script, console and CSP errors."""
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        context.add_init_script(WATCH_CSP)
        page = context.new_page()
        page.set_default_timeout(20_000)
        seen = Browsing(page, live_server)
        page.on("pageerror", lambda e: seen.errors.append(str(e)))
        page.on("console", lambda m: seen.errors.append(m.text) if m.type == "error" else None)
        yield seen
        browser.close()


@contextmanager
def built_at(clock: Any, moment: datetime) -> Iterator[None]:
    """Build a test's data at a frozen ``moment`` (the ``clock`` fixture); afterwards the clock
    is the real one again, which the live server's requests run on."""
    from app import clock as clock_mod

    clock.set(moment)
    yield
    clock_mod.set_clock(clock_mod.Clock())


@dataclass
class ShenzhenWorld:
    """What the regulators' browser tests start from: 南山区职业技能培训学校 (in the demo
    province's regions) with one staff member, and 深圳市's regulator (jurisdiction 440300)."""

    inst: Any
    staff: Any
    regulator: Any


def shenzhen_world(engine: Any, *, staff_username: str | None = None) -> ShenzhenWorld:
    from app.accounts.models import Role
    from tests.factories import make_institution, make_user

    inst = make_institution(engine, region="440305", name="南山区职业技能培训学校")
    named = {"username": staff_username} if staff_username else {}
    staff = make_user(engine, Role.staff, inst, **named)
    regulator = make_user(engine, Role.regulator, jurisdiction="440300")
    return ShenzhenWorld(inst, staff, regulator)


@pytest.fixture
def launch_browser() -> Iterator[Callable[[Path], Any]]:
    """Start Chromium with a given fake-camera file; closed at the end of the test."""
    require_browser()
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    browsers: list[Any] = []

    def launch(camera: Path) -> Any:
        b = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[*CHROMIUM_FLAGS, f"--use-file-for-fake-video-capture={camera}"],
        )
        browsers.append(b)
        return b

    yield launch
    for b in browsers:
        b.close()
    pw.stop()


def hold_camera(browser_or_context: Any, base: str) -> None:
    """Keep the camera open in a tab of its own for the whole test (in a context of its own
    when given a browser), as a real camera behaves across the checks of a page.

    Chromium restarts a file-backed fake camera from its first frame whenever it is opened
    afresh (the study page closes the camera after each check and opens it for the next), so a
    later check would film the frames an earlier one sent: the page skips a picture it sent
    before (the server rightly refuses it as a replay) and, in the overlap, sends 2-7 frames a
    second instead of 12 (measured on the roll-call test). A real camera never repeats bytes; a
    camera held open keeps the file playing on instead. The tab needs a page of the live server
    (``about:blank`` is not a secure context: no camera there).
    """
    holder = browser_or_context.new_page()
    holder.goto(f"{base}/login")
    holder.evaluate(
        """async () => { window.held = await navigator.mediaDevices.getUserMedia({
        audio: false,
        video: { facingMode: "user", width: { ideal: 640 }, height: { ideal: 480 } } }); }"""
    )


@dataclass
class Camera:
    """The live server, and Chromium whose fake camera plays the enrolled learner blinking
    (``fakecam.blinking_learner``) while every face check asks for a blink
    (:func:`blink_challenges`): the start of the browser tests that pass real face checks."""

    base: str
    launch: Callable[[Path], Any]
    tmp_path: Path

    def browser(self, seconds: int, file: str = "learner.mjpeg", **kw: Any) -> Any:
        """Chromium whose camera plays ``seconds`` of the learner (long enough not to loop)."""
        from tests.web.fakecam import blinking_learner

        return self.launch(blinking_learner(self.tmp_path / file, seconds=seconds, **kw))

    def hold(self, context: Any) -> None:
        """Keep the camera open in a tab of the context for the whole test
        (:func:`hold_camera`)."""
        hold_camera(context, self.base)

    def learner_page(self, username: str, *, seconds: int) -> tuple[Any, list[str]]:
        """A desktop page (1280 × 860, zh-CN) in a browser of its own, signed in as the learner
        (on /my), and the script and console errors it sees (:func:`watch_errors`)."""
        page = self.browser(seconds).new_page(
            viewport={"width": 1280, "height": 860}, locale="zh-CN"
        )
        page.set_default_timeout(30_000)
        hold_camera(page.context.browser, self.base)
        errors = watch_errors(page)
        signs_in(page, self.base, username)
        return page, errors


@pytest.fixture
def camera(
    live_server: str,
    launch_browser: Callable[[Path], Any],
    blink_challenges: None,
    tmp_path: Path,
) -> Camera:
    return Camera(live_server, launch_browser, tmp_path)


class Shots:
    """Screenshots of a page at desktop (1280 px) and phone (360 px) width.

    At phone width it also measures how wide the page's content is (``scroll_widths``, and the
    call's return value): anything above 360 means the page scrolls sideways on a phone."""

    PHONE = {"width": 360, "height": 740}

    def __init__(self, page: Any, prefix: str) -> None:
        self.page = page
        self.prefix = prefix
        self.scroll_widths: dict[str, int] = {}
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def __call__(self, name: str, *, phone: bool = True) -> int | None:
        self.page.screenshot(path=SCREENSHOTS / f"{self.prefix}-{name}-desktop.png")
        if not phone:
            return None
        size = self.page.viewport_size
        self.page.set_viewport_size(self.PHONE)
        width = int(self.page.evaluate("document.documentElement.scrollWidth"))
        self.scroll_widths[name] = width
        self.page.screenshot(path=SCREENSHOTS / f"{self.prefix}-{name}-phone.png", full_page=True)
        self.page.set_viewport_size(size)
        return width


def wait_for_preview(page: Any, panel: str) -> None:
    """Wait until a face-check panel's camera preview shows frames (or the panel has said there
    is no camera): a condition, not a pause, so a busy machine only makes it slower."""
    page.wait_for_function(
        "el => el.dataset.state === 'no-camera' || el.querySelector('video').readyState >= 2",
        arg=page.locator(f"#{panel}").element_handle(),
        timeout=FACE_TIMEOUT_MS,
    )


def run_check(page: Any, panel: str, attempts: int = 3) -> list[str]:
    """Click a face-check panel's button until it passes; returns the refusals seen on the way
    (a real learner retries too; each retry takes a fresh challenge)."""
    refusals: list[str] = []
    root = page.locator(f"#{panel}")
    for _ in range(attempts):
        root.locator(".fc-go").click()
        page.wait_for_function(
            "el => el.dataset.state === 'passed' || el.dataset.state === 'failed'",
            arg=root.element_handle(),
            timeout=FACE_TIMEOUT_MS,
        )
        if root.get_attribute("data-state") == "passed":
            return refusals
        refusals.append(root.locator(".fc-status").inner_text())
    raise AssertionError(f"the face check {panel} kept failing: {refusals}")


def seed_course(
    engine: Any, *, rollcall: dict[str, int] | None = None, auto_certificate: bool = True
) -> tuple[uuid.UUID, list[dict[str, Any]]]:
    """A published course with a short roll-call policy: heartbeats every 5 s, roll-calls every
    20-30 s, 1 required minute, 3 questions (all drawn).

    ``rollcall`` overrides parts of the roll-call policy (within the bounds the course service
    enforces). With ``auto_certificate`` the institution issues the certificate the moment an
    enrolment completes (its certificate setting, chosen by its staff)."""
    from app.accounts.models import Role
    from app.accounts.principal import Principal
    from app.certificates import service as certificates
    from app.courses import service as courses
    from app.courses.schemas import CourseIn
    from app.db import transaction
    from tests.factories import make_institution, make_user

    inst = make_institution(engine)
    staff = make_user(engine, Role.staff, inst)
    spec = CourseIn.model_validate(
        {
            "title": "低压电工作业（初级）",
            "description": "低压电工安全操作与触电急救。",
            "occupation_code": "6-31-01-03",
            "occupation_name": "电工",
            "level": "level5",
            "required_minutes": 1,
            "pass_score": 60,
            "subsidy_fen": 150_000,
            "rollcall": {
                "min_interval_s": 20,
                "max_interval_s": 30,
                "response_window_s": 60,
                "min_pass_rate": 80,
                "heartbeat_interval_s": 5,
                **(rollcall or {}),
            },
            "quiz": {"question_count": 3, "time_limit_s": 600, "max_attempts": 3},
        }
    )
    bank = [
        {
            "kind": "single",
            "stem": "安全电压一般不超过多少伏？",
            "options": ["36V", "110V", "220V"],
            "answer": [0],
        },
        {
            "kind": "multiple",
            "stem": "哪些属于绝缘工具？",
            "options": ["绝缘手套", "铁锤", "绝缘靴"],
            "answer": [0, 2],
        },
        {
            "kind": "judge",
            "stem": "电工作业必须持证上岗。",
            "options": ["正确", "错误"],
            "answer": [0],
        },
    ]
    with transaction(engine) as session:
        p = Principal.of_user(staff)
        course = courses.create_course(
            session,
            p,
            **spec.model_dump(
                exclude={"rollcall", "quiz", "require_each_lesson", "offline_required_minutes"}
            ),
            policy=spec.policy(),
        )
        courses.add_lesson(
            session,
            p,
            course.id,
            title="安全用电常识",
            kind="text",
            body_or_url="安全电压不超过 36V。\n停电、验电、挂接地线。",
            minutes=1,
        )
        courses.add_lesson(
            session,
            p,
            course.id,
            title="触电急救",
            kind="text",
            body_or_url="先断电，再施救。",
            minutes=1,
        )
        for q in bank:
            courses.add_question(session, p, course.id, **q)
        courses.publish_course(session, p, course.id)
        if auto_certificate:
            certificates.update_settings(session, p, inst.id, auto_issue=True)
        return course.id, bank


def course_institution(session: Any, course_id: uuid.UUID) -> uuid.UUID:
    """The institution of a seeded course: learners registered beside it belong to it (every
    learner belongs to an institution before their face enrolment)."""
    from app.courses.models import Course

    course = session.get(Course, course_id)
    assert course is not None
    return course.institution_id  # type: ignore[no-any-return]


def face_enrolled_learner(
    engine: Any, course_id: uuid.UUID, *, username: str, real_name: str, seq: int
) -> tuple[uuid.UUID, uuid.UUID]:
    """A learner of the course's institution who consented, enrolled her face from burst "a"
    (talking_head_1, the face the fake camera's clip shows) and the course, by the services:
    her id and the enrolment's."""
    from app.accounts import service as accounts
    from app.accounts.principal import Principal
    from app.attendance import service as attendance
    from app.courses import service as courses
    from app.db import transaction
    from tests.face_data import blink_burst
    from tests.factories import PASSWORD, id_number

    with transaction(engine) as session:
        learner = accounts.register_learner(
            session,
            username=username,
            password=PASSWORD,
            real_name=real_name,
            id_number=id_number(seq=seq),
            institution_id=course_institution(session, course_id),
        )
        accounts.set_biometric_consent(session, learner, granted=True)
        challenge = attendance.create_challenge(session, learner)
        attendance.enrol(session, learner, challenge_id=challenge.id, frames=blink_burst("a"))
        return learner.id, courses.enrol(session, Principal.of_user(learner), course_id).id


def watch_errors(page: Any) -> list[str]:
    """The page's uncaught script errors and console errors, as they come. A refusal the page
    expects (a 4xx it explains) logs "Failed to load resource": that one is not counted."""
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    return errors


def signs_in(page: Any, base: str, username: str, lands: str = "**/my") -> None:
    """Sign in on the login page with the test password; wait to land (a learner on /my)."""
    from tests.factories import PASSWORD

    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(lands)


def answer_right(page: Any, bank: list[dict[str, Any]]) -> None:
    """Tick the right options of every question on the quiz paper, found by their text (the
    paper shuffles questions and options)."""
    right = {q["stem"]: {q["options"][i] for i in q["answer"]} for q in bank}
    for item in page.locator("li.question").all():
        stem = item.locator("legend").inner_text()
        wanted = next(v for k, v in right.items() if k in stem)
        for option in item.locator("label.option").all():
            if option.inner_text().strip() in wanted:
                option.locator("input").check()
