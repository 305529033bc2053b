"""Single-frame verify latency: our path vs the naive face_recognition call; pool throughput.

    .venv/bin/python benchmarks/face_latency.py [--frames 24] [--repeat 2] [--engine sface]

Frames: 640x480 JPEGs built from ../shared/faces photos (face pasted at webcam size on a
neutral background, as a browser would send). Our path = what the service runs per frame:
decode + analyse with the configured engine (default SFace: YuNet detection, quality, dlib
68-point landmarks, SFace embedding, evidence crop; ``--engine dlib``: HOG on a downscaled copy,
landmarks, dlib ResNet). Naive path = ``face_recognition.face_locations(img)`` (defaults: HOG,
upsample 1) + ``face_encodings``, on the same decoded arrays, interleaved frame by frame in the
same run (so machine load hits both alike). The load average is printed before and after:
the figures are only comparable within one run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

import cv2
import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from app.attendance.engines import make_engine  # noqa: E402
from app.attendance.face import EngineConfig, distance, encode_jpeg, load_image_file  # noqa: E402
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--engine", choices=("sface", "dlib"), default="sface")
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
            m = engine.measure(engine.decode(data))
            t1 = time.perf_counter()
            locs = face_recognition.face_locations(img)
            encs = face_recognition.face_encodings(img, locs)
            t2 = time.perf_counter()
            ours_t.append(t1 - t0)
            naive_t.append(t2 - t1)
            if m.analysis is not None:
                found_ours += 1
            if encs:
                found_naive += 1
            if args.engine == "dlib" and m.analysis is not None and encs:
                dists.append(min(distance(m.analysis.embedding, e) for e in encs))
    med_o, med_n = statistics.median(ours_t), statistics.median(naive_t)
    print(f"{len(frames)} frames 640x480 x {args.repeat} repeats, engine {args.engine}")
    print(
        f"ours  (decode+detect+quality+68-point landmarks+embedding+crop): "
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

    burst = frames * 3
    rates = {}
    for workers in (1, 2):
        with FacePool(workers=workers, config=config) as pool:
            pool.warm_up()
            pool.analyse_frames_sync(frames[:4])
            t0 = time.perf_counter()
            pool.analyse_frames_sync(burst)
            dt = time.perf_counter() - t0
            rss = pool.worker_peak_rss_kib()
        rates[workers] = len(burst) / dt
        print(
            f"pool {workers} worker(s): {rates[workers]:.2f} frames/s over {len(burst)} frames; "
            f"peak RSS per worker: {', '.join(f'{v / 1024:.0f} MiB' for v in rss.values())}"
        )
    print(f"2 workers / 1 worker throughput: {rates[2] / rates[1]:.2f}x")
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
