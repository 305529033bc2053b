"""``skilltrace face evaluate``: the evidence an audit asks for, on any labelled folder.

* **Matching** on a ``person/image`` folder: FMR and FNMR at a grid of thresholds and at the
  configured accept/reject thresholds, each with the pair counts behind it (an FMR from ``n``
  impostor pairs cannot resolve below ``1/n``), and the decision-level rates of the service's
  fused burst decision. Embedding and pair logic are :mod:`app.attendance.calibration`'s.
* **Presentation attacks** (``--attacks DIR``, one folder per attack type, laid out like the
  bona fide folder): APCER per attack type (attack presentations taken for live) and BPCER
  (live presentations taken for attacks), per frame and per burst (median of ``burst`` frames of
  one person, as the service scores a burst), at a grid of thresholds and at the configured one.
  The attack folders' photos are also fed through the streamed liveness protocol in random order
  (``print`` trials, :mod:`app.attendance.stream_eval`).
* **Replay** (``--videos DIR``): every clip in the folder played into the streamed, server-paced
  protocol at its own pace from a random point, deaf to the random reveals, ``trials`` times;
  and, where the clip shows the actions, a responsive harness built from it (what a live,
  cooperating learner looks like), to show the protocol still passes live people.

Every figure carries its numerator and denominator, so a table can be checked by hand.

The package's modules, by section: :mod:`~app.attendance.evaluation.matching` (FMR/FNMR
tables), :mod:`~app.attendance.evaluation.pad` (APCER/BPCER per attack type),
:mod:`~app.attendance.evaluation.replay` (clips played into the streamed protocol) and
:mod:`~app.attendance.evaluation.run` (the whole run, :func:`evaluate`). Callers import this
package: ``from app.attendance.evaluation import evaluate``.
"""

from __future__ import annotations

from app.attendance.evaluation.matching import (
    PAD_GRID,
    FloatArray,
    MatchReport,
    MatchRow,
    match_report,
    template_level,
)
from app.attendance.evaluation.pad import (
    PadGroup,
    PadReport,
    PadRow,
    burst_scores,
    pad_file_score,
    pad_report,
    pad_row,
    pad_scores,
)
from app.attendance.evaluation.replay import (
    VIDEO_SUFFIXES,
    StreamReport,
    find_videos,
    stream_report,
)
from app.attendance.evaluation.run import Evaluation, evaluate

__all__ = [
    "Evaluation",
    "FloatArray",
    "MatchReport",
    "MatchRow",
    "PAD_GRID",
    "PadGroup",
    "PadReport",
    "PadRow",
    "StreamReport",
    "VIDEO_SUFFIXES",
    "burst_scores",
    "evaluate",
    "find_videos",
    "match_report",
    "pad_file_score",
    "pad_report",
    "pad_row",
    "pad_scores",
    "stream_report",
    "template_level",
]
