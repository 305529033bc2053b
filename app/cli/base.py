"""The ``skilltrace`` command's root: the typer app, its sub-groups, one-line errors for what no
command handled, the ``--debug`` option and the cross-domain wiring every command runs with.
The commands register themselves on :data:`app` from the modules of this package."""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError
from typer.core import TyperGroup
from typer.exceptions import TyperException

from app.attendance.cli import face_app
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


def fail(message: str, code: int = 1) -> None:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)
