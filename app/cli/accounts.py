"""Account commands: institutions (create, suspend, reactivate), users (create, lock, reset
password), regions, partner API keys, and re-normalising stored ID numbers."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Annotated

import typer

from app.cli.base import app, fail


@app.command("create-institution")
def create_institution(
    code: Annotated[str, typer.Option(help="Institution code, e.g. SZ001")],
    name: Annotated[str, typer.Option(help="Full name")],
    region: Annotated[
        str | None, typer.Option(help="GB/T 2260 code of its region (loaded), e.g. 440305")
    ] = None,
    credit_code: Annotated[
        str | None, typer.Option(help="统一社会信用代码 (18 characters, GB 32100)")
    ] = None,
    legal_name: Annotated[str | None, typer.Option(help="Legal name (法定名称)")] = None,
    kind: Annotated[
        str | None, typer.Option(help="public | private | enterprise | technical_school")
    ] = None,
) -> None:
    """Create an institution, pending until the regulator of its region approves it; prints
    its id and registry status."""
    from app.accounts import service as accounts
    from app.audit.service import Actor
    from app.db import get_engine, transaction
    from app.errors import DomainError

    try:
        with transaction(get_engine()) as session:
            inst = accounts.create_institution(
                session,
                code=code,
                name=name,
                region_code=region,
                credit_code=credit_code,
                legal_name=legal_name,
                kind=kind,
                actor=Actor.system(),
            )
            out: dict[str, str | None] = {"id": str(inst.id), "code": inst.code}
            out |= {"name": inst.name, "region_code": inst.region_code}
            out |= {"credit_code": inst.credit_code}
            out |= {"registry_status": inst.registry_status.value}
            typer.echo(json.dumps(out, ensure_ascii=False))
    except DomainError as exc:
        fail(f"{exc.code}: {exc.detail}")


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
        fail("role must be one of staff, regulator, admin")
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
        fail(f"{exc.code}: {exc.detail}")


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
        fail("give a FILE or --demo")
        return
    try:
        with transaction(get_engine()) as session:
            if file is None:
                result = regions.seed_demo_province(session, actor=Actor.system())
            else:
                result = regions.load_file(session, file, actor=Actor.system())
            typer.echo(json.dumps(dataclasses.asdict(result)))
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror}")
    except DomainError as exc:
        fail(f"{exc.code}: {exc.detail}")


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
        fail(f"{exc.code}: {exc.detail}")


def _set_suspended(code: str, reason: str, *, suspend: bool) -> None:
    """Suspend or reactivate the institution ``code``, audited with ``reason``."""
    from app.accounts import administration
    from app.accounts import service as accounts
    from app.audit.service import Actor
    from app.db import get_engine, transaction

    change = (
        administration.suspend_institution if suspend else administration.reactivate_institution
    )
    with transaction(get_engine()) as session:
        inst = accounts.get_institution_by_code(session, code)
        change(session, inst.id, reason=reason, actor=Actor.system())
        typer.echo(json.dumps({"code": inst.code, "suspended": suspend}))


@app.command("suspend-institution")
def suspend_institution(
    code: Annotated[str, typer.Option(help="Institution code")],
    reason: Annotated[str, typer.Option(help="Why (kept in the audit log)")],
) -> None:
    """Suspend an institution: its staff are signed out and cannot sign in, its API keys stop
    working (not revoked). Its learners are not affected."""
    _set_suspended(code, reason, suspend=True)


@app.command("reactivate-institution")
def reactivate_institution(
    code: Annotated[str, typer.Option(help="Institution code")],
    reason: Annotated[str, typer.Option(help="Why (kept in the audit log)")],
) -> None:
    """Lift a suspension: staff may sign in again, unrevoked API keys work again."""
    _set_suspended(code, reason, suspend=False)


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
    temporary: Annotated[
        bool,
        typer.Option(
            "--temporary/--permanent",
            help="Whether the account must set its own password at its next sign-in "
            "(default: it must, as after a reset in the admin console)",
        ),
    ] = True,
) -> None:
    """Give an account a new password; its sessions end. A generated password is printed once.
    Unless ``--permanent``, the account must choose its own at its next sign-in."""
    from app.accounts import administration
    from app.audit.service import Actor
    from app.db import get_engine, transaction

    with transaction(get_engine()) as session:
        user = administration.get_user_by_username(session, username)
        _user, generated = administration.reset_password(
            session, user.id, actor=Actor.system(), new_password=password, temporary=temporary
        )
        typer.echo(
            json.dumps({"username": user.username, "password": generated, "must_change": temporary})
        )


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
