"""``skilltrace deliver-exchange``: send due records to the regional system (cron deployments)."""

from __future__ import annotations

import json
import time
from typing import Annotated

import typer


def deliver_exchange(
    loop: Annotated[
        int,
        typer.Option(help="Keep running, a round every LOOP seconds (0: one round, then exit)."),
    ] = 0,
) -> None:
    """Send every regional-exchange record that is due (retries included); print the outcome."""
    from app.db import get_engine
    from app.exchange.delivery import deliver_due

    while True:
        report = deliver_due(get_engine())
        typer.echo(json.dumps(report.as_dict()))
        if loop <= 0:
            return
        time.sleep(loop)
