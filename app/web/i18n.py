"""Page language: Simplified Chinese by default, English on request (``?lang=en``, remembered).

Chinese is the source language. Templates write ``_("中文")``; the page modules keep their words
in plain dicts and constants. Babel extracts both (``babel.cfg``: Jinja2's extractor for the
templates, :mod:`app.web.babel_extract` for every Chinese literal in ``app/web/*.py``) into
``app/web/locale/messages.pot``; the English catalogue is
``app/web/locale/en/LC_MESSAGES/messages.po`` (``make i18n`` updates both). Error messages come
from the domain errors themselves (``message_zh`` / ``message_en``), so a page says exactly what
the API says.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from fastapi import Request, Response

from app.attendance.reasons import all_words as reason_words
from app.errors import DomainError

Lang = Literal["zh", "en"]
LANG_COOKIE = "st_lang"
DEFAULT: Lang = "zh"
LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"


def parse_lang(value: str | None) -> Lang | None:
    if not value:
        return None
    v = value.strip().lower()
    if v.startswith("en"):
        return "en"
    if v.startswith("zh"):
        return "zh"
    return None


def lang_of(request: Request) -> Lang:
    """``?lang=`` first, then the remembered choice, then Chinese."""
    return (
        parse_lang(request.query_params.get("lang"))
        or parse_lang(request.cookies.get(LANG_COOKIE))
        or DEFAULT
    )


def remember_lang(request: Request, response: Response) -> None:
    chosen = parse_lang(request.query_params.get("lang"))
    if chosen and chosen != parse_lang(request.cookies.get(LANG_COOKIE)):
        response.set_cookie(
            LANG_COOKIE, chosen, max_age=365 * 86400, path="/", samesite="lax", httponly=True
        )


def po_path(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def translations(locale: str) -> Translations:
    """The locale's catalogue, read from its ``.po`` once (fuzzy entries are left out, as
    ``msgfmt`` does) and compiled in memory: the ``.po`` is the only file to keep."""
    with po_path(locale).open("rb") as f:
        catalog = read_po(f, locale=locale, domain=DOMAIN)
    mo = io.BytesIO()
    write_mo(mo, catalog, use_fuzzy=False)
    mo.seek(0)
    return Translations(mo, domain=DOMAIN)


def gettext(lang: Lang) -> Callable[[str], str]:
    """The ``_`` of a page: identity in Chinese, the English catalogue's otherwise."""
    if lang == "zh":
        return _identity
    return translations("en").gettext


def _identity(text: str) -> str:
    return text


def _all_errors(cls: type[DomainError]) -> list[type[DomainError]]:
    out = [cls]
    for sub in cls.__subclasses__():
        out.extend(_all_errors(sub))
    return out


@functools.cache
def error_messages(lang: Lang) -> dict[str, str]:
    """Every domain error ``code`` → the learner's message, in the page language."""
    # Import the domain packages so their error classes are registered as subclasses.
    import app.accounts.exceptions
    import app.attendance.exceptions
    import app.courses.exceptions  # noqa: F401

    out: dict[str, str] = {}
    for err in _all_errors(DomainError):  # parents first: the general words for a shared code
        out.setdefault(err.code, err.message_zh if lang == "zh" else err.message_en)
    out["validation_error"] = _english_or_zh(lang, "提交的内容有误，请检查后重试。")
    return out


def _english_or_zh(lang: Lang, text: str) -> str:
    return gettext(lang)(text)


def message_for(err: DomainError, lang: Lang) -> str:
    return err.message_zh if lang == "zh" else err.message_en


#: Strings the scripts show, by key (the Chinese text is the catalogue's source).
JS_STRINGS: dict[str, str] = {
    # Offline sessions: the learner's QR (static/js/offline.js) and the station (station.js)
    "qr_refresh_in": "二维码 {s} 秒后自动更新，每个二维码只能扫一次",
    "qr_show": "出示签到二维码",
    "qr_hide": "收起二维码",
    "station_scanning": "正在核对二维码……",
    "station_checkin": "{name}：签到。请正对摄像头，按提示做动作。",
    "station_checkout": "{name}：签退。请正对摄像头，按提示做动作。",
    "station_checked_in": "{name} 已签到。",
    "station_checked_out": "{name} 已签退，本场计 {minutes} 分钟（累计线下实训 {total} 分钟）。",
    "station_rescan": "请学员刷新手机上的二维码后重新扫码。",
    "station_camera_scan": "请把学员手机上的二维码对准摄像头……",
    "station_no_qr": "一分钟内没有识别到二维码，请重试或使用扫码枪。",
    "roster_uploading": "正在上传名册……",
    "roster_checking": "上传完成，正在逐行检查……",
    "roster_failed": "上传失败，请检查网络后重试。",
    "roster_committing": "正在导入，请勿关闭页面……",
    # Streamed face check: the action the server reveals, shown the moment it arrives
    "blink": "请眨眼",
    "blink_twice": "请连续眨眼两次",
    "turn_left": "请向左转头",
    "turn_right": "请向右转头",
    "action_step": "（第 {n}/{total} 个动作）",
    "hold_still": "请正对摄像头、保持不动，留意动作提示",
    "streaming": "正在核验，请按画面上的提示做动作……",
    "uploading": "正在核验，请稍候……",
    "camera_starting": "正在打开摄像头……",
    "camera_denied": "无法使用摄像头：权限被拒绝。可以点击“用手机继续”，用手机扫码完成这次刷脸；"
    "或在浏览器地址栏允许使用摄像头后刷新页面。都无法使用时，请联系培训机构采用线下签到等替代方式。",
    "camera_missing": "没有找到摄像头。可以点击“用手机继续”，用手机扫码完成这次刷脸；"
    "都无法使用时，请联系培训机构采用线下签到等替代方式。",
    "camera_error": "摄像头无法启动，请关闭其他正在使用摄像头的程序后重试。",
    "network": "网络连接失败，请检查网络后重试。",
    "generic": "操作未完成，请重试。",
    "retry": "重新验证",
    "start": "开始验证",
    "enrolled_ok": "人脸采集成功！现在可以报名课程并开始学习。",
    "checkin_ok": "签到成功，开始计时。请保持本页面在前台。",
    "studying": "学习中",
    "paused": "已暂停：点名未通过或超时，本段学时未计入。请重新刷脸签到后继续学习。",
    "review": "点名结果待人工审核，审核期间暂不计学时。请继续学习，审核通过后补记。",
    "ended": "本次学习已结束。",
    "hidden": "页面不在前台，计时已暂停。回到本页面后自动继续。",
    "rollcall_passed": "点名通过，学时已确认。",
    "rollcall_failed": "点名未通过，学习已暂停。请重新刷脸签到后继续学习。",
    "rollcall_review": "点名已提交人工审核。",
    "rollcall_missed": "点名已超时，本次记为缺勤，学习已暂停。请重新刷脸签到后继续学习。",
    "seconds_left": "剩余 {s} 秒",
    # A roll-call's chances and what it cost, in words (study page; the same on the server side:
    # app/web/attendance_words.py formats these templates too)
    "rollcall_attempt_failed": "第 {n} 次验证未通过：{why}"
    "还有 {left} 次机会，请在倒计时结束前重试。",
    "rollcall_try_again": "再试一次",
    "forfeit_failed": "本次点名未通过，自 {t} 起的 {d}学时不计入。",
    "forfeit_missed": "本次点名超时未完成，自 {t} 起的 {d}学时不计入。",
    "forfeit_none": "本次点名未通过，学习已暂停；此前的学时已计入。",
    "held_review": "本次点名已提交人工审核，自 {t} 起的 {d}学时待审核后确定。",
    "excused": "培训机构已对本次点名作例外处理，自 {t} 起的 {d}学时已补记。",
    "duration_minutes": "{m} 分钟",
    "duration_seconds": "{s} 秒",
    "time_open": "其中 {d}将在下次点名通过后确认",
    "time_held": "{d}待人工审核",
    "time_forfeited": "{d}因点名未通过未计入",
    "lesson_studied": "已学 {w} / {r} 分钟",
    "minutes_seconds": "{m} 分 {s} 秒",
    "video_no_skip": "不能拖动到还没看过的部分，请从已看到的位置继续观看。",
    "video_speed": "视频只能以正常速度（或更慢）播放计时。",
    "video_not_studying": "请先刷脸签到，签到后观看视频才计入学时。",
    "video_other_tab": "另一个页面开始播放视频，本页视频已暂停：同一时间只能学习一个课时。",
    "quiz_started": "验证通过，考试开始。请在截止时间前交卷。",
    "quiz_time_left": "剩余时间 {t}",
    "quiz_result_pass": "考试通过：{score} 分（答对 {correct}/{total} 题）。",
    "quiz_result_fail": "考试未通过：{score} 分（答对 {correct}/{total} 题，需 {pass} 分）。",
    "quiz_unanswered": "还有 {n} 道题未作答，确定交卷吗？",
    "confirm_end": "确定结束本次学习吗？结束后再次学习需要重新签到。",
    "end_ok": "已结束学习，已确认的有效学时：{m} 分钟。",
    "reason_prefix": "原因：",
    "checkin_again": "再次签到继续学习",
    "kind_single": "【单选】",
    "kind_multiple": "【多选】",
    "kind_judge": "【判断】",
    "id_format": "身份证号码应为 18 位，最后一位可以是数字或 X。",
    "id_birth": "身份证号码中的出生日期无效。",
    "id_check": "身份证号码校验位不正确，请逐位核对。",
    "id_ok": "号码格式正确（最终以服务器核验为准）。",
    # A template from an older face model: re-enrol, then repeat the check
    "reenrol_link": "去重新采集人脸",
    # No-camera fallback: continue the face check on a phone
    "handoff_start": "用手机继续",
    "handoff_creating": "正在生成手机验证链接……",
    "handoff_waiting": "等待手机打开链接……",
    "handoff_opened": "手机已打开链接，请在手机上按提示完成验证……",
    "handoff_retry": "手机上的验证未通过：{why} 可以在手机上重试。",
    "handoff_left": "链接 {t} 后失效",
    "handoff_phone_done": "验证通过！请回到电脑，电脑页面会自动继续。",
    "handoff_phone_answered": "点名已提交，请回到电脑查看结果。",
    "handoff_phone_back": "请回到电脑继续。",
}

#: Words for stored codes, shared by the pages (``label(kind, code)`` in templates).
LABELS: dict[str, dict[str, str]] = {
    "purpose": {
        "enrol": "人脸采集",
        "checkin": "签到",
        "rollcall": "随机点名",
        "quiz": "考试核验",
        "partner": "合作平台核验",
        "offline_checkin": "线下实训签到",
        "offline_checkout": "线下实训签退",
    },
    "outcome": {"passed": "通过", "failed": "未通过", "review": "待人工审核"},
    "review": {"pending": "待审核", "approved": "审核通过", "rejected": "审核未通过"},
    "certificate": {"valid": "有效", "revoked": "已撤销"},
    "rollcall": {
        "pending": "待作答",
        "passed": "通过",
        "failed": "未通过",
        "review": "待人工审核",
        "missed": "未按时作答",
    },
    "rule": {
        "not_revoked": "证书未撤销",
        "attendance_passed": "考勤达标",
        "standard_in_force": "有适用的补贴标准",
        "class_filed": "在经开班备案同意的班级中培训",
        "max_per_year": "每人每年不超过 3 次",
        "no_repeat_occupation_level": "同一职业同一等级不重复享受",
        "target_group": "属于项目面向的人员类别",
        "age": "年龄符合项目条件",
        "residence": "户籍地、常住地或就业地符合项目条件",
        "certificate_kind": "取得项目要求的证书",
    },
}


def labeller(lang: Lang) -> Callable[[str, str], str]:
    """``label("purpose", "checkin")`` → the words in the page language (the code if unknown)."""
    t = gettext(lang)

    def label(kind: str, code: str) -> str:
        text = LABELS[kind].get(code)
        return t(text) if text is not None else code

    return label


#: Reason codes stored with a failed check (``reason_code`` of ``face_mismatch``).
REASONS = {
    "face_mismatch": "人脸与报名时采集的不一致。",
    "uncertain_match": "比对结果不确定，已提交人工审核。",
    "presentation_attack_suspected": "防伪检测未能确认为真人，已提交人工审核。",
    "face_reenrol_unconfirmed": "新采集的人脸未能与原有记录确认为同一人，已提交人工审核。",
    # Words for one check, from its stored scores (app/web/attendance_words.event_reason)
    "liveness_only": "人脸与本人一致，但未能确认是真人按提示做了动作（如眨眼、转头）。",
    "liveness_and_mismatch": "人脸与报名时采集的不一致，也未能确认是真人按提示做了动作。",
    "rollcall_no_answer": "在规定时间内没有完成刷脸。",
}


def js_strings(lang: Lang) -> dict[str, Any]:
    """What the page's scripts need in words: UI strings, error messages by code, reasons."""
    t = gettext(lang)
    return {
        "lang": lang,
        "ui": {k: t(v) for k, v in JS_STRINGS.items()},
        "errors": error_messages(lang),
        # Every stored reason code in words (app/attendance/reasons.py), page words first.
        "reasons": {**reason_words(lang), **{k: t(v) for k, v in REASONS.items()}},
    }
