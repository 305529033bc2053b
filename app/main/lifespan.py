"""What runs beside the requests, from start-up to shutdown: the audit key, the file store's
check, the face workers, the token-cache listener, and the background loops (the roll-call
sweep, webhook and regional exchange deliveries), each stopped on shutdown."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import anyio
from fastapi import FastAPI

from app import __version__
from app.accounts import tokencache
from app.attendance import engine as face_engine
from app.audit import signing
from app.certificates import credential
from app.config import Settings
from app.exchange.delivery import deliver_forever as deliver_exchange_forever
from app.keys import KeyNotConfigured
from app.storage import StorageUnavailable, check_storage
from app.webhooks.delivery import deliver_forever as deliver_webhooks_forever

log = logging.getLogger("skilltrace")


async def _sweep_forever(interval_s: int) -> None:
    """Mark roll-calls nobody answered as missed, off the event loop, every few seconds."""
    from app.courses.study import sweep_missed_rollcalls
    from app.db import get_engine, transaction

    def sweep() -> int:
        with transaction(get_engine()) as session:
            return sweep_missed_rollcalls(session)

    while True:
        await asyncio.sleep(interval_s)
        try:
            n = await anyio.to_thread.run_sync(sweep)
            if n:
                log.info("marked %d unanswered roll-calls as missed", n)
        except Exception:
            log.exception("roll-call sweep failed; retrying")


def signing_keys(settings: Settings) -> None:
    """Load the signing keys (the audit key created if this node may create it): on nodes that
    share no data dir (files in a bucket), both must be configured, or this raises
    :class:`KeyNotConfigured` naming the setting before any request is served."""
    signing.signing_key()
    if settings.storage == "s3":  # elsewhere the credential key is made on first use (slow RSA)
        credential.signing_key()


def templates_loaded(n: int) -> str:
    """The index's size in the start-up log: an empty one says why, so it does not read as a
    fault (a new platform, or the demo, whose face decisions are simulated without faces)."""
    return f"{n} templates" if n else "0 templates: no enrolled faces yet"


def _keep_index_current(interval_s: int, stop: threading.Event) -> threading.Thread:
    """Load this process's 1:N face index now and keep it current every ``interval_s``, in a
    daemon thread until ``stop`` is set (app/attendance/templates.maintain_index)."""
    from app.attendance.templates import maintain_index
    from app.db import get_engine

    def run() -> None:
        loaded = False
        while not stop.is_set():
            try:
                started = time.monotonic()
                index = maintain_index(get_engine())
                if not loaded:
                    loaded = True
                    log.info(
                        "face index loaded: %s in %.1f s (%s)",
                        templates_loaded(len(index)),
                        time.monotonic() - started,
                        "from the snapshot" if index.restored is not None else "from the database",
                    )
            except Exception:
                log.exception("face index refresh failed; retrying")
            stop.wait(interval_s)

    thread = threading.Thread(target=run, name="face-index", daemon=True)
    thread.start()
    return thread


def lifespan_of(settings: Settings) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """The app's lifespan under ``settings``."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        try:  # the audit key is created now, not on the first request (app/keys.py)
            signing_keys(settings)
        except KeyNotConfigured as exc:
            log.error("cannot start: %s", exc)
            raise
        try:  # the file store (a bucket every node shares) answers before requests come
            await anyio.to_thread.run_sync(check_storage, settings)
        except StorageUnavailable as exc:
            log.error("cannot start: %s: %s", exc.code, exc.detail)
            raise
        face_engine.start()
        stop_listening = threading.Event()
        tokencache.listen(settings.resolved_database_url, stop_listening)
        if settings.face_index_refresh_interval_s:
            _keep_index_current(settings.face_index_refresh_interval_s, stop_listening)
        sweeper = None
        if settings.rollcall_sweep_interval_s:
            sweeper = asyncio.create_task(_sweep_forever(settings.rollcall_sweep_interval_s))
        webhook_sender = None
        if settings.webhook_delivery_interval_s:
            webhook_sender = asyncio.create_task(
                deliver_webhooks_forever(settings.webhook_delivery_interval_s)
            )
        exchange_sender = None
        if settings.regional_exchange_interval_s and settings.regional_exchange_url:
            exchange_sender = asyncio.create_task(
                deliver_exchange_forever(settings.regional_exchange_interval_s)
            )
        log.info("SkillTrace %s (%s) on %s", __version__, settings.env.value, settings.base_url)
        try:
            yield
        finally:
            stop_listening.set()
            if sweeper is not None:
                sweeper.cancel()
            if webhook_sender is not None:
                webhook_sender.cancel()
            if exchange_sender is not None:
                exchange_sender.cancel()
            # Off the event loop: waits (bounded) for the workers to exit, kills stragglers.
            await anyio.to_thread.run_sync(face_engine.shutdown)

    return lifespan
