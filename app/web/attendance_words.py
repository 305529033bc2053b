"""Face checks and roll-calls in words, for the learner's and the staff's pages.

The sentences are the same templates the study page's script uses (``JS_STRINGS``), so a
roll-call reads the same whether the page was just answered or opened again later.
"""

from __future__ import annotations

from datetime import datetime

from app.attendance import reasons
from app.attendance.models import AttendanceEvent
from app.clock import SHANGHAI
from app.courses.models import RollCallStatus
from app.courses.progress import StudyTime
from app.courses.rollcall_report import RollCallReport
from app.web.i18n import JS_STRINGS, REASONS, Lang, error_messages, gettext


def reason_words(code: str | None, lang: Lang) -> str:
    """Why a check failed, in words: distinct for match, liveness, quality and continuity
    (app/attendance/reasons.py; the pages' own words first, as the scripts have them)."""
    if code is None:
        return ""
    if code in REASONS:
        return gettext(lang)(REASONS[code])
    return reasons.words(code, lang) or error_messages(lang).get(code, code)


def event_reason(event: AttendanceEvent, lang: Lang) -> str:
    """Why one recorded check did not pass, from its stored scores as well as its code: a
    liveness failure says whether the face itself matched (issue 14: never "the face did not
    match" when it did)."""
    if event.outcome.value == "passed":
        return ""
    if reasons.category(event.reason_code) == "liveness" and event.median_distance is not None:
        if reasons.clear_match(event):
            return reason_words("liveness_only", lang)
        if reasons.clear_mismatch(event):
            return reason_words("liveness_and_mismatch", lang)
    return reason_words(event.reason_code, lang)


def clock_time(dt: datetime | None) -> str:
    """HH:MM in Asia/Shanghai."""
    return dt.astimezone(SHANGHAI).strftime("%H:%M") if dt else ""


def duration_words(ms: int, lang: Lang) -> str:
    """ "12 分钟", or "5 分 30 秒" when the seconds matter (as the study counter shows them)."""
    t = gettext(lang)
    s = max(0, ms // 1000)
    if s % 60 == 0:
        return t(JS_STRINGS["duration_minutes"]).format(m=s // 60)
    if s < 60:
        return t(JS_STRINGS["duration_seconds"]).format(s=s)
    return t(JS_STRINGS["minutes_seconds"]).format(m=s // 60, s=s % 60)


def counter_words(seconds: int, lang: Lang) -> str:
    """The study-time counter: "m 分 s 秒", on the study page (its script too) and elsewhere."""
    s = max(0, seconds)
    return gettext(lang)(JS_STRINGS["minutes_seconds"]).format(m=s // 60, s=s % 60)


def rollcall_sentence(report: RollCallReport, lang: Lang) -> str | None:
    """What a decided roll-call did to the learner's time, e.g. "本次点名未通过，自 14:05 起的
    12 分钟学时不计入。"; None while it is pending or when it passed."""
    t = gettext(lang)
    rc = report.rollcall
    when = clock_time(report.stretch_from)
    if rc.excused_at is not None:
        return t(JS_STRINGS["excused"]).format(t=when, d=duration_words(report.restored_ms, lang))
    if rc.status is RollCallStatus.review:
        return t(JS_STRINGS["held_review"]).format(t=when, d=duration_words(report.held_ms, lang))
    if rc.status in (RollCallStatus.failed, RollCallStatus.missed):
        if report.forfeited_ms == 0:
            return t(JS_STRINGS["forfeit_none"])
        key = "forfeit_failed" if rc.status is RollCallStatus.failed else "forfeit_missed"
        return t(JS_STRINGS[key]).format(t=when, d=duration_words(report.forfeited_ms, lang))
    return None


def rollcall_reason(
    report: RollCallReport, lang: Lang, last_event: AttendanceEvent | None = None
) -> str:
    """Why the roll-call did not pass: the last failed attempt's reason (from its check, when
    given), or no answer in time."""
    if last_event is not None:
        return event_reason(last_event, lang)
    if report.reason_code is not None:
        return reason_words(report.reason_code, lang)
    if report.rollcall.status is RollCallStatus.missed:
        return reason_words("rollcall_no_answer", lang)
    return ""


def time_notes(time: StudyTime, lang: Lang) -> list[str]:
    """What the counter does not yet (or will never) count, for the study and progress pages."""
    t = gettext(lang)
    notes = []
    if time.open_ms >= 1000:
        notes.append(t(JS_STRINGS["time_open"]).format(d=duration_words(time.open_ms, lang)))
    if time.held_ms >= 1000:
        notes.append(t(JS_STRINGS["time_held"]).format(d=duration_words(time.held_ms, lang)))
    if time.forfeited_ms >= 1000:
        notes.append(
            t(JS_STRINGS["time_forfeited"]).format(d=duration_words(time.forfeited_ms, lang))
        )
    return notes


#: Challenge actions in words (the codes the face engine records, burst and streamed).
ACTIONS = {
    "blink": "眨眼",
    "blink_twice": "眨两次眼",
    "turn_left": "向左转头",
    "turn_right": "向右转头",
    "look_up": "抬头",
    "open_mouth": "张嘴",
}
#: Why each kind of face check is made, for the staff's table.
PURPOSES = {
    "enrol": "采集人脸模板，之后的核验都与它比对",
    "checkin": "开始学习前核验本人，通过后开始计时",
    "rollcall": "学习中随机点名，确认仍是本人在学；未通过时本段学时按规则处理",
    "quiz": "考试前核验本人",
    "partner": "合作平台自行拍摄后提交核验",
}


def action_words(code: str, lang: Lang) -> str:
    return gettext(lang)(ACTIONS[code]) if code in ACTIONS else code


def actions_words(codes: list[str], lang: Lang) -> str:
    """The challenge as it was asked: "眨眼，然后向左转头"."""
    t = gettext(lang)
    return t("，然后").join(action_words(c, lang) for c in codes) if codes else "—"


def match_words(event: AttendanceEvent, lang: Lang) -> str:
    """The face comparison with its thresholds, in the metric the event used."""
    t = gettext(lang)
    if event.best_distance is None:
        return t("未比对（画面中没有可用的人脸）")
    if event.match_metric == "cosine":
        return t("相似度：最高 %s，中位 %s（不低于 %s 通过，低于 %s 不通过，越大越像）") % (
            event.best_distance,
            event.median_distance or "—",
            event.accept_threshold,
            event.reject_threshold,
        )
    return t("距离：最小 %s，中位 %s（不高于 %s 通过，高于 %s 不通过，越小越像）") % (
        event.best_distance,
        event.median_distance or "—",
        event.accept_threshold,
        event.reject_threshold,
    )


def liveness_words(event: AttendanceEvent, lang: Lang) -> str:
    """The liveness result: passed, or what was missing, action by action."""
    t = gettext(lang)
    live = event.liveness or {}
    if not live:
        return t("未检测") if event.actions else t("无需动作")
    parts = []
    for a in live.get("actions") or live.get("reveals") or []:  # burst / streamed checks
        mark = t("做到了") if a.get("passed") else t("没有做到")
        parts.append(f"{action_words(str(a.get('action')), lang)}：{mark}")
    head = t("通过") if live.get("passed") else t("未通过")
    reason = live.get("reason")
    if not live.get("passed") and reason:
        head += "（" + reason_words(str(reason), lang).rstrip("。.") + "）"
    return head + ("；" + "；".join(parts) if parts else "")
