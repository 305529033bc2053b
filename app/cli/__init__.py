"""The ``skilltrace`` command: serve, migrate, seed, manage accounts, export and verify audit.

One module per command group: :mod:`app.cli.base` (the typer app, one-line errors, ``--debug``),
:mod:`app.cli.server` (migrate, seed-demo, serve), :mod:`app.cli.accounts` (institutions, users,
regions, API keys), :mod:`app.cli.registry` (the regulator's registry decisions),
:mod:`app.cli.maintenance` (purges, sweep, ledger check) and :mod:`app.cli.audit` (export,
public key, verify), :mod:`app.cli.storage` (the file store: check, verify, copy a local install
to S3); the face tools, webhook and exchange delivery commands live with their domains.
Importing this package registers every command, in the order ``skilltrace --help`` lists them.
"""

from __future__ import annotations

# The commands register in this order, the order ``skilltrace --help`` lists them.
# isort: off
from app.cli import server
from app.cli import accounts
from app.cli import registry
from app.cli import maintenance
from app.cli import audit
from app.cli import storage

# isort: on
from app.cli.base import OneLineErrors, app, audit_app, describe, err, fail

__all__ = [
    "OneLineErrors",
    "accounts",
    "app",
    "audit",
    "audit_app",
    "describe",
    "err",
    "fail",
    "main",
    "maintenance",
    "registry",
    "server",
    "storage",
]


def main() -> None:
    app()
