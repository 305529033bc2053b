"""The ``skilltrace`` command: serve, migrate, seed, manage accounts, export and verify audit."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy.exc import SQLAlchemyError
from typer.core import TyperGroup
from typer.exceptions import TyperException

from app.attendance.cli import face_app
from app.config import get_settings
from app.exchange.cli import deliver_exchange
from app.webhooks.cli import deliver_webhooks


def describe(exc: BaseException) -> str:
    """One line an operator can act on, for an error a command did not handle itself."""
    from app.errors import DomainError

    if isinstance(exc, ValidationError):
        what = "configuration" if exc.title == "Settings" else exc.title
        problems = "; ".join(
            (f"{'.'.join(map(str, e['loc']))}: " if e["loc"] else "")
            + str(e["msg"]).removeprefix("Value error, ")
            for e in exc.errors()
        )
        return f"invalid {what}: {problems}"
    if isinstance(exc, DomainError):
        return f"{exc.code}: {exc.detail}"
    if isinstance(exc, SQLAlchemyError):
        cause = getattr(exc, "orig", None) or exc
        first = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
        return f"database: {first}"
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


class OneLineErrors(TyperGroup):
    """Turns an error no command handled into one line on stderr and exit code 1; the traceback
    only with ``skilltrace --debug …`` (or SKILLTRACE_DEBUG=1)."""

    def invoke(self, ctx: Any) -> Any:  # typer vendors click: its Context type is private
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, TyperException):
            raise  # usage errors and deliberate exits keep typer's own handling
        except Exception as exc:
            if (ctx.obj or {}).get("debug") or os.environ.get("SKILLTRACE_DEBUG") == "1":
                raise
            # One line however wide the terminal (rich would wrap it at 80 columns).
            typer.echo(f"error: {describe(exc)} (--debug shows the traceback)", err=True)
            raise typer.Exit(1) from None


app = typer.Typer(
    cls=OneLineErrors,
    help="SkillTrace operations.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
audit_app = typer.Typer(
    help="Export and verify the tamper-evident audit trail.", no_args_is_help=True
)
app.add_typer(audit_app, name="audit")
app.add_typer(face_app, name="face", help="Face tools for operators: compare, calibrate.")
app.command("deliver-webhooks")(deliver_webhooks)
app.command("deliver-exchange")(deliver_exchange)
err = Console(stderr=True)


@app.callback()
def _options(
    ctx: typer.Context,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the full traceback of an unexpected error.")
    ] = False,
) -> None:
    """SkillTrace operations."""
    ctx.obj = {"debug": debug}
    # Every command sees the same cross-domain reactions as the app (app/wiring.py): the sweep
    # writes its webhook events, a completion its certificate.
    from app.wiring import wire

    wire()


def _fail(message: str, code: int = 1) -> None:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


@app.command()
def migrate() -> None:
    """Apply database migrations (creates the SQLite file under the data dir if needed)."""
    from app.migrate import upgrade

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url)
    err.print(f"database at head: {settings.resolved_database_url.split('@')[-1]}")


@app.command("seed-demo")
def seed_demo(
    keep: Annotated[
        bool,
        typer.Option(
            "--keep",
            help="On a database that already has data: add nothing, print the logins, exit 0 "
            "(what `make run` does on every start)",
        ),
    ] = False,
) -> None:
    """Seed the demo platform (institutions, courses, ~300 learners, six months of history)
    into an EMPTY development database and print the demo logins."""
    import time

    from app.db import get_engine, transaction
    from app.demo import DEMO_LOGINS, DemoRefused, check_may_seed, seed

    settings = get_settings()
    try:
        with transaction(get_engine()) as session:
            check_may_seed(session)
    except DemoRefused as exc:
        if not keep:
            _fail(f"seed-demo: {exc}")
        err.print(f"seed-demo: {exc}")
        if settings.env.value != "production":  # the demo's passwords are no one's elsewhere
            _print_logins(DEMO_LOGINS)
        return
    started = time.perf_counter()
    with Progress(
        TextColumn("[bold]seed-demo[/] {task.description:<12}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeRemainingColumn(),
        console=err,
        transient=False,
    ) as bar:
        task = bar.add_task("", total=100)
        shares = _DEMO_STEP_SHARES

        def step(what: str, done: int, total: int) -> None:
            lo, hi = shares.get(what, (0, 100))
            bar.update(task, description=what, completed=lo + (hi - lo) * done / max(total, 1))

        try:
            with transaction(get_engine()) as session:
                result = seed(session, progress=step)
        except DemoRefused as exc:  # a concurrent seeder got there first
            _fail(f"seed-demo: {exc}")
        bar.update(task, description="完成", completed=100)
    elapsed = time.perf_counter() - started
    summary = ", ".join(f"{v} {k}" for k, v in result.counts.items())
    err.print(f"seeded in {elapsed:.1f} s: {summary}")
    _print_logins(result.logins)


#: Progress bar ranges (percent) of seed-demo's steps, by the step names app.demo reports.
_DEMO_STEP_SHARES = {
    "地区、机构与账号": (0, 10),
    "课程、题库与班级": (10, 20),
    "学员与学习记录": (20, 90),
    "证书与补贴申领": (90, 100),
}


def _print_logins(logins: Any) -> None:
    err.print("demo logins (development only):")
    for d in logins:
        err.print(f"  {d.role:<10} {d.username:<13} {d.password:<20} {d.note}")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address")] = None,
    port: Annotated[int | None, typer.Option(help="Port")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes")] = 1,
) -> None:
    """Serve the web app and API with uvicorn."""
    import uvicorn

    settings = get_settings()
    host = host or settings.host
    port = port or settings.port
    # The app (and worker processes) read the address from the settings: links in QR codes,
    # credentials and xAPI statements must name where we really serve.
    os.environ["SKILLTRACE_HOST"], os.environ["SKILLTRACE_PORT"] = host, str(port)
    get_settings.cache_clear()
    settings = get_settings()
    if workers > 1:
        # Each worker process counts in files here, so /metrics (whichever worker answers) sums
        # them all; the files are emptied at each start (counters restart from zero).
        from app.metrics import MULTIPROC_ENV

        metrics_dir = Path(
            os.environ.get(MULTIPROC_ENV) or settings.data_dir / "metrics" / f"port-{port}"
        )
        metrics_dir.mkdir(parents=True, exist_ok=True)
        for stale in metrics_dir.glob("*.db"):
            stale.unlink()
        os.environ[MULTIPROC_ENV] = str(metrics_dir)
    err.print(f"SkillTrace on http://{host}:{port}  (API docs: http://{host}:{port}/docs)")
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level.lower(),
        # JSON logs: uvicorn's own loggers go through our handler too (configured in the app).
        log_config=None if settings.log_format == "json" else uvicorn.config.LOGGING_CONFIG,
        proxy_headers=True,
    )


@app.command("create-institution")
def create_institution(
    code: Annotated[str, typer.Option(help="Institution code, e.g. SZ001")],
    name: Annotated[str, typer.Option(help="Full name")],
    region: Annotated[
        str | None, typer.Option(help="GB/T 2260 code of its region (loaded), e.g. 440305")
    ] = None,
) -> None:
    """Create an institution; prints its id."""
    from app.accounts import service as accounts
    from app.audit.service import Actor
    from app.db import get_engine, transaction
    from app.errors import DomainError

    try:
        with transaction(get_engine()) as session:
            inst = accounts.create_institution(
                session, code=code, name=name, region_code=region, actor=Actor.system()
            )
            out = {"id": str(inst.id), "code": inst.code, "name": inst.name}
            typer.echo(json.dumps({**out, "region_code": inst.region_code}, ensure_ascii=False))
    except DomainError as exc:
        _fail(f"{exc.code}: {exc.detail}")


@app.command("create-user")
def create_user(
    role: Annotated[str, typer.Option(help="staff | regulator | admin")],
    username: Annotated[str, typer.Option()],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    institution: Annotated[str | None, typer.Option(help="Institution code (staff)")] = None,
    real_name: Annotated[str | None, typer.Option()] = None,
    jurisdiction: Annotated[
        str | None,
        typer.Option(help="Regulators: region code of their jurisdiction (000000: national)"),
    ] = None,
) -> None:
    """Create a staff, regulator or admin account; prints its id."""
    from app.accounts import service as accounts
    from app.accounts.models import Role
    from app.audit.service import Actor
    from app.db import get_engine, transaction
    from app.errors import DomainError

    try:
        r = Role(role)
    except ValueError:
        _fail("role must be one of staff, regulator, admin")
        return
    try:
        with transaction(get_engine()) as session:
            inst_id = (
                accounts.get_institution_by_code(session, institution).id if institution else None
            )
            user = accounts.create_user(
                session,
                role=r,
                username=username,
                password=password,
                institution_id=inst_id,
                real_name=real_name,
                jurisdiction_code=jurisdiction,
                actor=Actor.system(),
            )
            typer.echo(json.dumps({"id": str(user.id), "username": user.username, "role": r.value}))
    except DomainError as exc:
        _fail(f"{exc.code}: {exc.detail}")


@app.command("load-regions")
def load_regions(
    file: Annotated[
        Path | None,
        typer.Argument(help="CSV: code,name[,parent] per line (UTF-8); omit with --demo"),
    ] = None,
    demo: Annotated[bool, typer.Option(help="Load the demo province (广东省)")] = False,
) -> None:
    """Add or rename administrative regions (GB/T 2260) from a CSV file; nothing is deleted.
    A bad file loads nothing and names its bad lines."""
    from app.audit.service import Actor
    from app.db import get_engine, transaction
    from app.errors import DomainError
    from app.programmes import regions

    if (file is None) == (not demo):
        _fail("give a FILE or --demo")
        return
    try:
        with transaction(get_engine()) as session:
            if file is None:
                result = regions.seed_demo_province(session, actor=Actor.system())
            else:
                result = regions.load_file(session, file, actor=Actor.system())
            typer.echo(json.dumps(dataclasses.asdict(result)))
    except OSError as exc:
        _fail(f"cannot read {file}: {exc.strerror}")
    except DomainError as exc:
        _fail(f"{exc.code}: {exc.detail}")


@app.command("create-api-key")
def create_api_key(
    institution: Annotated[str, typer.Option(help="Institution code")],
    name: Annotated[str, typer.Option(help="What the key is for")],
    scope: Annotated[list[str] | None, typer.Option(help="Scope (repeatable)")] = None,
) -> None:
    """Create a partner API key. The key is printed once; only its hash is stored."""
    from app.accounts import service as accounts
    from app.audit.service import Actor
    from app.db import get_engine, transaction
    from app.errors import DomainError

    try:
        with transaction(get_engine()) as session:
            inst = accounts.get_institution_by_code(session, institution)
            key, full = accounts.create_api_key(
                session, institution_id=inst.id, name=name, scopes=scope or [], actor=Actor.system()
            )
            typer.echo(json.dumps({"id": str(key.id), "key": full, "scopes": key.scopes}))
    except DomainError as exc:
        _fail(f"{exc.code}: {exc.detail}")


@app.command("suspend-institution")
def suspend_institution(
    code: Annotated[str, typer.Option(help="Institution code")],
    reason: Annotated[str, typer.Option(help="Why (kept in the audit log)")],
) -> None:
    """Suspend an institution: its staff are signed out and cannot sign in, its API keys stop
    working (not revoked). Its learners are not affected."""
    from app.accounts import administration
    from app.accounts import service as accounts
    from app.audit.service import Actor
    from app.db import get_engine, transaction

    with transaction(get_engine()) as session:
        inst = accounts.get_institution_by_code(session, code)
        administration.suspend_institution(session, inst.id, reason=reason, actor=Actor.system())
        typer.echo(json.dumps({"code": inst.code, "suspended": True}))


@app.command("reactivate-institution")
def reactivate_institution(
    code: Annotated[str, typer.Option(help="Institution code")],
    reason: Annotated[str, typer.Option(help="Why (kept in the audit log)")],
) -> None:
    """Lift a suspension: staff may sign in again, unrevoked API keys work again."""
    from app.accounts import administration
    from app.accounts import service as accounts
    from app.audit.service import Actor
    from app.db import get_engine, transaction

    with transaction(get_engine()) as session:
        inst = accounts.get_institution_by_code(session, code)
        administration.reactivate_institution(session, inst.id, reason=reason, actor=Actor.system())
        typer.echo(json.dumps({"code": inst.code, "suspended": False}))


@app.command("lock-user")
def lock_user(
    username: Annotated[str, typer.Option()],
    reason: Annotated[str, typer.Option(help="Why (kept in the audit log)")],
    unlock: Annotated[bool, typer.Option("--unlock", help="Unlock instead")] = False,
) -> None:
    """Lock an account (signed out, sign-in refused) or, with --unlock, unlock it."""
    from app.accounts import administration
    from app.audit.service import Actor
    from app.db import get_engine, transaction

    change = administration.unlock_user if unlock else administration.lock_user
    with transaction(get_engine()) as session:
        user = administration.get_user_by_username(session, username)
        change(session, user.id, reason=reason, actor=Actor.system())
        typer.echo(json.dumps({"username": user.username, "locked": not user.is_active}))


@app.command("reset-password")
def reset_password(
    username: Annotated[str, typer.Option()],
    password: Annotated[
        str | None, typer.Option(help="The new password (default: generate one, printed once)")
    ] = None,
) -> None:
    """Give an account a new password; its sessions end. A generated password is printed once."""
    from app.accounts import administration
    from app.audit.service import Actor
    from app.db import get_engine, transaction

    with transaction(get_engine()) as session:
        user = administration.get_user_by_username(session, username)
        _user, generated = administration.reset_password(
            session, user.id, actor=Actor.system(), new_password=password
        )
        typer.echo(json.dumps({"username": user.username, "password": generated}))


@app.command("renormalise-identifiers")
def renormalise_identifiers(
    dry_run: Annotated[bool, typer.Option(help="Report what would change; change nothing")] = False,
) -> None:
    """Rewrite ID numbers and usernames stored before normalisation (full-width digits…) to
    their one spelling, audited; exit 1 if one clashes with another account (left for a person
    to decide) or cannot be a valid ID number."""
    from app.accounts import repair
    from app.audit.service import Actor
    from app.db import get_engine, transaction

    with transaction(get_engine()) as session:
        report = repair.renormalise(session, actor=Actor.system(), dry_run=dry_run)
    typer.echo(
        json.dumps(
            {
                "checked": report.checked,
                "dry_run": dry_run,
                "id_numbers_fixed": [str(u) for u in report.id_numbers_fixed],
                "usernames_fixed": [str(u) for u in report.usernames_fixed],
                "conflicts": [
                    {"user": str(a), "clashes_with": str(b), "field": what}
                    for a, b, what in report.conflicts
                ],
                "invalid_id_numbers": [str(u) for u in report.invalid_id_numbers],
            }
        )
    )
    if report.conflicts or report.invalid_id_numbers:
        raise typer.Exit(1)


@app.command("assign-institutions")
def assign_institutions(
    dry_run: Annotated[bool, typer.Option(help="Report what would change; change nothing")] = False,
) -> None:
    """Learners who belong to no institution (registered before registration named one) join
    the one institution whose courses they study, audited; the rest choose at their next
    sign-in (/institution)."""
    from app.accounts import registration
    from app.audit.service import Actor
    from app.courses.enrolment import sole_institutions
    from app.db import get_engine, transaction

    with transaction(get_engine()) as session:
        assigned, left = registration.assign_institutions(
            session, sole_institutions(session), actor=Actor.system(), dry_run=dry_run
        )
    typer.echo(json.dumps({"assigned": assigned, "left_to_choose": left, "dry_run": dry_run}))


@app.command("purge-evidence")
def purge_evidence() -> None:
    """Delete evidence face crops older than the retention period (their hashes stay)."""
    from app.attendance import service as attendance
    from app.db import get_engine, transaction

    with transaction(get_engine()) as session:
        n = attendance.purge_evidence(session)
    days = get_settings().evidence_retention_days
    typer.echo(json.dumps({"purged": n, "retention_days": days}))


@app.command("purge-idempotency")
def purge_idempotency() -> None:
    """Delete Idempotency-Keys (and their stored responses) past idempotency_ttl_s."""
    from app.db import get_engine, transaction
    from app.idempotency import service as idempotency

    with transaction(get_engine()) as session:
        n = idempotency.purge_expired(session)
    typer.echo(json.dumps({"purged": n, "ttl_s": get_settings().idempotency_ttl_s}))


@app.command()
def sweep() -> None:
    """Mark roll-calls whose deadline passed without an answer as missed."""
    from app.courses.study import sweep_missed_rollcalls
    from app.db import get_engine, transaction

    with transaction(get_engine()) as session:
        n = sweep_missed_rollcalls(session)
    typer.echo(json.dumps({"missed": n}))


@app.command("ledger-check")
def ledger_check() -> None:
    """Recompute every enrolment's verified time from stored events; exit 1 on any mismatch."""
    from sqlmodel import select

    from app.courses.models import Enrollment
    from app.courses.study import check_ledger
    from app.db import get_engine, transaction

    bad = 0
    with transaction(get_engine(), reading=True) as session:
        enrollments = session.exec(select(Enrollment)).all()
        for e in enrollments:
            check = check_ledger(session, e)
            if not check.matches:
                bad += 1
                typer.echo(
                    json.dumps(
                        {
                            "enrollment": str(e.id),
                            "stored_seconds": check.stored_seconds,
                            "recomputed_seconds": check.recomputed.credited_seconds,
                        }
                    )
                )
    typer.echo(json.dumps({"checked": len(enrollments), "mismatches": bad}))
    if bad:
        raise typer.Exit(1)


@audit_app.command("export")
def audit_export(
    institution: Annotated[
        str | None, typer.Option(help="Institution code; omit for the platform chain")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File (default: stdout)")
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="ndjson or csv (as GET /api/v1/audit/export)")
    ] = "ndjson",
) -> None:
    """Write one chain as NDJSON or CSV, ending with a signed checkpoint."""
    from app.accounts import service as accounts
    from app.audit import export
    from app.audit import service as audit
    from app.db import get_engine, transaction
    from app.errors import DomainError

    if fmt not in ("ndjson", "csv"):
        _fail("--format must be ndjson or csv")
    try:
        with transaction(get_engine(), reading=True) as session:
            inst_id = (
                accounts.get_institution_by_code(session, institution).id if institution else None
            )
            chunks = export.iter_export_bytes(
                session, audit.chain_for(inst_id), fmt="csv" if fmt == "csv" else "ndjson"
            )
            if output is None:
                for chunk in chunks:
                    sys.stdout.buffer.write(chunk)
            else:
                with output.open("wb") as fh:
                    for chunk in chunks:
                        fh.write(chunk)
    except DomainError as exc:
        _fail(f"{exc.code}: {exc.detail}")


@audit_app.command("public-key")
def audit_public_key() -> None:
    """Print the JWKS with the public key that signs checkpoints."""
    from app.audit import signing

    typer.echo(json.dumps(signing.jwks(), indent=2))


#: Exit status of ``audit verify --no-signature-check`` on an intact chain: not verified.
UNVERIFIED_EXIT = 3


@audit_app.command("verify")
def audit_verify(
    file: Annotated[Path, typer.Argument(help="NDJSON or CSV export", exists=True, dir_okay=False)],
    key: Annotated[
        Path | None,
        typer.Option(
            "--jwks",
            "--key",
            help="The JWKS (or PEM public key) that signs checkpoints; --key is an old alias",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    no_signature_check: Annotated[
        bool,
        typer.Option(
            "--no-signature-check",
            help="Check the chain without a key: prints UNVERIFIED and exits 3 even if intact",
        ),
    ] = False,
    prev_hash: Annotated[
        str | None, typer.Option(help="Hash of the entry before a partial export")
    ] = None,
) -> None:
    """Recompute a chain offline and check its signed checkpoint; exit 0 if intact and signed,
    1 with the first bad position otherwise (3: intact but, with --no-signature-check, unsigned).

    A chain alone proves nothing (anyone can re-hash an edited one): the key is required unless
    --no-signature-check says, explicitly, that the result is UNVERIFIED."""
    from app.audit.verify import BadLine, verify_export

    if key is None and not no_signature_check:
        err.print(
            "error: pass --jwks (the JWKS or PEM public key that signs checkpoints; "
            "`skilltrace audit public-key` prints it) or --no-signature-check"
        )
        raise typer.Exit(2)
    size = file.stat().st_size
    try:
        with (
            file.open("rb") as fh,
            Progress(
                TextColumn("verifying"),
                BarColumn(),
                TextColumn("{task.fields[n]} entries"),
                TimeRemainingColumn(),
                console=err,
                transient=True,
                disable=not err.is_terminal,
            ) as progress,
        ):
            task = progress.add_task("verify", total=size, n=0)
            result = verify_export(
                fh,
                key,
                expected_prev=prev_hash,
                progress=lambda done, n: progress.update(task, completed=done, n=n),
            )
    except BadLine as exc:
        typer.echo(json.dumps({"ok": False, "line": exc.line, "seq": exc.seq, "error": exc.error}))
        raise typer.Exit(1) from None
    for note in result.notes:
        err.print(f"note: {note}")
    if not result.ok:
        typer.echo(
            json.dumps(
                {"ok": False, "line": result.bad_line, "seq": result.bad_seq, "error": result.error}
            )
        )
        raise typer.Exit(1)
    summary = {
        "chain": result.chain,
        "entries": result.entries,
        "first_seq": result.first_seq,
        "last_seq": result.last_seq,
        "head_hash": result.head_hash,
        "signature_verified": result.checkpoint_verified,
    }
    if not result.checkpoint_verified:
        err.print(
            "UNVERIFIED: the chain is consistent, but without its signature anyone could "
            "have re-hashed it"
        )
        typer.echo(json.dumps({"ok": False, "verdict": "UNVERIFIED", **summary}))
        raise typer.Exit(UNVERIFIED_EXIT)
    typer.echo(json.dumps({"ok": True, **summary}))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
