"""Calibration maths, folder/pairs reading, and the operator CLI on real photos."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from app.attendance import calibration as cal
from app.attendance.cli import face_app
from app.attendance.face import FileSample


def test_rates_and_thresholds() -> None:
    genuine = np.array([0.2, 0.3, 0.4, 0.5])
    impostor = np.linspace(0.45, 0.95, 10_000)
    r = cal.rates_at(genuine, impostor, 0.45)
    assert r.false_matches == 1 and r.false_non_matches == 1
    t = cal.threshold_at_fmr(impostor, 1e-4)
    assert cal.rates_at(genuine, impostor, t).fmr <= 1e-4
    assert cal.rates_at(genuine, impostor, t + 1e-4).fmr > 1e-4
    assert cal.threshold_at_fmr(impostor, 0.0) < impostor.min()
    rec = cal.recommend(genuine, impostor, fmr_target=1e-4, reject_fnmr=0.25)
    assert rec.accept <= rec.reject
    assert rec.fmr_at_accept <= 1e-4
    assert rec.fnmr_at_reject <= 0.25
    assert rec.fmr_resolution == pytest.approx(1e-4)
    table = cal.error_table(genuine, impostor)
    assert [p.threshold for p in table][:2] == [0.3, 0.325]
    assert all(a.fmr <= b.fmr for a, b in zip(table, table[1:], strict=False))


def test_all_pairs_counts() -> None:
    rng = np.random.default_rng(0)
    by_person = {k: rng.normal(size=(n, 128)) for k, n in (("a", 3), ("b", 2), ("c", 1))}
    gen, imp = cal.all_pairs_distances(by_person)
    assert gen.size == 3 + 1
    assert imp.size == 3 * 2 + 3 * 1 + 2 * 1


def test_scan_folder_and_pairs_file(tmp_path: Path) -> None:
    for person, n in (("Ann_Lee", 3), ("Bo_Wu", 2), ("_multi", 2)):
        (tmp_path / person).mkdir()
        for i in range(1, n + 1):
            (tmp_path / person / f"{person}_{i:04d}.jpg").write_bytes(b"x")
    (tmp_path / "Ann_Lee" / "notes.txt").write_text("skip me")
    folder = cal.scan_folder(tmp_path, max_per_person=2)
    assert sorted(folder) == ["Ann_Lee", "Bo_Wu"]
    assert len(folder["Ann_Lee"]) == 2
    pairs_file = tmp_path / "pairs.txt"
    pairs_file.write_text("10\t300\nAnn_Lee\t1\t3\nAnn_Lee\t2\tBo_Wu\t1\n", encoding="utf-8")
    pairs = cal.read_pairs(pairs_file, tmp_path)
    assert pairs[0] == (
        tmp_path / "Ann_Lee/Ann_Lee_0001.jpg",
        tmp_path / "Ann_Lee/Ann_Lee_0003.jpg",
        True,
    )
    assert pairs[1][2] is False and pairs[1][1].name == "Bo_Wu_0001.jpg"


@pytest.fixture(scope="module")
def small_lfw(tmp_path_factory: pytest.TempPathFactory, faces_dir: Path) -> Path:
    """3 LFW people x 3 images, symlinked into a temp person/image folder."""
    root = tmp_path_factory.mktemp("lfw3")
    for person in ("Adrien_Brody", "Andre_Agassi", "Angelina_Jolie"):
        (root / person).mkdir()
        for i in (1, 2, 3):
            name = f"{person}_{i:04d}.jpg"
            (root / person / name).symlink_to(faces_dir / "lfw" / person / name)
    return root


def test_calibrate_folder_on_real_faces(small_lfw: Path) -> None:
    # The default engine (SFace) scores cosine similarity: larger is closer.
    data = cal.calibrate_folder(small_lfw, workers=1)
    assert data.metric == "cosine" and data.embedded == 9
    assert data.genuine.size == 9 and data.impostor.size == 27
    assert np.median(data.genuine) > 0.5 > np.max(data.impostor)
    # The dlib engine still calibrates in Euclidean distance.
    dlib = cal.calibrate_folder(
        small_lfw, workers=1, config=cal.calibration_engine_config(engine="dlib")
    )
    assert dlib.metric == "euclidean" and dlib.embedded == 9
    assert np.median(dlib.genuine) < 0.5 < np.min(dlib.impostor)


def test_cli_compare(faces_dir: Path) -> None:
    runner = CliRunner()
    obama = faces_dir / "face_recognition" / "obama"
    same = runner.invoke(face_app, ["compare", str(obama / "obama.jpg"), str(obama / "obama2.jpg")])
    assert same.exit_code == 0, same.output
    assert "decision: passed" in same.output and "faces found: 1" in same.output
    other = runner.invoke(
        face_app,
        [
            "compare",
            str(obama / "obama.jpg"),
            str(faces_dir / "face_recognition/biden/biden.jpg"),
            "--accept",
            "0.5",
            "--reject",
            "0.4",
        ],
    )
    assert other.exit_code == 0 and "decision: failed" in other.output
    assert "cosine similarity" in other.output and "sface_2021dec_int8bq_cv5" in other.output
    # Cosine thresholds the wrong way round are refused; the dlib engine takes distances.
    backwards = [str(obama / "obama.jpg"), str(obama / "obama2.jpg"), "--accept", "0.4"]
    assert runner.invoke(face_app, ["compare", *backwards, "--reject", "0.5"]).exit_code == 2
    old = runner.invoke(
        face_app,
        [
            "compare",
            str(obama / "obama.jpg"),
            str(faces_dir / "face_recognition/biden/biden.jpg"),
            "--engine",
            "dlib",
            "--accept",
            "0.4",
            "--reject",
            "0.5",
        ],
    )
    assert old.exit_code == 0 and "decision: failed" in old.output and "distance" in old.output
    multi = runner.invoke(
        face_app,
        [
            "compare",
            str(obama / "obama.jpg"),
            str(faces_dir / "face_recognition/_multi_face/obama_and_biden.jpg"),
        ],
    )
    assert "multiple_faces" in multi.output


@pytest.mark.slow
def test_cli_calibrate(small_lfw: Path) -> None:
    result = CliRunner().invoke(face_app, ["calibrate", str(small_lfw), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "genuine pairs: 9, impostor pairs: 27" in result.output
    assert re.search(r"recommended: accept >= \d\.\d+", result.output)


def test_cosine_rates_thresholds_and_attempts() -> None:
    """Cosine scores (SFace): accepted at s >= t; the accept threshold for an FMR target and the
    decision-level attempts (5-image template vs 5-image burst, fused like the service)."""
    genuine = np.array([0.9, 0.8, 0.7, 0.45])
    impostor = np.array([0.1, 0.2, 0.3, 0.55])
    r = cal.rates_at(genuine, impostor, 0.5, "cosine")
    assert (r.false_matches, r.false_non_matches) == (1, 1)
    assert cal.threshold_at_fmr(impostor, 0.0, "cosine") > 0.55
    rec = cal.recommend(genuine, impostor, fmr_target=0.0, reject_fnmr=0.25, metric="cosine")
    assert rec.accept > 0.55 and rec.reject <= rec.accept

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 128))
    data = cal.CalibrationData(root=Path("synthetic"), metric="cosine")
    for i, c in enumerate(centres):
        paths = []
        for j in range(12):
            path = f"p{i}/{j}.jpg"
            emb = (c + rng.normal(scale=0.3, size=128)).astype(np.float32)
            data.samples[path] = FileSample(path, emb / np.linalg.norm(emb), None, 1)
            paths.append(path)
        data.by_person[f"p{i}"] = paths
    att = cal.attempt_rates(data, 0.5, 0.4, trials=4)
    assert att is not None
    assert (att.genuine_attempts, att.impostor_attempts) == (12, 24)
    assert att.genuine["passed"] == 1.0 and att.impostor["failed"] == 1.0
    # Pooling two sets turns every cross-set pair into an impostor pair.
    one = cal.CalibrationData(root=Path("a"), metric="cosine")
    one.samples = {k: v for k, v in data.samples.items() if k.startswith("p0/")}
    one.by_person = {"p0": data.by_person["p0"]}
    two = cal.CalibrationData(root=Path("b"), metric="cosine")
    two.samples = {k: v for k, v in data.samples.items() if k.startswith("p1/")}
    two.by_person = {"p1": data.by_person["p1"]}
    pooled = cal.merge([one, two])
    assert pooled.impostor.size == 12 * 12 and pooled.genuine.size == 2 * 66
