"""Replay: clips played into the streamed, server-paced protocol (deaf to the reveals), and the
responsive harness built from them."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.attendance.calibration import (
    ProgressCallback,
    scan_folder,
)
from app.attendance.evaluation.pad import _engine
from app.attendance.face import EngineConfig

# ------------------------------------------------------------------------------ replay

VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v"})


@dataclass(frozen=True, slots=True)
class StreamReport:
    """Pass rates of the streamed protocol: replayed clips, responsive harnesses (live users),
    printed-photo streams; each a :meth:`TrialSummary.to_dict` (trials, passed, reasons)."""

    trials: int
    seed: int
    replay: dict[str, dict[str, Any]]
    responsive: dict[str, dict[str, Any]]
    #: Clips no harness could be built from, with the reason (e.g. no head turn in it).
    no_harness: dict[str, str]
    printed: dict[str, dict[str, Any]]


def stream_report(
    videos: Sequence[Path],
    attack_folders: Sequence[Path],
    config: EngineConfig,
    *,
    trials: int,
    seed: int = 0,
    on_progress: ProgressCallback | None = None,
) -> StreamReport:
    """Replay and responsive trials on each clip; print trials on each attack folder (a random
    person's photos per trial, in random order)."""
    from app.attendance import stream_eval as se  # late: the protocol builds on this layer
    from app.attendance.streaming import StreamParams

    params = StreamParams()
    engine = _engine(config)
    replay: dict[str, dict[str, Any]] = {}
    responsive: dict[str, dict[str, Any]] = {}
    no_harness: dict[str, str] = {}
    for video in videos:
        clip = se.analyse_clip(engine, video, mirror_turns=params)

        def replayed(r: random.Random, clip: se.Clip = clip) -> se.Trial:
            return se.replay_trial(clip, r, params)

        replay[video.name] = se.run_trials(replayed, trials, seed, "replay").to_dict()
        try:
            harness = se.build_harness(clip, params)
        except ValueError as exc:
            no_harness[video.name] = str(exc)
            continue
        finally:
            if on_progress:
                on_progress(1)

        def live(r: random.Random, harness: se.Harness = harness) -> se.Trial:
            return se.responsive_trial(harness, r, params)

        responsive[video.name] = se.run_trials(live, trials, seed, "responsive").to_dict()
    printed: dict[str, dict[str, Any]] = {}
    for folder in attack_folders:
        people = [
            [f for f in se.analyse_photos(engine, paths) if f.features is not None]
            for paths in scan_folder(folder).values()
        ]
        people = [p for p in people if p]
        if not people:
            continue

        def make(r: random.Random, people: list[list[se.ClipFrame]] = people) -> se.Trial:
            return se.print_trial(r.choice(people), r, params)

        printed[folder.name] = se.run_trials(make, trials, seed, f"print:{folder.name}").to_dict()
        if on_progress:
            on_progress(1)
    return StreamReport(trials, seed, replay, responsive, no_harness, printed)


def find_videos(folder: Path) -> list[Path]:
    """Video files directly in ``folder``, sorted."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
