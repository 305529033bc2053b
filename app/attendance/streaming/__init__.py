"""Liveness v2: a server-paced, streamed face check.

The client no longer learns the actions up front and no longer uploads a finished burst. A check
is a short live exchange:

1. the client opens a *check session* and streams frames to it one by one (small sequential
   HTTP uploads, see :mod:`app.attendance.checks` for why not a WebSocket);
2. the server stamps each frame's arrival and owns the order (a frame must carry the next
   sequence number; the server's clock, not the client's, times everything);
3. at a random moment after the stream starts the server *reveals* an action — in the response
   to the first frame that arrives after that moment — drawn from :data:`STREAM_ACTIONS`; the
   action must appear in frames that arrive within a short window **after** the reveal (not
   earlier than a human reaction time), and a head turn must not already be under way before
   it; then a second reveal, and so on;
4. when the last window has passed the check is complete and the operation (enrolment,
   check-in, roll-call, quiz gate, partner verification) decides on the whole stream.

This module is the pure part: the reveal schedule and its state machine (:class:`Schedule`) and
the decision over an analysed stream (:func:`evaluate`). It takes the per-frame values the face
engine measured (eye aspect ratio, yaw, embedding, grey signature, face box) and arrival times in
milliseconds, so the same code decides a real check, the replay/responsive trials of
:mod:`app.attendance.stream_eval` and the unit tests.

Why these actions (measured on ``../shared/faces/videos`` with the SFace engine's 68 landmarks,
see ``benchmarks/stream_liveness.py`` and the README): blinks (eye aspect ratio ~0.34 open,
0.12-0.20 closed) and head turns (yaw ratio) are read reliably. *Look up* and *open mouth* are
not offered: the talking-head clip's ordinary speech already moves the pitch ratio by 0.28
(0.47 -> 0.19) and opens the mouth to an aspect ratio of 0.49, and no clip here shows a
deliberate look-up or open mouth to set a threshold that separates the two.

Natural sway: over any 2.5 s of talking_head_1 the yaw moves up to 0.21 (median) from its
preceding 1.5 s, 0.31 at most; the old single threshold 0.12 was crossed by that. A turn now
needs the head to be *held still* before the reveal (pre-reveal yaw range below
``hold_max_yaw_range``), then to move >= ``turn_threshold`` from that held pose, in the
requested direction, for ``turn_min_frames`` frames, after the reveal, without first swinging
the other way — a talking, swaying head fails one of these far more often than it passes.

The package's modules, by section: :mod:`~app.attendance.streaming.params` (the actions,
the stable reason codes, a frame's measured values and the protocol's parameters),
:mod:`~app.attendance.streaming.schedule` (the reveal plan and its state machine) and
:mod:`~app.attendance.streaming.decision` (the decision over a whole stream, :func:`evaluate`).
Callers import this package: ``from app.attendance.streaming import Schedule``.
"""

from __future__ import annotations

from app.attendance.streaming.decision import RevealResult, StreamResult, evaluate
from app.attendance.streaming.params import (
    CONTINUITY_REASONS,
    REASON_BEFORE_REVEAL,
    REASON_DIFFERENT_PERSON,
    REASON_FRAME_RATE,
    REASON_FRAMES_IDENTICAL,
    REASON_IMPLAUSIBLE_MOTION,
    REASON_NOT_HELD,
    REASON_NOT_SEEN,
    REASON_OUT_OF_ORDER,
    REASON_REPEATED,
    REASON_TOO_FEW_FACES,
    REASON_TOO_SHORT,
    REASON_WRONG_ACTION,
    STREAM_ACTIONS,
    StreamAction,
    StreamFeatures,
    StreamFrame,
    StreamParams,
)
from app.attendance.streaming.schedule import Reveal, Schedule

__all__ = [
    "CONTINUITY_REASONS",
    "REASON_BEFORE_REVEAL",
    "REASON_DIFFERENT_PERSON",
    "REASON_FRAMES_IDENTICAL",
    "REASON_FRAME_RATE",
    "REASON_IMPLAUSIBLE_MOTION",
    "REASON_NOT_HELD",
    "REASON_NOT_SEEN",
    "REASON_OUT_OF_ORDER",
    "REASON_REPEATED",
    "REASON_TOO_FEW_FACES",
    "REASON_TOO_SHORT",
    "REASON_WRONG_ACTION",
    "Reveal",
    "RevealResult",
    "STREAM_ACTIONS",
    "Schedule",
    "StreamAction",
    "StreamFeatures",
    "StreamFrame",
    "StreamParams",
    "StreamResult",
    "evaluate",
]
