"""``skilltrace audit …``: export the tamper-evident audit trail, publish its public key, verify
an export."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from app.cli.base import audit_app, err, fail


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
        fail("--format must be ndjson or csv")
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
        fail(f"{exc.code}: {exc.detail}")


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
