"""``skilltrace face evaluate`` on a small real subset of ../shared/faces (linked into a temporary
folder, never copied into the repository): every figure checked against a hand count made
image by image with the engine and the PAD models directly."""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from app.attendance import pad
from app.attendance import stream_eval as se
from app.attendance.calibration import calibration_engine_config
from app.attendance.cli import face_app
from app.attendance.engines import make_engine
from app.attendance.evaluation import Evaluation, burst_scores, evaluate
from app.attendance.face import EngineConfig, FileSample, load_image_file
from app.attendance.sface import SFaceEngine
from app.attendance.streaming import StreamParams
from app.config import Settings

ACCEPT, REJECT = Settings().face_thresholds("sface")
PEOPLE = ("0001", "0002", "0007")
PER_PERSON = 4


def _link(src_root: Path, dst: Path, people: tuple[str, ...]) -> None:
    for person in people:
        (dst / person).mkdir(parents=True)
        for img in sorted((src_root / person).iterdir())[:PER_PERSON]:
            (dst / person / img.name).symlink_to(img)


@pytest.fixture(scope="module")
def subset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    faces = Path(__file__).resolve().parents[2].parent / "shared" / "faces" / "antispoof"
    if not faces.is_dir():
        pytest.skip("face data not found")
    root = tmp_path_factory.mktemp("eval")
    _link(faces / "live", root / "live", PEOPLE)
    _link(faces / "print_attack", root / "print_attack", PEOPLE[:2])
    return root / "live", root / "print_attack"


@pytest.fixture(scope="module")
def hand(subset: tuple[Path, Path]) -> dict[str, dict[str, list[tuple[np.ndarray, float]]]]:
    """(embedding, PAD score) of every image, by folder and person, one image at a time."""
    engine = SFaceEngine(calibration_engine_config())
    out: dict[str, dict[str, list[tuple[np.ndarray, float]]]] = {}
    for folder in subset:
        out[folder.name] = {}
        for person in sorted(p.name for p in folder.iterdir()):
            rows = []
            for img_path in sorted((folder / person).iterdir()):
                img = load_image_file(img_path)
                m = engine.measure(img)
                assert m.analysis is not None and m.analysis.box.detection is not None
                box = pad.detection_box(m.analysis.box.detection)
                rows.append((m.analysis.embedding, pad.frame_score(img, box)))
            out[folder.name][person] = rows
    return out


VIDEO = Path(__file__).resolve().parents[2].parent / "shared/faces/videos/talking_head_1.mp4"
TRIALS = 12


@pytest.fixture(scope="module")
def result(subset: tuple[Path, Path]) -> Evaluation:
    live, attacks = subset
    return evaluate(
        live,
        config=calibration_engine_config(),
        accept=ACCEPT,
        reject=REJECT,
        attack_folders=[attacks],
        videos=[VIDEO],
        trials=TRIALS,
        workers=1,
    )


def test_evaluate_matches_the_hand_count(result: Evaluation, hand: dict) -> None:  # type: ignore[type-arg]
    # Pairs by hand: every within-person pair genuine, every cross-person pair impostor.
    genuine: list[float] = []
    impostor: list[float] = []
    people = hand["live"]
    for rows in people.values():
        for (a, _), (b, _) in itertools.combinations(rows, 2):
            genuine.append(float(np.dot(a, b)))
    for p, q in itertools.combinations(people, 2):
        for (a, _), (b, _) in itertools.product(people[p], people[q]):
            impostor.append(float(np.dot(a, b)))
    m = result.matching
    assert (m.people, m.images, m.embedded) == (3, 12, 12)
    assert m.genuine_pairs == len(genuine) == 3 * 6
    assert m.impostor_pairs == len(impostor) == 3 * 16
    for row in [*m.table, *m.configured.values()]:
        t = row.threshold
        assert row.false_matches == sum(s >= t for s in impostor), t
        assert row.false_non_matches == sum(s < t for s in genuine), t
        assert (row.impostor_pairs, row.genuine_pairs) == (48, 18)
        assert row.fmr == pytest.approx(row.false_matches / 48)
    assert m.configured["accept"].threshold == ACCEPT
    assert m.worst_genuine == pytest.approx(min(genuine), abs=1e-5)
    assert m.closest_impostor == pytest.approx(max(impostor), abs=1e-5)
    # Different East-Asian people: no single pair reaches the accept threshold.
    assert m.configured["accept"].false_matches == 0

    p = result.pad
    assert p is not None
    bona = [s for rows in hand["live"].values() for _, s in rows]
    printed = [s for rows in hand["print_attack"].values() for _, s in rows]
    assert (p.bona_fide.scored, p.attacks[0].scored, p.attacks[0].name) == (12, 8, "print_attack")
    for row in p.table:
        t = row.threshold
        assert row.bona_fide_rejected == sum(s < t for s in bona), t
        assert row.attacks_accepted["print_attack"] == sum(s >= t for s in printed), t
        assert (row.bona_fide, row.attacks["print_attack"]) == (12, 8)
        # Bursts: 4 frames per person <= the 5-frame burst, so one burst (all frames) each.
        meds = [float(np.median([s for _, s in r])) for r in hand["print_attack"].values()]
        assert row.burst_attacks_accepted["print_attack"] == sum(x >= t for x in meds)
        assert row.burst_bona_fide == 3  # 4 frames each: one burst per person
    assert p.configured.threshold == pad.DEFAULT_REVIEW_BELOW
    assert p.configured in p.table

    doc = result.to_json()
    json.dumps(doc, allow_nan=False)  # strict JSON: no NaN anywhere
    assert doc["pad"]["bona_fide"]["people"] == 3
    assert doc["matching"]["configured"]["reject"]["threshold"] == REJECT


def test_streamed_protocol_trials_are_the_protocols_own(
    result: Evaluation, subset: tuple[Path, Path]
) -> None:
    """The replay, responsive and print figures are what stream_eval's trials give with the
    same seed: counted again here trial by trial."""
    stream = result.stream
    assert stream is not None and stream.trials == TRIALS
    params = StreamParams()
    engine = make_engine(EngineConfig(pad=False))
    clip = se.analyse_clip(engine, VIDEO, mirror_turns=params)
    master = random.Random(stream.seed)  # noqa: S311 - the harness's reproducible draws
    replays = [
        se.replay_trial(clip, random.Random(master.getrandbits(64)), params)  # noqa: S311
        for _ in range(TRIALS)
    ]
    got = stream.replay[VIDEO.name]
    assert (got["trials"], got["passed"]) == (TRIALS, sum(t.passed for t in replays))
    failed = [t.result.reason for t in replays if not t.passed]
    assert sum(got["reasons"].values()) == len(failed)
    # A live, cooperating user (the harness) passes; the replay of the same clip does not.
    live = stream.responsive[VIDEO.name]
    assert live["trials"] == TRIALS and live["passed"] > got["passed"]
    printed = stream.printed["print_attack"]
    assert printed["trials"] == TRIALS and printed["passed"] == 0
    assert stream.no_harness == {}
    assert result.to_json()["stream"]["replay"][VIDEO.name]["trials"] == TRIALS


def test_template_level_counts(result: Evaluation, hand: dict) -> None:  # type: ignore[type-arg]
    """One image against the centroid of 3 others of the person (4 images each here: the probe
    is the one left out): every genuine comparison checked against the 4 possible centroids."""
    from app.attendance.calibration import CalibrationData
    from app.attendance.evaluation import template_level

    data = CalibrationData(root=Path("x"), metric="cosine")
    embs = {p: np.stack([e for e, _ in rows]) for p, rows in hand["live"].items()}
    data.by_person = {p: [f"{p}/{i}" for i in range(4)] for p in embs}
    for p, e in embs.items():
        for i in range(4):
            data.samples[f"{p}/{i}"] = FileSample(f"{p}/{i}", e[i].astype(np.float32), None, 1)
    # By hand: with 3 of 4 images averaged, a genuine score is one of the 4 leave-one-out
    # values per person, an impostor score one of the 4 centroids against another's image.
    gen, imp = [], []
    for p, e in embs.items():
        rest = np.concatenate([o for q, o in embs.items() if q != p]).astype(np.float64)
        for i in range(4):
            c = np.delete(e, i, axis=0).astype(np.float64).mean(axis=0)
            c /= np.linalg.norm(c)
            gen.append(float(e[i] @ c))
            imp.extend((rest @ c).tolist())
    t = {
        "none_refused": min(gen) - 1e-4,
        "all_refused": max(gen) + 1e-4,
        "all_matched": min(imp) - 1e-4,
        "none_matched": max(imp) + 1e-4,
    }
    out = template_level(data, t, frames=3, draws=5)
    assert out is not None and out["template_frames"] == 3
    rows = out["rows"]
    for row in rows.values():
        assert (row["genuine_pairs"], row["impostor_pairs"]) == (3 * 5, 3 * 5 * 8)
    assert rows["none_refused"]["false_non_matches"] == 0
    assert rows["all_refused"]["false_non_matches"] == 15
    assert rows["all_matched"]["false_matches"] == 120
    assert rows["none_matched"]["false_matches"] == 0
    assert result.matching.template_level is None  # 4 images per person: none to spare


def test_burst_scores_draw_distinct_frames_per_person() -> None:
    from app.attendance.evaluation import PadGroup

    g = PadGroup("x", "x", 8, 8, {"a": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], "b": [0.9, 0.8]})
    out = burst_scores(g, frames=5, trials=4)
    assert out.size == 5  # 4 draws for a, one burst of both frames for b
    assert out[-1] == pytest.approx(0.85)
    assert all(0.3 <= x <= 0.4 for x in out[:4])  # median of 5 of a's 6 frames


def test_cli_prints_and_writes_json(subset: tuple[Path, Path], tmp_path: Path) -> None:
    live, attacks = subset
    out = tmp_path / "eval.json"
    result = CliRunner().invoke(
        face_app,
        [
            "evaluate",
            str(live),
            "--attacks",
            str(attacks),
            "--workers",
            "1",
            "--trials",
            "5",
            "--json",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    words = result.output.split()
    assert "matching" in words and "APCER" in words and "attacks" in words
    doc = json.loads(out.read_text())
    assert doc["matching"]["genuine_pairs"] == 18 and doc["matching"]["impostor_pairs"] == 48
    assert doc["pad"]["attacks"][0]["scored"] == 8
    assert doc["engine"]["engine"] == "sface"
    assert doc["stream"]["printed"]["print_attack"]["trials"] == 5
    novideo = CliRunner().invoke(face_app, ["evaluate", str(live), "--videos", str(tmp_path)])
    assert novideo.exit_code == 2 and "no video files" in novideo.output
    dlib = CliRunner().invoke(
        face_app, ["evaluate", str(live), "--attacks", str(attacks), "--engine", "dlib"]
    )
    assert dlib.exit_code == 2
