"""A hosted video lesson in Chromium: the learner checks in with the (fake) camera and plays the
lesson inside the study page. Credit grows with playback; seeking ahead past the furthest point
watched is refused by the player and a heartbeat that claims it is not credited by the server;
hiding the tab pauses the video and earns nothing, even with the video forced to play on.

The clip is made at test time from ../shared/faces/videos (WebM, VP8). Every wait is on a
condition (the page's state, the server's rows), never on time."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, select

from tests.video_clips import webm_clip
from tests.web.conftest import FACE_TIMEOUT_MS, Camera, Shots, face_enrolled_learner, run_check

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.parametrize("db_url", ["sqlite"], indirect=True),
]

VIDEO = "video.lesson-video"
#: The page's own state, read in the browser.
STATE = f"""() => {{
  const v = document.querySelector('{VIDEO}');
  return {{time: v.currentTime, paused: v.paused, refused: Number(v.dataset.refused),
           credited: Number(document.getElementById('credited').dataset.seconds)}};
}}"""
#: Hide or show the page as the browser does when the tab is switched or the window minimised.
SET_VISIBILITY = """(state) => {
  Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => state});
  Object.defineProperty(document, 'hidden', {configurable: true, get: () => state === 'hidden'});
  document.dispatchEvent(new Event('visibilitychange'));
}"""


def _seed(engine: Any, clip: Path) -> tuple[Any, Any, Any]:
    """A published course (heartbeats every 5 s, no roll-call for a day) with the clip as its
    one lesson, uploaded through the service; a learner with consent, face and enrolment."""
    from app.accounts.models import Role
    from app.accounts.principal import Principal
    from app.courses import media
    from app.courses import service as courses
    from app.courses.schemas import CourseIn
    from app.db import transaction
    from tests.factories import make_institution, make_user

    inst = make_institution(engine)
    staff = make_user(engine, Role.staff, inst)
    spec = CourseIn.model_validate(
        {
            "title": "触电急救（视频课）",
            "occupation_code": "6-31-01-03",
            "occupation_name": "电工",
            "level": "level5",
            "required_minutes": 1,
            "pass_score": 60,
            "subsidy_fen": 150_000,
            "rollcall": {
                "min_interval_s": 86_000,
                "max_interval_s": 86_400,
                "response_window_s": 60,
                "min_pass_rate": 80,
                "heartbeat_interval_s": 5,
            },
            "quiz": {"question_count": 1, "time_limit_s": 600, "max_attempts": 3},
        }
    )
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
        with clip.open("rb") as f:
            lesson = media.add_video_lesson(
                session, p, course.id, title="触电急救演示", minutes=1, upload=f
            )
        courses.add_question(
            session, p, course.id, kind="judge", stem="先断电，再施救。", options=None, answer=[0]
        )
        courses.publish_course(session, p, course.id)
    learner_id, enrollment_id = face_enrolled_learner(
        engine, course.id, username="sunli", real_name="孙丽", seq=71
    )
    return enrollment_id, lesson.id, learner_id


def test_playback_earns_credit_skipping_and_a_hidden_tab_do_not(
    camera: Camera,
    engine: Any,
) -> None:
    from app.courses import study
    from app.courses.models import Enrollment, Heartbeat, LessonProgress, StudySession

    started = time.monotonic()
    clip = webm_clip(camera.tmp_path / "lesson.webm", seconds=60, width=160)
    enrollment_id, lesson_id, _learner_id = _seed(engine, clip)

    def beats() -> list[Any]:
        with Session(engine) as s:
            return list(s.exec(select(Heartbeat).order_by(col(Heartbeat.at))).all())

    page, errors = camera.learner_page("sunli", seconds=120)
    shot = Shots(page, "video-lesson")
    page.goto(f"{camera.base}/study/{enrollment_id}")
    page.wait_for_function(f"() => document.querySelector('{VIDEO}').readyState >= 1")  # metadata
    assert page.locator(".lesson-progress").inner_text().startswith("已学 0.0 / 1.0")

    run_check(page, "checkin-check")
    page.wait_for_selector("#study[data-state=studying]", timeout=FACE_TIMEOUT_MS)
    with Session(engine) as s:
        sid = s.exec(
            select(StudySession.id).where(col(StudySession.enrollment_id) == enrollment_id)
        ).one()

    # 1. Playback earns credit: the span watched, carried by the heartbeats' positions.
    page.evaluate(
        f"() => {{ const v = document.querySelector('{VIDEO}'); v.muted = true; v.play(); }}"
    )  # noqa: E501
    page.wait_for_function(f"() => ({STATE})().credited >= 8", timeout=40_000)
    # The lesson's minutes grow on the page without a reload (from the heartbeats' answers):
    # watched in the open stretch, confirmed at the next roll-call; the note says so too.
    page.wait_for_function(
        "() => Number(document.querySelector('.lesson-progress').dataset.openMs) >= 8000"
    )
    assert not page.locator(".lesson-progress").inner_text().startswith("已学 0.0")
    assert "将在下次点名通过后确认" in page.locator("#time-notes").inner_text()
    shot("playing")
    played = [b for b in beats() if b.position_ms is not None and b.credited_ms > 0]
    assert played and all(b.lesson_id == lesson_id for b in played)
    assert sum(b.credited_ms for b in played) <= max(b.position_ms for b in played) + 1_500

    # 2. Seeking ahead: the player puts the position back at the furthest point watched...
    state = page.evaluate(STATE)
    page.evaluate(f"() => {{ const v = document.querySelector('{VIDEO}'); v.currentTime += 30; }}")
    page.wait_for_function(f"() => ({STATE})().refused >= 1")
    assert page.evaluate(STATE)["time"] < state["time"] + 5
    assert "不能拖动" in page.locator(".video-note").inner_text()
    # ...and a heartbeat that claims the skip (a page that did not refuse it) earns nothing.
    forged = page.evaluate(
        """async ([sid, lesson]) => {
          const csrf = decodeURIComponent(document.cookie.match(/st_csrf=([^;]+)/)[1]);
          const r = await fetch(`/api/v1/sessions/${sid}/heartbeat`, {
            method: 'POST',
            headers: {'Content-Type': 'application/json', 'X-CSRF-Token': csrf},
            body: JSON.stringify({visible: true, lesson_id: lesson, position_ms: 50000}),
          });
          return await r.json();
        }""",
        [str(sid), str(lesson_id)],
    )
    assert forged["earned_seconds"] == 0
    assert forged["furthest_position_ms"] < 40_000

    # 3. Hiding the tab pauses the video and stops the heartbeats; a video forced to play on
    #    while hidden earns nothing, then or after the page is shown again.
    answered = int(page.locator("#study").get_attribute("data-beats") or 0)
    page.evaluate(SET_VISIBILITY, "hidden")
    page.wait_for_function(f"() => ({STATE})().paused")
    # The page's last beat on hiding (visible until now) has been answered.
    page.wait_for_function(
        f"() => Number(document.getElementById('study').dataset.beats) >= {answered + 1}"
    )
    credit_when_hidden = page.evaluate(STATE)["credited"]
    hidden_at = len(beats())
    page.evaluate(f"() => document.querySelector('{VIDEO}').play()")
    position = page.evaluate(STATE)["time"]
    page.wait_for_function(f"() => ({STATE})().time > {position + 8}", timeout=30_000)
    assert len(beats()) == hidden_at  # no heartbeat while hidden
    answered = int(page.locator("#study").get_attribute("data-beats") or 0)
    page.evaluate(SET_VISIBILITY, "visible")
    # The page reports the hidden stretch (earning nothing), then beats again: the position is
    # now beyond what 1x playback from the furthest point reaches, so nothing more is credited.
    page.wait_for_function(
        f"() => Number(document.getElementById('study').dataset.beats) >= {answered + 3}",
        timeout=40_000,
    )
    after = beats()[hidden_at:]
    assert any(not b.visible for b in after)
    assert all(b.credited_ms == 0 for b in after if not b.visible)
    ahead = int(position * 1000) + 8_000  # where the video played to while the page was hidden
    late = [b for b in after if b.visible and b.position_ms and b.position_ms > ahead]
    assert late and all(b.credited_ms == 0 for b in late)
    assert page.evaluate(STATE)["credited"] <= credit_when_hidden + 5  # the beat sent on hiding

    # The session ends; the stored credit and the lesson's progress are what the replay says.
    page.evaluate(
        """async (sid) => {
          const csrf = decodeURIComponent(document.cookie.match(/st_csrf=([^;]+)/)[1]);
          const headers = {'X-CSRF-Token': csrf};
          await fetch(`/api/v1/sessions/${sid}/end`, {method: 'POST', headers});
        }""",
        str(sid),
    )
    with Session(engine) as s:
        e = s.get(Enrollment, enrollment_id)
        assert e is not None and e.credited_seconds >= 8
        check = study.check_ledger(s, e)
        assert check.matches, (check.stored_ms, check.stored_lessons, check.recomputed)
        progress = s.get(LessonProgress, (enrollment_id, lesson_id))
        assert progress is not None and progress.watched_ms == e.credited_ms
    page.reload()
    assert not page.locator(".lesson-progress").inner_text().startswith("已学 0.0")
    shot("after")
    assert not errors, errors
    print(f"\nvideo lesson: {time.monotonic() - started:.0f} s")
