"""A roll-call nobody answers, in Chromium: the learner checks in with the (fake) camera, a
roll-call appears, the learner does nothing. At the deadline the page pauses with the "missed"
message, heartbeats stop, and the server has recorded the miss (the page told it; the test
server runs no sweep) and forfeited the stretch since the check-in (strict policy)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlmodel import Session, col, select

from tests.web.conftest import (
    FACE_TIMEOUT_MS,
    Camera,
    Shots,
    face_enrolled_learner,
    run_check,
    seed_course,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.parametrize("db_url", ["sqlite"], indirect=True),
]
#: The shortest policy the course service accepts: a roll-call 5-8 s after check-in, offered
#: at the next 5 s heartbeat, 10 s to answer.
POLICY = {"min_interval_s": 5, "max_interval_s": 8, "response_window_s": 10}


def test_a_missed_rollcall_pauses_the_session_and_forfeits_the_stretch(
    camera: Camera,
    engine: Any,
) -> None:
    from app.audit.models import AuditEntry
    from app.courses.models import (
        CreditSegment,
        Enrollment,
        Heartbeat,
        RollCall,
        RollCallStatus,
        SegmentStatus,
        SessionState,
        StudySession,
    )
    from app.web.i18n import JS_STRINGS

    started = time.monotonic()
    course_id, _bank = seed_course(engine, rollcall=POLICY, auto_certificate=False)
    learner_id, enrollment_id = face_enrolled_learner(
        engine, course_id, username="zhaolei", real_name="赵蕾", seq=66
    )

    page, errors = camera.learner_page("zhaolei", seconds=120)
    shot = Shots(page, "rollcall-missed")
    page.goto(f"{camera.base}/study/{enrollment_id}")

    # Check in with the camera; studying starts.
    refusals = run_check(page, "checkin-check")
    page.wait_for_selector("#study[data-state=studying]")

    # A roll-call appears within a few heartbeats. Nobody answers it.
    page.wait_for_selector("dialog#rollcall[open]", timeout=FACE_TIMEOUT_MS)
    assert page.locator("#rollcall-countdown").inner_text().startswith("剩余")
    shot("open", phone=False)

    # At the deadline the page pauses and says why; the check-in panel is back.
    page.wait_for_selector("#study[data-state=paused]", timeout=20_000)
    assert page.locator("#study-state").inner_text() == JS_STRINGS["rollcall_missed"]
    assert page.locator("dialog#rollcall[open]").count() == 0
    assert page.locator("#checkin-panel").is_visible()
    assert page.locator("#study-actions").is_hidden()
    assert page.locator("#checkin-check .fc-go").inner_text() == "重新验证"
    # The page asked the server, which forfeited the stretch: nothing is credited.
    page.wait_for_function("document.getElementById('credited').dataset.seconds === '0'")
    shot("paused")

    # Heartbeats stop: over more than a heartbeat interval, none arrives and no credit appears.
    def beats() -> int:
        with Session(engine) as s:
            return len(s.exec(select(Heartbeat)).all())

    before = beats()
    page.wait_for_timeout(7_000)
    assert beats() == before
    assert page.locator("#credited").get_attribute("data-seconds") == "0"
    assert page.locator("#study").get_attribute("data-state") == "paused"

    with Session(engine) as s:
        rollcalls = s.exec(select(RollCall)).all()
        assert len(rollcalls) == 1 and rollcalls[0].status is RollCallStatus.missed
        rc = rollcalls[0]
        study = s.exec(
            select(StudySession).where(col(StudySession.enrollment_id) == enrollment_id)
        ).one()
        assert study.state is SessionState.paused and study.open_seconds == 0
        # The stretch since the check-in (the last passed verification) had earned credit and
        # lost it all; no heartbeat after the deadline earned anything.
        segments = s.exec(
            select(CreditSegment).where(col(CreditSegment.session_id) == study.id)
        ).all()
        assert [(g.status, g.closed_by) for g in segments] == [
            (SegmentStatus.forfeited, f"rollcall:{rc.id}")
        ]
        assert segments[0].seconds >= 5
        beats_of_session = s.exec(
            select(Heartbeat).where(col(Heartbeat.session_id) == study.id)
        ).all()
        late = [b for b in beats_of_session if b.at > rc.deadline]
        assert late and all(b.credited_seconds == 0 for b in late)
        e = s.get(Enrollment, enrollment_id)
        assert e is not None
        assert (e.credited_seconds, e.rollcalls_total, e.rollcalls_passed) == (0, 1, 0)
        # Recorded when the page reported it (the learner's heartbeat), not by a sweep.
        missed = s.exec(select(AuditEntry).where(col(AuditEntry.action) == "rollcall.missed")).one()
        assert missed.subject == f"rollcall:{rc.id}" and missed.actor == f"user:{learner_id}"
    assert not errors, errors
    print(
        f"\nmissed roll-call: {time.monotonic() - started:.0f} s, refusals on the way: {refusals}"
    )
