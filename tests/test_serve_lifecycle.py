"""`skilltrace serve` with face workers leaves no process behind (issue 12, item 8).

The server runs as a real subprocess on a free port with two face workers; the test records
every process descending from it (the workers and multiprocessing's resource tracker) by walking
/proc, stops the server, and waits for all of them to be gone.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.procs import alive, descendants, spawn_workers, wait_for

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc"),
]

REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:  # noqa: S310 - our own local server
            return bool(r.status == 200)
    except OSError:
        return False


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], set[int]]]:
    """A running server with its two face workers up; yields it and its descendants' pids."""
    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "SKILLTRACE_FACE_WORKERS": "2",
        "SKILLTRACE_DATA_DIR": str(tmp_path / "data"),
        "SKILLTRACE_DATABASE_URL": f"sqlite:///{tmp_path / 'st.db'}",
        "SKILLTRACE_ROLLCALL_SWEEP_INTERVAL_S": "0",
        "SKILLTRACE_WEBHOOK_DELIVERY_INTERVAL_S": "0",
        "SKILLTRACE_LOG_LEVEL": "INFO",
    }
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # signals of the test run do not reach it
    )
    family: set[int] = set()
    try:
        up = wait_for(
            lambda: (
                proc.poll() is None
                and _answers(f"http://127.0.0.1:{port}/healthz")
                and len(spawn_workers(proc.pid)) == 2
            ),
            timeout=180,
            interval=0.25,
        )
        assert up, (tmp_path / "serve.log").read_text()
        family = descendants(proc.pid)
        yield proc, family
    finally:
        # Clean up whatever the test left, by pid (on failure: the orphans it found).
        for pid in [proc.pid, *family]:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        proc.wait(30)
        log.close()


def test_sigterm_stops_the_face_workers_and_the_resource_tracker(
    server: tuple[subprocess.Popen[bytes], set[int]],
) -> None:
    proc, family = server
    assert len(family) >= 2
    proc.send_signal(signal.SIGTERM)
    # uvicorn shuts down gracefully, then re-raises the signal it caught.
    assert proc.wait(120) in (0, -signal.SIGTERM)
    assert wait_for(lambda: not any(alive(pid) for pid in family), timeout=30), [
        pid for pid in family if alive(pid)
    ]


def test_workers_exit_when_the_server_is_killed(
    server: tuple[subprocess.Popen[bytes], set[int]],
) -> None:
    proc, family = server
    proc.send_signal(signal.SIGKILL)  # no lifespan shutdown, no atexit: only the workers can act
    proc.wait(30)
    assert wait_for(lambda: not any(alive(pid) for pid in family), timeout=60), [
        pid for pid in family if alive(pid)
    ]
