"""How long a learner waits after a streamed check's last frame: analysed at submit (before)
vs analysed while streaming (app/attendance/prefetch.py), in alternating rounds of one run.

    .venv/bin/python benchmarks/stream_submit.py [--frames 150] [--rounds 3] [--workers 2]

Each round plays ``--frames`` frames of talking_head_1.mp4 (640x360 JPEGs, each made unique
by a marker pixel, as a live camera's are) at 12 frames a second in real time, as the browser
streams them, then "submits": with prefetch, every frame was handed to the face pool as it
arrived and submit collects the analyses; without, submit analyses all of them. The wait is
the submit's wall time. The machine's load average is printed before and after: compare only
within one run.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import time
from pathlib import Path

import cv2

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from app.attendance import engine, prefetch  # noqa: E402
from app.config import get_settings  # noqa: E402

CLIP = REPO_ROOT.parent / "shared" / "faces" / "videos" / "talking_head_1.mp4"
FPS = 12


def clip_frames(n: int) -> list[bytes]:
    cap = cv2.VideoCapture(str(CLIP))
    frames: list[bytes] = []
    i = 0
    while len(frames) < n:
        ok, img = cap.read()
        if not ok:
            cap.release()
            cap = cv2.VideoCapture(str(CLIP))
            continue
        img = img.copy()
        img[0, 0] = (i % 256, (i // 256) % 256, 7)  # unique bytes per frame
        i += 1
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 85])
        frames.append(buf.tobytes())
    cap.release()
    return frames


def one_round(frames: list[bytes], use_prefetch: bool) -> float:
    prefetch.clear()
    stored = [(f, hashlib.sha256(f).hexdigest()) for f in frames]
    t0 = time.perf_counter()
    for k, (data, digest) in enumerate(stored):
        if use_prefetch:
            prefetch.prefetch(data, digest)
        # the next frame arrives 1/FPS after the first, in real time
        time.sleep(max(0.0, t0 + (k + 1) / FPS - time.perf_counter()))
    start = time.perf_counter()
    if use_prefetch:
        prefetch.analyse_stored(stored)
    else:
        engine.analyse_frames([d for d, _ in stored])
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=150)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    os.environ["SKILLTRACE_FACE_WORKERS"] = str(args.workers)
    os.environ["SKILLTRACE_FACE_PREFETCH"] = "true"
    get_settings.cache_clear()
    frames = clip_frames(args.frames)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    engine.start()  # workers loaded before the first round
    engine.analyse_frames(frames[:4])
    waits: dict[str, list[float]] = {"at submit (before)": [], "while streaming": []}
    try:
        for _ in range(args.rounds):
            waits["at submit (before)"].append(one_round(frames, use_prefetch=False))
            waits["while streaming"].append(one_round(frames, use_prefetch=True))
    finally:
        engine.shutdown()
    print(
        f"{args.frames} frames at {FPS} fps ({args.frames / FPS:.1f} s of streaming), "
        f"{args.workers} face workers, {args.rounds} alternating rounds"
    )
    for name, w in waits.items():
        print(
            f"  wait after the last frame, {name:<20}: median {statistics.median(w):6.2f} s"
            f"  (rounds: {', '.join(f'{x:.2f}' for x in w)})"
        )
    before = statistics.median(waits["at submit (before)"])
    after = statistics.median(waits["while streaming"])
    print(f"  {before / after:.1f}x shorter wait")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
