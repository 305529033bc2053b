"""The institution registry from the command line: ``skilltrace registry approve|suspend|revoke``.

The same service as the regulator's page and ``/api/v1/registry/institutions/{id}/…``
(:mod:`app.programmes.registry`), acting as a named regulator account (``--regulator``): its
jurisdiction must cover the institution, the reason and scope are checked alike, and the audit
entry names that regulator. A refusal is one line on stderr (``code: detail``) and exit code 1.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated

import typer
from sqlmodel import Session

from app.accounts.models import Institution
from app.accounts.principal import Principal
from app.cli.base import app

registry_app = typer.Typer(
    help="The institution registry: approve (for occupations and levels), suspend, revoke.",
    no_args_is_help=True,
)
app.add_typer(registry_app, name="registry")

Institution_ = Annotated[str, typer.Option("--institution", help="Institution code, e.g. SZ001")]
Regulator = Annotated[
    str,
    typer.Option(help="Username of the regulator deciding (its jurisdiction covers the region)"),
]
Reason = Annotated[str, typer.Option(help="Why (at least 4 characters; kept in the audit log)")]


def _decide(
    institution: str, regulator: str, decide: Callable[[Session, Principal, Institution], object]
) -> None:
    from app.accounts import service as accounts
    from app.accounts.administration import get_user_by_username
    from app.db import get_engine, transaction
    from app.errors import DomainError

    try:
        with transaction(get_engine()) as session:
            inst = accounts.get_institution_by_code(session, institution)
            principal = Principal.of_user(get_user_by_username(session, regulator))
            decide(session, principal, inst)
            out = {
                "code": inst.code,
                "registry_status": inst.registry_status.value,
                "approved_scope": inst.approved_scope,
            }
            typer.echo(json.dumps(out, ensure_ascii=False))
    except DomainError as exc:  # one line however wide the terminal (rich would wrap it)
        typer.echo(f"error: {exc.code}: {exc.detail}", err=True)
        raise typer.Exit(1) from None


@registry_app.command("approve")
def approve(
    institution: Institution_,
    regulator: Regulator,
    reason: Reason,
    scope: Annotated[
        list[str],
        typer.Option(
            help="An occupation code and level, e.g. '6-31-01-03 四级' or '6-31-01-03 level4' "
            "(repeat for each)"
        ),
    ],
) -> None:
    """核准 a pending or suspended institution (or give an approved one a new scope) for the
    occupations and levels named; prints its registry status and scope."""
    from app.programmes import registry

    def run(session: Session, principal: Principal, inst: Institution) -> object:
        items = registry.parse_scope("\n".join(scope))
        return registry.approve(session, principal, inst.id, scope=items, reason=reason)

    _decide(institution, regulator, run)


@registry_app.command("suspend")
def suspend(institution: Institution_, regulator: Regulator, reason: Reason) -> None:
    """暂停 an approved institution: its staff keep reading, but open no class, issue no
    certificate and file no claim until approved again."""
    from app.programmes import registry

    _decide(
        institution,
        regulator,
        lambda s, p, inst: registry.suspend(s, p, inst.id, reason=reason),
    )


@registry_app.command("revoke")
def revoke(institution: Institution_, regulator: Regulator, reason: Reason) -> None:
    """撤销 an institution's registration (final)."""
    from app.programmes import registry

    _decide(
        institution,
        regulator,
        lambda s, p, inst: registry.revoke(s, p, inst.id, reason=reason),
    )
