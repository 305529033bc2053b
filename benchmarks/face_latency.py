"""Single-frame verify latency: our path vs the naive face_recognition call; pool throughput.

    .venv/bin/python benchmarks/face_latency.py [--frames 24] [--repeat 2] [--engine sface]

Frames: 640x480 JPEGs built from ../shared/faces photos (face pasted at webcam size on a
neutral background, as a browser would send). Our path = what the service runs per frame:
decode + analyse with the configured engine (default SFace: YuNet detection, quality, dlib
68-point landmarks, SFace embedding, evidence crop; ``--engine dlib``: HOG on a downscaled copy,
landmarks, dlib ResNet). Naive path = ``face_recognition.face_locations(img)`` (defaults: HOG,
upsample 1) + ``face_encodings``, on the same decoded arrays, interleaved frame by frame in the
same run (so machine load hits both alike). Pool throughput: 1 and 2 workers as the service
runs them, in alternating rounds, with the CPU time the workers got. The load average is
printed before and after: the figures are only comparable within one run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from app.attendance import pool as pool_mod  # noqa: E402
from app.attendance.engines import make_engine  # noqa: E402
from app.attendance.exceptions import FaceRejected  # noqa: E402
from app.attendance.face import (  # noqa: E402
    EngineConfig,
    FaceAnalysis,
    distance,
    encode_jpeg,
    load_image_file,
)
from app.attendance.pool import FacePool  # noqa: E402

FACES = REPO_ROOT.parent / "shared" / "faces"


def build_frames(n: int) -> list[bytes]:
    """640x480 frames: each source photo letterboxed into a 640x480 canvas."""
    sources = sorted(
        p for p in (FACES / "face_recognition").glob("*/*") if "_multi" not in str(p)
    ) + sorted((FACES / "deepface").glob("id*/*"))
    frames = []
    for p in sources:
        img = load_image_file(p)
        h, w = img.shape[:2]
        s = min(640 / w, 480 / h)
        img = cv2.resize(img, (int(w * s), int(h * s)), interpolation=cv2.INTER_AREA)
        canvas = np.full((480, 640, 3), 110, np.uint8)
        y, x = (480 - img.shape[0]) // 2, (640 - img.shape[1]) // 2
        canvas[y : y + img.shape[0], x : x + img.shape[1]] = img
        frames.append(encode_jpeg(canvas, 90))
        if len(frames) == n:
            break
    return frames


def _init_bench_worker(config: EngineConfig, own_session: bool) -> None:
    if own_session:
        # A session of its own: with sched_autogroup (Linux desktops and shared hosts) every
        # session shares the CPU as one group, so all workers of this benchmark would split
        # one session's share however many there are (see --own-sessions).
        os.setsid()
    pool_mod._init_worker(config)


class _BenchPool(FacePool):
    """The service's pool, its workers in this benchmark's session or each in its own."""

    def __init__(self, workers: int, config: EngineConfig, own: bool) -> None:
        self.own = own
        super().__init__(workers=workers, config=config)

    def _new_executor(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=self._context,
            initializer=_init_bench_worker,
            initargs=(self.config, self.own),
        )


def _cpu_s(pids: tuple[int, ...]) -> float:
    """User + system CPU seconds the processes used so far (/proc/PID/stat)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / tick


def pool_throughput(
    frames: list[bytes], config: EngineConfig, rounds: int, own_sessions: bool = False
) -> None:
    """Burst throughput of 1 and 2 workers, measured in alternating rounds so that the machine's
    changing load hits both alike; the CPU seconds the workers used per frame (flat if the pool
    adds no overhead) and the cores they obtained (CPU time / wall time: what the scheduler
    left them) explain the ratio."""
    burst = frames * 2
    own = own_sessions
    pools = {
        "1 worker": _BenchPool(1, config, own=own),
        "2 workers": _BenchPool(2, config, own=own),
    }
    print(
        f"sched_autogroup: {Path('/proc/sys/kernel/sched_autogroup_enabled').read_text().strip()}"
        f"; workers in {'their own sessions' if own else 'the benchmark session'}"
    )
    runs: dict[str, list[tuple[float, float]]] = {k: [] for k in pools}
    try:
        for pool in pools.values():
            pool.warm_up()
            pool.analyse_frames_sync(frames[:4])
        for r in range(rounds):
            order = list(pools) if r % 2 == 0 else list(reversed(pools))
            for name in order:
                pool = pools[name]
                pids = pool.state().pids
                c0, t0 = _cpu_s(pids), time.perf_counter()
                pool.analyse_frames_sync(burst)
                dt, cpu = time.perf_counter() - t0, _cpu_s(pids) - c0
                runs[name].append((len(burst) / dt, cpu / dt))
        rss = {n: p.worker_peak_rss_kib() for n, p in pools.items()}
    finally:
        for pool in pools.values():
            pool.close()
    fps = {n: statistics.median(v[0] for v in vals) for n, vals in runs.items()}
    for name, vals in runs.items():
        cores = statistics.median(v[1] for v in vals)
        print(
            f"pool {name}: median {fps[name]:.2f} frames/s over {rounds} rounds of "
            f"{len(burst)} frames ({', '.join(f'{v[0]:.2f}' for v in vals)}); "
            f"cores obtained {cores:.2f}; CPU per frame {1000 * cores / fps[name]:.0f} ms; "
            f"peak RSS per worker {', '.join(f'{v / 1024:.0f} MiB' for v in rss[name].values())}"
        )
    print(f"2 workers / 1 worker throughput: {fps['2 workers'] / fps['1 worker']:.2f}x")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--engine", choices=("sface", "dlib"), default="sface")
    ap.add_argument("--rounds", type=int, default=5, help="alternating pool rounds")
    ap.add_argument(
        "--own-sessions",
        action="store_true",
        help="run each pool worker in a session of its own (on a shared host with "
        "sched_autogroup, the benchmark's session otherwise gets one share for all workers)",
    )
    args = ap.parse_args()
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import face_recognition

    frames = build_frames(args.frames)
    config = EngineConfig(engine=args.engine)
    engine = make_engine(config)
    engine.warm_up()
    decoded = [engine.decode(f) for f in frames]
    face_recognition.face_encodings(decoded[0])  # warm up the library's models

    ours_t, naive_t, dists, found_ours, found_naive = [], [], [], 0, 0
    for _ in range(args.repeat):
        for data, img in zip(frames, decoded, strict=True):
            t0 = time.perf_counter()
            try:  # the service's path: analyse (with the PAD score), refusals raise
                analysis: FaceAnalysis | None = engine.analyse(engine.decode(data))
            except FaceRejected:
                analysis = None
            t1 = time.perf_counter()
            locs = face_recognition.face_locations(img)
            encs = face_recognition.face_encodings(img, locs)
            t2 = time.perf_counter()
            ours_t.append(t1 - t0)
            naive_t.append(t2 - t1)
            if analysis is not None:
                found_ours += 1
            if encs:
                found_naive += 1
            if args.engine == "dlib" and analysis is not None and encs:
                dists.append(min(distance(analysis.embedding, e) for e in encs))
    med_o, med_n = statistics.median(ours_t), statistics.median(naive_t)
    print(f"{len(frames)} frames 640x480 x {args.repeat} repeats, engine {args.engine}")
    print(
        f"ours  (decode+detect+quality+68-point landmarks+embedding+crop+PAD): "
        f"median {med_o * 1000:.1f} ms, mean {statistics.mean(ours_t) * 1000:.1f} ms, "
        f"faces found {found_ours}"
    )
    print(
        f"naive (face_locations upsample=1 + face_encodings): median {med_n * 1000:.1f} ms, "
        f"mean {statistics.mean(naive_t) * 1000:.1f} ms, faces found {found_naive}"
    )
    mean_ratio = statistics.mean(naive_t) / statistics.mean(ours_t)
    print(f"speed-up (median): {med_n / med_o:.2f}x (mean: {mean_ratio:.2f}x)")
    if dists:
        print(
            f"embedding distance ours vs naive on the same face (same dlib model): median "
            f"{statistics.median(dists):.4f}, max {max(dists):.4f}"
        )

    pool_throughput(frames, config, rounds=args.rounds, own_sessions=args.own_sessions)
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
