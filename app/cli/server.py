"""``skilltrace migrate``, ``seed-demo`` and ``serve``: the database and the server."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from app.cli.base import app, err, fail
from app.config import get_settings


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
            fail(f"seed-demo: {exc}")
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
            fail(f"seed-demo: {exc}")
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
    # The file store answers before any worker starts: a wrong bucket or key is one line here.
    from app.storage import check_storage

    check_storage()
    # Nodes on a bucket share no data dir: their signing keys come from configuration.
    from app.keys import KeyNotConfigured
    from app.main.lifespan import signing_keys

    try:
        signing_keys(settings)
    except KeyNotConfigured as exc:  # one line however wide the terminal (rich would wrap it)
        typer.echo(f"error: cannot start: {exc}", err=True)
        raise typer.Exit(1) from None
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
