"""Streamed liveness vs replays: pass rates of the server-paced protocol, with the old burst
liveness replayed in the same run as the baseline.

    .venv/bin/python benchmarks/stream_liveness.py [--trials 2000] [--seed 1] [--json out.json]

Each clip of ../shared/faces/videos is analysed once with the SFace engine; then (see
app/attendance/stream_eval.py):

* replay, streamed: the clip played from a random point at its own pace while a client uploads
  12 frames/s, against the protocol's random reveals (3 by default);
* replay, burst (baseline, liveness v1): a 15-frame burst at 10 frames/s from a random point
  against the old challenge mix (1-2 of blink / turn left / turn right, drawn as before);
* responsive: the harness that, after each reveal and a 0.4-0.9 s reaction, plays a stretch of
  talking_head_1 where the action happens;
* print: each antispoof/print_attack subject's photos in random order, streamed.

Also prints the natural sway of the clips (how far the yaw moves within 2.5 s of a 1.5 s
reference), which sets the turn threshold. The load average is printed before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from app.attendance import liveness  # noqa: E402
from app.attendance import stream_eval as se  # noqa: E402
from app.attendance.engines import make_engine, stream_params  # noqa: E402
from app.attendance.face import EngineConfig  # noqa: E402

FACES = REPO_ROOT.parent / "shared" / "faces"


def burst_replay(clip: se.Clip, rng: random.Random) -> bool:
    """Liveness v1 against a replay: the old challenge draw, a 15-frame burst at 10 fps."""
    actions = rng.sample(list(liveness.ACTIONS), k=rng.choice((1, 2)))
    if "turn_left" in actions and "turn_right" in actions:
        actions = [actions[0]]
    start = rng.uniform(0, clip.duration_s)
    frames = [clip.frames[int((start + k / 10) * clip.fps) % len(clip.frames)] for k in range(15)]
    good = [f.features for f in frames if f.features is not None]
    if len(good) < 3:
        return False
    params = liveness.LivenessParams(same_person_max_distance=0.8)
    return liveness.check(actions, good, params).passed


def sway(clip: se.Clip) -> dict[str, float]:
    yaw = np.array([f.features.yaw if f.features else np.nan for f in clip.frames])
    ref, ahead = int(1.5 * clip.fps), int(2.5 * clip.fps)
    devs = []
    for i in range(ref, len(yaw) - 1):
        base = yaw[i - ref : i]
        if np.all(np.isnan(base)) or np.all(np.isnan(yaw[i : i + ahead])):
            continue
        devs.append(float(np.nanmax(np.abs(yaw[i : i + ahead] - np.nanmedian(base)))))
    d = np.array(devs)
    return {
        k: round(float(np.percentile(d, q)), 3) for k, q in (("p50", 50), ("p90", 90), ("max", 100))
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trials", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    load_before = os.getloadavg()
    params = stream_params("sface")
    engine = make_engine(EngineConfig())
    engine.warm_up()
    t0 = time.perf_counter()
    clips = {p.stem: se.analyse_clip(engine, p) for p in sorted((FACES / "videos").glob("*.mp4"))}
    prints = {
        d.name: se.analyse_photos(engine, sorted(d.iterdir()))
        for d in sorted((FACES / "antispoof" / "print_attack").iterdir())
        if d.is_dir()
    }
    analysed_s = time.perf_counter() - t0
    out: dict[str, Any] = {"params": {"reveals": params.reveals, "window_s": params.window_s}}
    rows: list[tuple[str, str, int, int]] = []
    n = args.trials
    for name, clip in clips.items():
        s = se.run_trials(lambda r, c=clip: se.replay_trial(c, r, params), n, args.seed)
        master = random.Random(args.seed)  # noqa: S311 - a reproducible simulation
        base = sum(burst_replay(clip, random.Random(master.getrandbits(64))) for _ in range(n))  # noqa: S311
        out[f"replay:{name}"] = s.to_dict()
        out[f"burst_replay:{name}"] = {"trials": n, "passed": base}
        out[f"sway:{name}"] = sway(clip)
        rows.append((f"replay {name}", "streamed", s.passed, n))
        rows.append((f"replay {name}", "burst v1 (baseline)", base, n))
    harness = se.build_harness(clips["talking_head_1"], params)
    s = se.run_trials(lambda r: se.responsive_trial(harness, r, params), n, args.seed + 1)
    out["responsive"] = s.to_dict()
    rows.append(("responsive harness", "streamed", s.passed, n))
    per = max(1, n // 10)
    passed = 0
    for subject, photos in prints.items():
        s = se.run_trials(lambda r, ph=photos: se.print_trial(ph, r, params), per, args.seed)
        out[f"print:{subject}"] = s.to_dict()
        passed += s.passed
    rows.append(("printed photos, any order", "streamed", passed, per * len(prints)))
    out["load_average"] = {"before": load_before, "after": os.getloadavg()}
    print(f"frames analysed once in {analysed_s:.1f} s; {n} trials per row")
    print(f"{'attack / user':34} {'protocol':22} {'passed':>8} {'trials':>7} {'rate':>8}")
    for what, proto, p, t in rows:
        print(f"{what:34} {proto:22} {p:8d} {t:7d} {100 * p / t:7.2f}%")
    for name in clips:
        print(f"sway {name}: yaw moves within 2.5 s of a 1.5 s reference {out[f'sway:{name}']}")
    for name in clips:
        print(f"replay {name} failures by reason: {out[f'replay:{name}']['reasons']}")
    print(f"load average before {load_before}, after {os.getloadavg()}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
