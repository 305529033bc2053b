"""Lesson video serving: byte-range requests from the app vs a static file server, same run.

Starts `skilltrace serve` (uvicorn) on a temporary database with one published course whose video
lesson was uploaded through the service (a WebM converted at start from ../shared/faces/videos,
looped to the length asked for), and N enrolled learners; and, as the baseline, a bare static
file server for the same file on the same stack (uvicorn + Starlette StaticFiles: the same range
code, without sign-in, the enrolment check or the database). Both are driven by the same
concurrent clients, each asking for random ``Range: bytes=a-b`` chunks as a ``<video>`` does.

With ``--s3`` (the default) a third target is a second app node on the same database with
``SKILLTRACE_STORAGE=s3``, the video in a bucket of moto's S3 server (a local stand-in, started
as its own process): the app streams each range from the store (``GetObject`` with ``Range``).
The stand-in is far slower than a real store (pure Python, one process), so its own CPU per
request is printed apart from the app node's.

    .venv/bin/python benchmarks/video_serving.py [--seconds 10] [--concurrency 16]
        [--chunk-kib 256] [--video-seconds 120] [--learners 50] [--no-s3]

Prints requests/s, MB/s and p50/p99 latency per target, the server's CPU per request and the
load average when each figure was taken.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx2 as httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.heartbeat_load import cpu_seconds, free_port, load  # noqa: E402


def prepare(database_url: str, data_dir: Path, clip: Path, learners: int) -> tuple[str, list[str]]:
    """Migrate; a course with the clip as its video lesson; N enrolled learners' tokens."""
    os.environ["SKILLTRACE_DATABASE_URL"] = database_url
    os.environ["SKILLTRACE_DATA_DIR"] = str(data_dir)
    from app.accounts import service as accounts
    from app.accounts.idcard import check_char
    from app.accounts.models import Role
    from app.accounts.principal import Principal
    from app.audit.service import Actor
    from app.config import get_settings
    from app.courses import media
    from app.courses import service as courses
    from app.db import dispose_engines, get_engine, transaction
    from app.migrate import upgrade

    get_settings.cache_clear()
    dispose_engines()
    upgrade(database_url)
    tokens: list[str] = []
    with transaction(get_engine()) as s:
        inst = accounts.create_institution(
            s, code=f"V{uuid.uuid4().hex[:6]}", name="视频压测机构", actor=Actor.system()
        )
        staff = accounts.create_user(
            s,
            username=f"vstaff_{uuid.uuid4().hex[:4]}",
            password="Load-Test-Pass-1",
            role=Role.staff,
            institution_id=inst.id,
            actor=Actor.system(),
        )
        p = Principal.of_user(staff)
        course = courses.create_course(
            s,
            p,
            title="视频压测课程",
            occupation_code="6-31-01-03",
            occupation_name="电工",
            level="level5",
            required_minutes=1,
            pass_score=60,
            subsidy_fen=0,
            policy=courses.CoursePolicy(quiz_question_count=1),
        )
        with clip.open("rb") as f:
            lesson = media.add_video_lesson(s, p, course.id, title="视频", minutes=1, upload=f)
        courses.add_question(
            s, p, course.id, kind="judge", stem="先断电，再施救。", options=None, answer=[0]
        )
        courses.publish_course(s, p, course.id)
        for i in range(learners):
            first17 = f"110105{19600101 + i // 1000:08d}{i % 1000:03d}"
            user = accounts.register_learner(
                s,
                username=f"video{i}_{uuid.uuid4().hex[:4]}",
                password="Load-Test-Pass-1",
                real_name="压测",
                id_number=first17 + check_char(first17),
                institution_id=inst.id,
            )
            courses.enrol(s, Principal.of_user(user), course.id)
            token, _ = accounts.issue_token(user)
            tokens.append(token)
        lesson_id = str(lesson.id)
    dispose_engines()
    return lesson_id, tokens


async def drive(
    url: str, headers: list[dict[str, str]], size: int, chunk: int, seconds: float, conc: int
) -> tuple[list[float], int, int]:
    """Random ranged GETs for ``seconds``; (latencies, bytes received, error responses)."""
    latencies: list[float] = []
    received = errors = 0
    deadline = time.perf_counter() + seconds
    rng = random.Random(7)

    async def worker(k: int, client: httpx.AsyncClient) -> None:
        nonlocal received, errors
        i = k
        while time.perf_counter() < deadline:
            start = rng.randrange(0, max(1, size - chunk))
            h = {**headers[i % len(headers)], "Range": f"bytes={start}-{start + chunk - 1}"}
            i += conc
            t = time.perf_counter()
            r = await client.get(url, headers=h)
            latencies.append(time.perf_counter() - t)
            if r.status_code != 206:
                errors += 1
            received += len(r.content)

    limits = httpx.Limits(max_connections=conc, max_keepalive_connections=conc)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        await asyncio.gather(*(worker(k, client) for k in range(conc)))
    return latencies, received, errors


def report(
    name: str,
    lat: list[float],
    received: int,
    errors: int,
    secs: float,
    cpu: float,
    store_cpu: float | None = None,
) -> None:
    lat = sorted(lat)
    n = len(lat)
    p50, p99 = statistics.median(lat) * 1000, lat[int(n * 0.99) - 1] * 1000
    store = "" if store_cpu is None else f" (+ S3 stand-in {store_cpu / n * 1000:.2f} ms)"
    print(
        f"  {name:<14} {n / secs:7.0f} req/s  {received / secs / 1e6:7.1f} MB/s  "
        f"p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  "
        f"server CPU/request {cpu / n * 1000:.2f} ms{store}  errors {errors}   {load()}"
    )


def start_s3(data_dir: Path, stored: Path) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    """moto's S3 server as a process, a bucket, and the stored video copied into it under
    the same key; the settings of an app node that uses it."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_up(endpoint)
    except RuntimeError:
        server.terminate()
        raise
    settings = {
        "SKILLTRACE_STORAGE": "s3",
        "SKILLTRACE_S3_ENDPOINT_URL": endpoint,
        "SKILLTRACE_S3_BUCKET": "skilltrace-bench",
        "SKILLTRACE_S3_REGION": "us-east-1",
        "SKILLTRACE_S3_ACCESS_KEY_ID": "bench",
        "SKILLTRACE_S3_SECRET_ACCESS_KEY": "bench-secret",
    }
    import boto3

    from app.storage_s3 import S3MediaStore

    boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench-secret",
    ).create_bucket(Bucket="skilltrace-bench")
    store = S3MediaStore(
        bucket="skilltrace-bench",
        endpoint_url=endpoint,
        region="us-east-1",
        access_key_id="bench",
        secret_access_key="bench-secret",
    )
    store.put(str(stored.relative_to(data_dir / "media")), stored)
    return server, settings


STATIC_APP = """
import sys
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
app = Starlette(routes=[Mount("/files", StaticFiles(directory=sys.argv[1]))])
"""


def wait_up(url: str) -> None:
    for _ in range(150):
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--chunk-kib", type=int, default=256)
    p.add_argument("--video-seconds", type=float, default=120)
    p.add_argument("--learners", type=int, default=50)
    p.add_argument("--s3", action=argparse.BooleanOptionalAction, default=True)
    args = p.parse_args()

    from tests.video_clips import webm_clip

    work = Path(tempfile.mkdtemp(prefix="st-bench-video-"))
    clip = webm_clip(work / "lesson.webm", seconds=args.video_seconds, fps=10, width=320)
    size = clip.stat().st_size
    print(f"== video: {size / 1e6:.1f} MB WebM, {args.video_seconds:.0f} s; {args.concurrency} "
          f"concurrent clients, {args.chunk_kib} KiB ranges   {load()}")  # fmt: skip
    data_dir = work / "data"
    lesson_id, tokens = prepare(f"sqlite:///{work / 'bench.db'}", data_dir, clip, args.learners)
    stored = next((data_dir / "media").rglob("*.webm"))

    app_port, static_port = free_port(), free_port()
    env = {
        **os.environ,
        "SKILLTRACE_DATABASE_URL": f"sqlite:///{work / 'bench.db'}",
        "SKILLTRACE_DATA_DIR": str(data_dir),
        "SKILLTRACE_FACE_WORKERS": "0",
        "SKILLTRACE_LOG_LEVEL": "WARNING",
        "SKILLTRACE_ROLLCALL_SWEEP_INTERVAL_S": "0",
        "PYTHONPATH": str(ROOT),
    }
    (work / "static_app.py").write_text(STATIC_APP)
    servers = [
        subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(app_port), "--workers", "1"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
        subprocess.Popen(
            [sys.executable, "-c",
             "import sys, uvicorn; sys.path.insert(0, sys.argv[2]); "
             "sys.argv = [sys.argv[0], sys.argv[1]]; "
             "import static_app; uvicorn.run(static_app.app, host='127.0.0.1', "
             f"port={static_port}, log_level='warning', access_log=False)",
             str(stored.parent), str(work)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
    ]  # fmt: skip
    s3_port = free_port()
    stand_in: subprocess.Popen[bytes] | None = None
    try:
        if args.s3:
            stand_in, s3_settings = start_s3(data_dir, stored)
            servers += [
                stand_in,
                subprocess.Popen(
                    [sys.executable, "-m", "app.cli", "serve", "--port", str(s3_port)],
                    env={**env, **s3_settings, "SKILLTRACE_DATA_DIR": str(work / "node-s3")},
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                ),
            ]
        app_url = f"http://127.0.0.1:{app_port}/api/v1/lessons/{lesson_id}/video"
        s3_url = f"http://127.0.0.1:{s3_port}/api/v1/lessons/{lesson_id}/video"
        static_url = f"http://127.0.0.1:{static_port}/files/{stored.name}"
        wait_up(f"http://127.0.0.1:{app_port}/healthz")
        wait_up(static_url)
        auth = [{"Authorization": f"Bearer {t}"} for t in tokens]
        chunk = args.chunk_kib * 1024
        targets = [
            ("static files", static_url, [{}], servers[1]),
            ("app, local", app_url, auth, servers[0]),
        ]
        if args.s3:
            wait_up(f"http://127.0.0.1:{s3_port}/healthz")
            targets.append(("app, S3", s3_url, auth, servers[3]))
        for name, url, headers, server in targets * 2:
            asyncio.run(drive(url, headers, size, chunk, 1.0, args.concurrency))  # warm-up
            cpu0 = cpu_seconds(server.pid)
            store0 = cpu_seconds(stand_in.pid) if stand_in and name == "app, S3" else None
            lat, received, errors = asyncio.run(
                drive(url, headers, size, chunk, args.seconds, args.concurrency)
            )
            store_cpu = None
            if stand_in is not None and store0 is not None:
                store_cpu = cpu_seconds(stand_in.pid) - store0
            cpu = cpu_seconds(server.pid) - cpu0
            report(name, lat, received, errors, args.seconds, cpu, store_cpu)
    finally:
        for server in servers:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    main()
