"""The registry record's fields and an approval's scope, as typed and as stored: the unified
social credit code (GB 32100), the legal name, the kind, and the occupations and levels an
approval covers (``6-31-01-03 四级`` a line on the regulator's form and the CLI). The registry
(:mod:`app.programmes.registry`) uses these for every record and decision.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlmodel import Session, col, select

from app.accounts.models import Institution, InstitutionKind
from app.programmes import creditcode
from app.programmes.exceptions import CreditCodeTaken, InvalidRegistryRecord
from app.programmes.standards import LEVEL_NAMES_ZH, LEVELS, normalise_occupation_code
from app.validation import check_text

MAX_SCOPE = 200


@dataclass(frozen=True)
class ScopeItem:
    occupation_code: str
    level: str

    def as_dict(self) -> dict[str, str]:
        return {"occupation_code": self.occupation_code, "level": self.level}


# ---------------------------------------------------------------- the record's fields


def normalise_credit_code(
    session: Session, raw: str | None, *, institution_id: uuid.UUID | None = None
) -> str | None:
    """The code (GB 32100, capitals) or None for an empty value; 422 ``invalid_credit_code``
    for a wrong one, 409 ``credit_code_taken`` if another institution has it."""
    if raw is None or not raw.strip():
        return None
    code = creditcode.normalise(raw)
    other = session.exec(
        select(col(Institution.id)).where(col(Institution.credit_code) == code)
    ).first()
    if other is not None and other != institution_id:
        raise CreditCodeTaken(field="credit_code")
    return code


def normalise_legal_name(raw: str | None) -> str | None:
    if raw is None or not raw.strip():
        return None
    name = check_text(raw.strip(), field="legal_name")
    if len(name) > 200:
        raise InvalidRegistryRecord(
            "The legal name has at most 200 characters.", field="legal_name"
        )
    return name


def normalise_kind(raw: str | InstitutionKind | None) -> InstitutionKind | None:
    if raw is None or raw == "":
        return None
    try:
        return InstitutionKind(raw)
    except ValueError:
        raise InvalidRegistryRecord(
            f"The kind must be one of {', '.join(k.value for k in InstitutionKind)}.",
            field="kind",
        ) from None


def normalise_scope(items: Iterable[tuple[str, str]]) -> list[ScopeItem]:
    """Occupation codes (X-XX-XX-XX) and levels, each pair once, sorted; at least one."""
    seen: set[ScopeItem] = set()
    for code, level in items:
        level = (level or "").strip()
        if level not in LEVELS:
            raise InvalidRegistryRecord(
                f"The level must be one of {', '.join(LEVELS)}.", field="approved_scope"
            )
        seen.add(ScopeItem(normalise_occupation_code(code), level))
    if not seen:
        raise InvalidRegistryRecord(
            "An approval names at least one occupation and level.", field="approved_scope"
        )
    if len(seen) > MAX_SCOPE:
        raise InvalidRegistryRecord(
            f"At most {MAX_SCOPE} occupations and levels.", field="approved_scope"
        )
    return sorted(seen, key=lambda s: (s.occupation_code, LEVELS.index(s.level)))


#: Level words an approval's scope may be written with, besides the codes themselves: 四级,
#: 中级工, 四级/中级工, level4 or 4.
LEVEL_WORDS: dict[str, str] = {
    **{lv: lv for lv in LEVELS},
    **{name: lv for lv, name in LEVEL_NAMES_ZH.items()},
    **{name.split("/")[0]: lv for lv, name in LEVEL_NAMES_ZH.items()},
    **{name.split("/")[-1]: lv for lv, name in LEVEL_NAMES_ZH.items()},
    **{lv.removeprefix("level"): lv for lv in LEVELS if lv.startswith("level")},
}


def parse_scope(text: str) -> list[tuple[str, str]]:
    """An approval's scope as typed (the regulator's form, the CLI): one ``occupation code`` and
    ``level`` a line (``6-31-01-03 四级`` or ``6-31-01-03 level4``; a comma may separate
    them); :func:`normalise_scope` then validates the codes and levels. 422
    ``invalid_registry_record`` naming the ``line`` otherwise."""
    items: list[tuple[str, str]] = []
    for n, line in enumerate(text.splitlines(), start=1):
        parts = line.replace("，", " ").replace(",", " ").split()
        if not parts:
            continue
        if len(parts) != 2 or parts[1] not in LEVEL_WORDS:
            raise InvalidRegistryRecord(
                f"Line {n}: write an occupation code and a level, e.g. 6-31-01-03 四级.",
                field="approved_scope",
                line=n,
            )
        items.append((parts[0], LEVEL_WORDS[parts[1]]))
    return items


def scope_of(inst: Institution) -> list[ScopeItem]:
    return [ScopeItem(s["occupation_code"], s["level"]) for s in inst.approved_scope or []]
