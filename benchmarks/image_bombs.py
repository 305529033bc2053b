"""Image bombs (issue 12, item 9): decoding cost before and after the bounded working size.

    .venv/bin/python benchmarks/image_bombs.py [--frames 20] [--repeat 2]

The bomb is the one from the issue: a 124 KB PNG declaring 4000x4000 16-bit RGBA (exactly at
the 16 MP per-frame limit), all zero. Each variant runs in a fresh process that loads the face
models first, then decodes and analyses ``--frames`` bombs one after another, as one face worker
would; it reports the time per frame and the growth of its peak RSS over the loaded-models
baseline. Variants, alternated in the same run:

* ``before`` -- the decode as it was (Pillow decodes the full 16 MP, converts to RGB at full
  size) followed by the engine's analysis of that full-size array;
* ``after``  -- :func:`app.attendance.face.decode_image` now (bounded 2048 px working copy)
  followed by the same analysis.

Then the request-level bound: what :func:`app.attendance.budget.admit_burst` makes of a burst of
20 such bombs (nothing reaches a worker) and how many fit in one burst at the defaults. The
machine's load average is printed with the figures: the machine is shared.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402
from PIL import Image, ImageOps  # noqa: E402

from app.attendance.exceptions import FaceRejected  # noqa: E402
from app.attendance.face import DlibFaceEngine, RGBImage, decode_image  # noqa: E402
from tests.hostile_images import png_bomb  # noqa: E402


def decode_before(data: bytes) -> RGBImage:
    """The pixel path of ``decode_image`` before the fix (its header checks omitted)."""
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        rgb = ImageOps.exif_transpose(im).convert("RGB")
    return np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))


def _rss_kib() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)


def child(variant: str, frames: int) -> None:
    engine = DlibFaceEngine()
    engine.warm_up()
    decode = decode_before if variant == "before" else decode_image
    bombs = [png_bomb(4000, 4000) for _ in range(frames)]
    base = _rss_kib()
    times = []
    for data in bombs:
        t = time.perf_counter()
        img = decode(data)
        try:
            engine.analyse(img)
        except FaceRejected:
            pass
        times.append(time.perf_counter() - t)
        del img
    peak = int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    print(
        json.dumps(
            {
                "s_per_frame": statistics.median(times),
                "total_s": sum(times),
                "peak_growth_mb": (peak - base) / 1024,
            }
        )
    )


def run_child(variant: str, frames: int) -> dict[str, float]:
    out = subprocess.run(  # noqa: S603 - this script
        [sys.executable, __file__, "--child", variant, "--frames", str(frames)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def budget_report(before_s_per_frame: float, frames: int) -> None:
    """A burst of ``frames`` bombs: all of them reach the workers before, none after."""
    from app.attendance.budget import admit_burst
    from app.attendance.exceptions import BurstTooLarge
    from app.config import get_settings

    s = get_settings()
    burst = [png_bomb(4000, 4000) for _ in range(frames)]
    t = time.perf_counter()
    try:
        admit_burst(burst, uuid.uuid4())
        verdict = "admitted (unexpected)"
    except BurstTooLarge as err:
        verdict = f"{err.status} {err.code}"
    took = time.perf_counter() - t
    work = before_s_per_frame * frames
    print(
        f"burst of {frames} bombs: before, {frames} frames decoded and analysed (~{work:.1f} s of "
        f"worker time, ~{work / 2:.1f} s with 2 workers, which an honest check queues behind);"
    )
    print(f"  after: {verdict} from the headers in {took * 1000:.0f} ms, 0 frames decoded")
    fit = s.face_max_burst_pixels // (4000 * 4000)
    per_min = s.face_max_pixels_per_learner_minute // (4000 * 4000)
    print(f"  at most {fit} such bombs per burst and {per_min} per learner per minute get decoded")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--child", choices=["before", "after"])
    args = ap.parse_args()
    if args.child:
        child(args.child, args.frames)
        return
    print(f"bomb: {len(png_bomb(4000, 4000))} bytes, 4000x4000 16-bit RGBA; {args.frames} frames")
    print(f"load average at start: {os.getloadavg()}")
    results: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
    for _ in range(args.repeat):
        for variant in ("before", "after"):
            results[variant].append(run_child(variant, args.frames))
    medians: dict[str, float] = {}
    for variant, runs in results.items():
        per = medians[variant] = statistics.median(r["s_per_frame"] for r in runs)
        total = statistics.median(r["total_s"] for r in runs)
        rss = statistics.median(r["peak_growth_mb"] for r in runs)
        print(
            f"{variant:6s}: {per * 1000:7.0f} ms/frame, {total:5.1f} s for {args.frames}, "
            f"peak RSS +{rss:5.0f} MB over the loaded models"
        )
    print(f"load average at end: {os.getloadavg()}")
    budget_report(medians["before"], args.frames)


if __name__ == "__main__":
    main()
