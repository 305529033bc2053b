"""Input rules shared by every domain: identifiers and human-entered text.

**Identifiers** (ID numbers, usernames, phone numbers, e-mail addresses, institution and
occupation codes) are compared, indexed and grouped by their exact characters, so one
identifier must have exactly one spelling. :func:`normalise_identifier` folds compatibility
forms (NFKC: full-width digits and letters, the ideographic space) and drops whitespace;
callers then match the result against ASCII-only patterns (``[0-9]``, never ``\\d``, which
matches every script's digits). A blind index or a uniqueness check is computed on the
normalised form only.

**Text shown to other people** (real names, course titles, question stems, reasons, key names…)
must not carry control or format characters: NUL, bidi overrides (U+202E makes ``gpj.exe`` read
``exe.jpg``), zero-width characters, tag characters, lone surrogates. Nor may it consist only of
characters that show nothing. :func:`check_text` is the one rule; the :data:`Text` and
:data:`MultilineText` pydantic types apply it to request bodies, and services call it for what
pages and the CLI submit. A refusal is 422 ``invalid_text`` with the field's name.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from app.errors import ValidationFailed
from app.spreadsheet import FORMULA_TRIGGERS

# ---------------------------------------------------------------- identifiers


def normalise_identifier(raw: str, *, upper: bool = False) -> str:
    """NFKC, every whitespace character removed, optionally upper-cased (ASCII letters only
    remain upper-case-able once the caller's ASCII pattern has matched)."""
    value = "".join(unicodedata.normalize("NFKC", raw).split())
    return value.upper() if upper else value


#: Phone numbers as registration accepts them, after :func:`normalise_phone`.
PHONE_RE = re.compile(r"\+?[0-9-]{5,20}", re.ASCII)
#: Institution codes (they become part of certificate serials and file names).
INSTITUTION_CODE_RE = re.compile(r"[A-Za-z0-9_-]{1,32}", re.ASCII)
#: Occupation codes of the national classification (e.g. ``4-03-02-01``): ASCII letters, digits
#: and separators, so one occupation cannot be spelled twice (full-width digits).
OCCUPATION_CODE_RE = re.compile(r"[A-Za-z0-9._-]{1,32}", re.ASCII)


_DIGITS = re.compile(r"[0-9]{1,18}", re.ASCII)


def ascii_int(raw: str) -> int | None:
    """A non-negative whole number typed in ASCII or full-width digits, else None.

    ``str.isdigit()`` is no test for ``int()``: ``"²".isdigit()`` is true and ``int("²")``
    raises; ``\\d`` and ``int()`` accept every script's digits.
    """
    value = normalise_identifier(raw)
    return int(value) if _DIGITS.fullmatch(value) else None


_DIGIT_STRING = re.compile(r"[0-9]+", re.ASCII)


def digit_string(raw: str, *, separators: str = "") -> str | None:
    """A code or account number typed as digits: NFKC (full-width digits and separators fold,
    as a Chinese input method types them), whitespace and ``separators`` dropped; the ASCII
    digits, or None when anything else remains (``"٣".isdigit()`` and ``"²".isdigit()`` are
    true, so ``isdigit`` alone would let other scripts' digits through)."""
    value = normalise_identifier(raw)
    for sep in separators:
        value = value.replace(sep, "")
    return value if _DIGIT_STRING.fullmatch(value) else None


def starts_like_formula(value: str) -> bool:
    """Whether a spreadsheet program would read ``value`` as a formula (app/spreadsheet.py
    neutralises such cells on export; a number or code that starts like one is a mistake or an
    attack, and is refused where it is entered)."""
    return value.lstrip(" ").startswith(FORMULA_TRIGGERS)


def normalise_phone(raw: str) -> str | None:
    """The phone number without spaces (NFKC: full-width digits fold), or None if invalid."""
    value = normalise_identifier(raw)
    return value if PHONE_RE.fullmatch(value) else None


def normalise_email(raw: str) -> str | None:
    """An e-mail address in its one spelling, or None if it is not one: NFKC (full-width
    letters and the full-width ＠ fold to ASCII), whitespace dropped, checked by the
    ``email-validator`` library (syntax; no DNS lookup), lower case (so it is unique case-
    insensitively). Anything still outside ASCII after folding — Cyrillic or Greek look-alikes,
    an internationalised mailbox — is refused rather than guessed at."""
    from email_validator import EmailNotValidError, validate_email

    value = normalise_identifier(raw)
    if not value or len(value) > 254 or not value.isascii():
        return None
    try:
        checked = validate_email(value, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError:
        return None
    normalised = checked.normalized.lower()
    return normalised if normalised.isascii() else None


# ---------------------------------------------------------------- text shown to others


class InvalidText(ValidationFailed):
    code = "invalid_text"
    message_zh = (
        "内容中含有不可见字符或控制字符（如零宽字符、文字方向控制符），或只有空白，"
        "请删除后重新输入。"
    )
    message_en = (
        "The text contains invisible or control characters (such as zero-width characters or "
        "text-direction overrides), or nothing visible; remove them and try again."
    )


#: Letters that render as blank space (Hangul fillers, the Braille blank): a name made only of
#: these (and marks) shows nothing.
_BLANK_LOOKALIKES = frozenset("\u115f\u1160\u3164\uffa0\u2800")
#: Allowed in multi-line text only.
_LAYOUT = frozenset("\n\r\t")
#: General categories refused anywhere: controls, format characters (bidi controls, zero-width
#: characters, tags, the soft hyphen), surrogates, line and paragraph separators.
_REFUSED = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def _noncharacter(c: str) -> bool:
    o = ord(c)
    return 0xFDD0 <= o <= 0xFDEF or (o & 0xFFFE) == 0xFFFE


#: The space separators (Zs; str.isprintable() is false for all but U+0020): deleted before the
#: fast check, so text with ideographic spaces or no-break spaces stays on the fast path.
_SPACES = " \u00a0\u1680\u202f\u205f\u3000" + "".join(map(chr, range(0x2000, 0x200B)))
_DROP = {False: _SPACES, True: _SPACES + "\n\r\t"}


def _without(value: str, chars: str) -> str:
    for c in chars:  # str.replace per character: C speed (str.translate with a dict is not)
        if c in value:
            value = value.replace(c, "")
    return value


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """Why ``value`` may not be shown to others (``control_character``, ``nothing_visible``),
    or None. Whitespace around the text is not judged (callers trim it)."""
    # Fast path (C speed): without its spaces (and line breaks, where allowed), printable text
    # has no Cc/Cf/Cs/Zl/Zp. Otherwise (or private-use / unassigned characters) look closer.
    if not _without(value, _DROP[multiline]).isprintable():
        for c in value:
            if multiline and c in _LAYOUT:
                continue
            if unicodedata.category(c) in _REFUSED or _noncharacter(c):
                return "control_character"
    for c in value:
        if c in _BLANK_LOOKALIKES:
            continue
        if unicodedata.category(c)[0] in "LNPS":
            return None
    return "nothing_visible"


def check_text(value: str, *, field: str, multiline: bool = False, required: bool = True) -> str:
    """The trimmed text, or :class:`InvalidText` naming ``field``. Empty (or blank) text is
    refused when ``required``, else returned as ``""`` (the field's own rule decides)."""
    value = value.strip()
    if not value and not required:
        return ""
    reason = text_problem(value, multiline=multiline)
    if reason:
        raise InvalidText(f"{field}: {InvalidText.message_en}", field=field, reason=reason)
    return value


def _pydantic_check(*, multiline: bool) -> Any:
    def validate(value: str) -> str:
        stripped = value.strip()
        if not stripped:  # blank: the field's own rule decides (the service refuses or empties)
            return value
        reason = text_problem(stripped, multiline=multiline)
        if reason:
            raise PydanticCustomError(InvalidText.code, InvalidText.message_en, {"reason": reason})
        return stripped

    return AfterValidator(validate)


#: A one-line text field shown to others (names, titles, options): trimmed, no control or
#: format characters, something visible. Blank text passes through unjudged: whether a field may
#: be empty is its own rule (the services refuse an empty title with their own code).
Text = Annotated[str, _pydantic_check(multiline=False)]
#: Multi-line text (descriptions, lesson text, question stems, reasons): line breaks and tabs
#: allowed, otherwise as :data:`Text`.
MultilineText = Annotated[str, _pydantic_check(multiline=True)]
