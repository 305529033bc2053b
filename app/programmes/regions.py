"""Administrative regions by GB/T 2260 code and what "within a jurisdiction" means.

A code has six digits: province (``XX0000``), prefecture (``XXXX00``) and county (``XXXXXX``).
Everything under a region shares its significant prefix (2, 4 or 6 digits), which is how a
jurisdiction is matched in SQL (``region_code LIKE '4403%'``) without walking the tree. The
national level is the root ``000000`` (全国, not a GB/T 2260 code): its prefix is empty.

Regions are loaded from a CSV file (``code,name`` per line, as the national statistics bureau
and the civil affairs ministry publish them; a ``parent`` column is optional): the demo province
ships in ``data/`` and ``skilltrace load-regions FILE`` adds the rest.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session, col, select

from app.audit import service as audit
from app.audit.service import Actor
from app.errors import DomainError
from app.programmes.exceptions import InvalidRegionCode, InvalidRegionFile, RegionNotFound
from app.programmes.models import Region, RegionLevel
from app.validation import check_text, normalise_identifier

NATIONAL = "000000"
NATIONAL_NAME = "全国"
DEMO_FILE = Path(__file__).parent / "data" / "regions_440000.csv"

#: Province-level codes of GB/T 2260 (incl. Taiwan 71, Hong Kong 81, Macao 82).
PROVINCES = frozenset(
    {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46}
    | {50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82}
)
_CODE = re.compile(r"[0-9]{6}", re.ASCII)
MAX_FILE_ROWS = 10_000  # all of China's county-level divisions are fewer than 3,000


def normalise_code(raw: str) -> str:
    """A region code as stored, or :class:`InvalidRegionCode` (format and province)."""
    code = normalise_identifier(raw)
    if code == NATIONAL:
        return code
    if not _CODE.fullmatch(code) or int(code[:2]) not in PROVINCES:
        raise InvalidRegionCode(f"{raw!r} is not a 6-digit GB/T 2260 code.", field="region_code")
    return code


def level_of(code: str) -> RegionLevel:
    if code == NATIONAL:
        return RegionLevel.national
    if code.endswith("0000"):
        return RegionLevel.province
    if code.endswith("00"):
        return RegionLevel.prefecture
    return RegionLevel.county


def prefix(code: str) -> str:
    """The significant prefix every region under ``code`` shares ("" for national)."""
    return {
        RegionLevel.national: "",
        RegionLevel.province: code[:2],
        RegionLevel.prefecture: code[:4],
        RegionLevel.county: code,
    }[level_of(code)]


def within(region_code: str | None, jurisdiction_code: str) -> bool:
    """Whether a region lies in a jurisdiction (a region with no code only nationally)."""
    p = prefix(jurisdiction_code)
    if p == "":
        return True
    return region_code is not None and region_code.startswith(p)


def get_region(session: Session, code: str) -> Region:
    region = session.get(Region, normalise_code(code))
    if region is None:
        raise RegionNotFound(f"No region {code} is loaded (skilltrace load-regions FILE).")
    return region


def chain(session: Session, code: str) -> list[Region]:
    """The region and its parents, the region first (e.g. 南山区, 深圳市, 广东省, 全国)."""
    out: list[Region] = []
    region: Region | None = get_region(session, code)
    while region is not None and len(out) < 5:
        out.append(region)
        region = session.get(Region, region.parent_code) if region.parent_code else None
    return out


def full_name(session: Session, code: str | None) -> str:
    """``广东省深圳市南山区`` (national: 全国; no code: empty)."""
    if code is None:
        return ""
    regions = [r for r in reversed(chain(session, code)) if r.code != NATIONAL]
    return "".join(r.name for r in regions) or NATIONAL_NAME


def labelled(session: Session, *, places_only: bool = False) -> list[tuple[str, str]]:
    """Every loaded region as (code, full name), by code, in one query (for pickers);
    ``places_only``: without the national root (where an institution cannot be)."""
    every = {r.code: r for r in session.exec(select(Region))}

    def name(r: Region) -> str:
        parts: list[str] = []
        node: Region | None = r
        while node is not None and node.code != NATIONAL and len(parts) < 4:
            parts.append(node.name)
            node = every.get(node.parent_code) if node.parent_code else None
        return "".join(reversed(parts)) or NATIONAL_NAME

    return [
        (code, name(every[code]))
        for code in sorted(every)
        if not (places_only and code == NATIONAL)
    ]


def place(session: Session, code: str) -> Region:
    """A region an institution can be registered in: any loaded one but the national root."""
    region = get_region(session, code)
    if region.code == NATIONAL:
        raise InvalidRegionCode(
            "An institution is registered in a province, prefecture or county, not nationally.",
            field="region_code",
        )
    return region


def children(session: Session, code: str) -> list[Region]:
    stmt = select(Region).where(col(Region.parent_code) == code)
    return list(session.exec(stmt.order_by(col(Region.code))))


def in_jurisdiction(session: Session, jurisdiction_code: str) -> list[Region]:
    """Every loaded region in a jurisdiction, by code (for pickers)."""
    p = prefix(jurisdiction_code)
    stmt = select(Region).order_by(col(Region.code))
    if p:
        stmt = stmt.where(col(Region.code).startswith(p))
    return list(session.exec(stmt))


# ---------------------------------------------------------------- loading


@dataclass(frozen=True)
class Row:
    code: str
    name: str
    parent: str | None = None


@dataclass(frozen=True)
class LoadResult:
    added: int
    renamed: int
    unchanged: int


def parse_csv(text: str) -> list[Row]:
    """Rows of a region file: ``code,name[,parent]``, an optional header line, UTF-8 (a BOM is
    fine). Every problem is reported with its line number; nothing is loaded from a bad file."""
    rows: list[Row] = []
    problems: list[str] = []
    seen: set[str] = set()
    for n, fields in enumerate(csv.reader(io.StringIO(text.lstrip("\ufeff"))), start=1):
        if not fields or not "".join(fields).strip():
            continue
        if n == 1 and not normalise_identifier(fields[0]).isdigit():
            continue  # a header
        if len(fields) < 2:
            problems.append(f"line {n}: expected code,name")
            continue
        try:
            code = normalise_code(fields[0])
            name = check_text(" ".join(fields[1].split()), field="name")
            parent = normalise_code(fields[2]) if len(fields) > 2 and fields[2].strip() else None
        except DomainError as e:  # a bad code, or a name check_text refuses
            problems.append(f"line {n}: {e.detail}")
            continue
        if code == NATIONAL:
            problems.append(f"line {n}: 000000 is the national root, not a region to load")
        elif not name or len(name) > 64:
            problems.append(f"line {n}: the name must be 1-64 characters")
        elif code in seen:
            problems.append(f"line {n}: {code} appears twice")
        else:
            seen.add(code)
            rows.append(Row(code, name, parent))
        if len(rows) > MAX_FILE_ROWS:
            problems.append(f"more than {MAX_FILE_ROWS} rows")
            break
    if problems:
        raise InvalidRegionFile("; ".join(problems[:20]))
    if not rows:
        raise InvalidRegionFile("The file holds no regions.")
    return rows


def _parent_of(code: str, known: set[str]) -> str:
    """The nearest existing ancestor: a county's prefecture, else its province (counties
    directly under a province, e.g. 429004 仙桃市), a prefecture's province, a province's root."""
    level = level_of(code)
    if level is RegionLevel.county and f"{code[:4]}00" in known:
        return f"{code[:4]}00"
    if level is RegionLevel.province:
        return NATIONAL
    province = f"{code[:2]}0000"
    if province in known:
        return province
    raise InvalidRegionFile(f"{code}: its province {province} is neither loaded nor in the file.")


def ensure_root(session: Session) -> Region:
    root = session.get(Region, NATIONAL)
    if root is None:
        root = Region(code=NATIONAL, name=NATIONAL_NAME, level=RegionLevel.national)
        session.add(root)
        session.flush()
    return root


def load(session: Session, rows: Iterable[Row], *, source: str, actor: Actor) -> LoadResult:
    """Add or rename regions (never delete: institutions and accounts refer to them), parents
    first; audited on the platform chain with the file's digest."""
    ensure_root(session)
    rows = sorted(rows, key=lambda r: (len(prefix(r.code)), r.code))
    known = set(session.exec(select(col(Region.code))))
    known |= {r.code for r in rows}
    existing = {r.code: r for r in session.exec(select(Region))}
    added = renamed = unchanged = 0
    for row in rows:
        parent = row.parent if row.parent is not None else _parent_of(row.code, known)
        if parent not in known or not row.code.startswith(prefix(parent)) or parent == row.code:
            raise InvalidRegionFile(f"{row.code}: parent {parent} is not a region above it.")
        region = existing.get(row.code)
        if region is None:
            session.add(
                Region(code=row.code, name=row.name, level=level_of(row.code), parent_code=parent)
            )
            added += 1
        elif region.name != row.name or region.parent_code != parent:
            region.name, region.parent_code = row.name, parent
            session.add(region)
            renamed += 1
        else:
            unchanged += 1
        session.flush()
    result = LoadResult(added, renamed, unchanged)
    audit.append(
        session,
        actor=actor,
        action="regions.loaded",
        subject="regions",
        payload={"source": source, "added": added, "renamed": renamed, "unchanged": unchanged},
    )
    return result


def load_file(session: Session, path: Path, *, actor: Actor) -> LoadResult:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRegionFile(f"{path.name} is not UTF-8 text.") from None
    digest = hashlib.sha256(data).hexdigest()
    return load(session, parse_csv(text), source=f"{path.name} sha256:{digest}", actor=actor)


def seed_demo_province(session: Session, *, actor: Actor) -> LoadResult:
    """The demo province (广东省: every prefecture, the counties of 广州 and 深圳)."""
    return load_file(session, DEMO_FILE, actor=actor)
