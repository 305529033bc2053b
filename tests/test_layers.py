"""The import graph of ``app/`` is layered: no package imports one above it.

From the bottom: the base modules (``app/*.py``: db, config, errors, clock, crypto, …), then

    audit < accounts, programmes < attendance < courses < certificates
          < reports, webhooks, handoff, idempotency, claims, exchange,
            outcomes < http < api, web

and on top the composition roots (``main``, ``cli``, ``demo``, ``models``, ``wiring``), which
may import anything. Audit sits below accounts because every domain, accounts included, writes
its audit entries (``audit.append``); app/audit reads nothing of the domains (xAPI, a read model
over courses, lives in app/reports; so does the rule which audit chain a caller may read).
Packages on one level may import each other. Imports inside functions count too.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app"

LAYERS: list[set[str]] = [
    {"audit"},
    # Regions and jurisdictions (programmes) decide what a regulator principal sees, so they sit
    # beside accounts; standards and eligibility rules there take the facts as arguments.
    {"accounts", "programmes"},
    {"attendance"},
    {"courses"},
    # Class filing (备案) reads certificates for a completion's results, and the subsidy rules
    # read filings: one level.
    {"certificates", "filing"},
    # Read models and partners' plumbing over the domains; app/status.py (the admins' system
    # status) is one more read model over all of them.
    {"reports", "webhooks", "handoff", "idempotency", "status", "claims", "exchange", "outcomes"},
    # What the two HTTP layers share (the request's unit of work, cookies, frame uploads).
    {"http"},
    {"api", "web"},
]
ROOTS = {"main", "cli", "demo", "models", "wiring"}
BASE = -1
TOP = len(LAYERS)


def level(part: str) -> int:
    """The level of ``app.<part>`` (a package or a top-level module)."""
    for n, packages in enumerate(LAYERS):
        if part in packages:
            return n
    if part in ROOTS:
        return TOP
    if (APP / f"{part}.py").exists() or not (APP / part).is_dir():
        return BASE  # a base module, or a name from app/__init__.py (__version__)
    raise AssertionError(f"app.{part} is on no level: add it to LAYERS in {__file__}")


def imported_parts(tree: ast.AST, module: str) -> list[tuple[int, str]]:
    """(line, first part after ``app.``) of every import of ``app`` in a module's tree."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the module's package
                base = module.split(".")[: -node.level]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            names = [f"app.{a.name}" for a in node.names] if target == "app" else [target]
        else:
            continue
        found += [(node.lineno, n.split(".")[1]) for n in names if n.startswith("app.")]
    return found


def violations(path: Path, source: str) -> list[str]:
    rel = path.relative_to(APP.parent)
    module = ".".join(rel.with_suffix("").parts)
    own = rel.parts[1].removesuffix(".py")
    mine = level(own)
    return [
        f"{rel}:{line} ({own}) imports app.{part}, which is above it"
        for line, part in imported_parts(ast.parse(source), module)
        if part != own and level(part) > mine
    ]


def test_no_package_imports_one_above_it() -> None:
    found = [
        v for path in sorted(APP.rglob("*.py")) for v in violations(path, path.read_text("utf-8"))
    ]
    assert found == []


def test_every_package_has_a_level() -> None:
    for path in APP.iterdir():
        if path.is_dir() and (path / "__init__.py").exists():
            level(path.name)


def test_the_check_sees_upward_imports() -> None:
    # What the old layout had: the hand-off inside attendance importing courses and certificates,
    # and audit importing courses; plus a domain reaching into the HTTP layer, lazily.
    cases = {
        "attendance/handoff.py": "from app.courses import quiz, study\n",
        "audit/xapi.py": "from app.courses.models import Course\n",
        "courses/x.py": "def f():\n    from app.web import pages\n",
        "accounts/x.py": "from app import courses\n",
        "db.py": "import app.accounts.models\n",
        "courses/y.py": "from ..certificates import service\n",
    }
    for rel, source in cases.items():
        assert len(violations(APP / rel, source)) == 1, rel
    assert violations(APP / "courses/x.py", "from app.attendance import service\n") == []
    assert violations(APP / "main.py", "from app.web import pages\n") == []


def test_no_test_module_imports_another() -> None:
    """Shared builders live in tests/factories.py (and helper modules such as
    tests/web/regulator_world.py), never in a test module another one imports: importing a test
    module runs its fixtures and tests twice over and hides where a builder lives."""
    tests = APP.parent / "tests"
    found = []
    for path in sorted(tests.rglob("*.py")):
        module = ".".join(path.relative_to(APP.parent).with_suffix("").parts)
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            found += [
                f"{module}:{node.lineno} imports {name}"
                for name in names
                if name.startswith("tests.") and name.rsplit(".", 1)[-1].startswith("test_")
            ]
    assert found == []


#: What only a domain may do: query the database, end a transaction, decide who sees what.
_DOMAIN_ONLY = re.compile(
    r"select\(|session\.(get|exec|execute|commit|rollback)\(|can_see_institution"
)


def test_the_http_layers_hold_no_query_and_no_permission_rule() -> None:
    """app/api and app/web only translate HTTP (issue 11): a line that queries, commits or
    decides visibility belongs in app/<domain>/ (a line may say why it is an exception with a
    comment)."""
    found = []
    for package in ("api", "web"):
        for path in sorted((APP / package).rglob("*.py")):
            for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if _DOMAIN_ONLY.search(line) and "#" not in line:
                    found.append(f"{path.relative_to(APP.parent)}:{no}: {line.strip()}")
    assert found == []


def test_the_two_http_layers_do_not_import_each_other() -> None:
    """The REST API and the pages share what they share through app/http (issue 11): a page
    module importing app/api (or the reverse) makes one HTTP layer depend on the other's
    wiring."""
    found = [
        f"{path.relative_to(APP.parent)}:{line} imports app.{part}"
        for mine, other in (("api", "web"), ("web", "api"))
        for path in sorted((APP / mine).rglob("*.py"))
        for line, part in imported_parts(
            ast.parse(path.read_text("utf-8")),
            ".".join(path.relative_to(APP.parent).with_suffix("").parts),
        )
        if part == other
    ]
    assert found == []


#: A module of app/ is at most this long unless its docstring says why it is kept whole.
MAX_MODULE_LINES = 500
#: Modules still over the limit, each to be split along its sections (issue 11 split the last
#: four: app/demo, app/main, app/courses/models and app/courses/schemas are packages now).
#: Nothing may join this list; a test below fails on an entry that no longer needs to be here.
SPLIT_PENDING: set[str] = set()
_KEPT_WHOLE = re.compile(r"^Kept whole: \S", re.MULTILINE)


def long_modules(root: Path) -> list[str]:
    """Modules under ``root`` over :data:`MAX_MODULE_LINES` whose docstring gives no reason
    ("Kept whole: …") for staying one module."""
    found = []
    for path in sorted(root.rglob("*.py")):
        source = path.read_text("utf-8")
        lines = len(source.splitlines())
        if lines <= MAX_MODULE_LINES:
            continue
        doc = ast.get_docstring(ast.parse(source)) or ""
        if not _KEPT_WHOLE.search(doc):
            found.append(f"{path.relative_to(root.parent).as_posix()} ({lines} lines)")
    return found


def test_no_module_is_over_500_lines_without_a_reason() -> None:
    """Big modules split along their sections (issue 11): a module over 500 lines says in its
    docstring why it is kept whole."""
    found = [m for m in long_modules(APP) if m.split(" ")[0] not in SPLIT_PENDING]
    assert found == []


def test_the_length_check_sees_a_long_module_and_its_reason(tmp_path: Path) -> None:
    package = tmp_path / "app"
    package.mkdir()
    body = "x = 1\n" * MAX_MODULE_LINES
    (package / "short.py").write_text('"""Short."""\n' + "x = 1\n" * 10)
    (package / "long.py").write_text('"""Long."""\n' + body)
    (package / "kept.py").write_text('"""Long.\n\nKept whole: one table.\n"""\n' + body)
    assert long_modules(package) == [f"app/long.py ({MAX_MODULE_LINES + 1} lines)"]


def test_the_split_pending_list_holds_only_long_modules() -> None:
    """An entry whose module was split (or shrank) leaves the list, so it cannot hide a
    module that grows back."""
    stale = [
        path
        for path in sorted(SPLIT_PENDING)
        if not (APP.parent / path).exists()
        or len((APP.parent / path).read_text(encoding="utf-8").splitlines()) <= MAX_MODULE_LINES
    ]
    assert stale == [], stale
