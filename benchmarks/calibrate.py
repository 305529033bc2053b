"""Calibrate the decision thresholds on ../shared/faces and compare with the naive library path.

    .venv/bin/python benchmarks/calibrate.py [--quick]

Per data set: genuine/impostor counts, FMR/FNMR table, recommended accept/reject thresholds for
FMR <= 1e-4 with a review band. Then: LFW accuracy of the naive ``face_recognition`` path
(``face_locations`` with defaults + ``face_encodings``) against ours, on the same images; the
printed-photo attack against live templates; and, on the East-Asian webcam crops
(antispoof/live), what several enrolment templates, multi-frame fusion and a different alignment
do to the error rates.

This script studies the *dlib* engine (Euclidean distances) against the naive library, which uses
the same dlib model; the default engine (SFace, cosine similarity) is calibrated per set with
``skilltrace face calibrate DIR [DIR ...]`` (README, "Face engines").
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from app.attendance.calibration import (  # noqa: E402
    CalibrationData,
    all_pairs_distances,
    calibrate_folder,
    rates_at,
    recommend,
    threshold_at_fmr,
)
from app.attendance.cli import console, print_report  # noqa: E402
from app.attendance.face import distance_matrix, fused_distance, model_dir  # noqa: E402

FACES = REPO_ROOT.parent / "shared" / "faces"
SETS = ["lfw", "antispoof/live", "face_recognition", "deepface", "dlib"]


def _naive_embed(path: str) -> np.ndarray | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import face_recognition
    img = face_recognition.load_image_file(path)
    locs = face_recognition.face_locations(img)  # defaults: HOG, upsample 1
    if not locs:
        return None
    # largest face, as our path does
    locs.sort(key=lambda b: (b[2] - b[0]) * (b[1] - b[3]), reverse=True)
    return np.asarray(face_recognition.face_encodings(img, [locs[0]])[0])


def naive_by_person(data: CalibrationData, workers: int = 2) -> dict[str, np.ndarray]:
    paths = [p for ps in data.by_person.values() for p in ps]
    with ProcessPoolExecutor(workers) as ex:
        embs = dict(zip(paths, ex.map(_naive_embed, paths, chunksize=8), strict=True))
    out = {}
    for person, ps in data.by_person.items():
        rows = [embs[p] for p in ps if embs[p] is not None]
        if rows:
            out[person] = np.stack(rows)
    return out


def accuracy(
    gen: np.ndarray, imp: np.ndarray, rng: np.random.Generator
) -> tuple[float, float, float]:
    """LFW-style balanced accuracy: all genuine pairs + as many random impostor pairs.
    Returns (accuracy at 0.6, best accuracy, its threshold)."""
    imp_s = rng.choice(imp, size=min(gen.size, imp.size), replace=False)
    d = np.concatenate([gen, imp_s])
    y = np.concatenate([np.ones(gen.size, bool), np.zeros(imp_s.size, bool)])

    def acc(t: float) -> float:
        return float(np.mean((d <= t) == y))

    grid = np.arange(0.3, 0.8, 0.005)
    accs = [acc(t) for t in grid]
    i = int(np.argmax(accs))
    return acc(0.6), accs[i], float(grid[i])


def fusion_experiments(by_person: dict[str, np.ndarray], rng: np.random.Generator) -> None:
    """Several enrolment templates x bursts of probe frames x fusion strategy."""
    console.rule("[bold]antispoof/live: templates x burst x fusion (FMR target 1e-4)")
    console.print(
        "rows: T templates (disjoint from probes), B probe frames per burst; "
        "200 random bursts per person; impostor = burst vs every other person's "
        "templates. FNMR@FMR<=x is the share of genuine bursts refused at the "
        "threshold where at most x of impostor bursts match."
    )
    names = list(by_person)
    cols = ("thr@1e-4", "FNMR@1e-4", "FNMR@1e-3", "FNMR@1e-2")
    header = f"{'T':>2} {'B':>2} {'fusion':12} " + " ".join(f"{c:>10}" for c in cols) + "  n_imp"
    console.print(header)
    for t in (1, 3, 5):
        for b in (1, 3, 5):
            for strategy in ("min", "mean", "mean_k_best", "centroid"):
                if (t == 1 and b == 1) and strategy != "mean":
                    continue
                gen, imp = [], []
                for name in names:
                    e = by_person[name]
                    idx = rng.permutation(len(e))
                    tmpl, rest = e[idx[:t]], e[idx[t:]]
                    if len(rest) < b:
                        continue
                    others = [
                        (by_person[o][rng.permutation(len(by_person[o]))[:t]])
                        for o in names
                        if o != name
                    ]
                    for _ in range(200):
                        probe = rest[rng.choice(len(rest), b, replace=False)]
                        gen.append(fused_distance(probe, tmpl, strategy, k=3))
                        imp.extend(fused_distance(probe, o, strategy, k=3) for o in others)
                g, i = np.array(gen), np.array(imp)
                out = []
                for target in (1e-4, 1e-3, 1e-2):
                    thr = threshold_at_fmr(i, target)
                    out.append((thr, rates_at(g, i, thr).fnmr))
                console.print(
                    f"{t:>2} {b:>2} {strategy:12} {out[0][0]:10.3f} {out[0][1]:10.2%} "
                    f"{out[1][1]:10.2%} {out[2][1]:10.2%} {i.size:>6}"
                )


def alignment_68(data: CalibrationData) -> dict[str, np.ndarray]:
    """Embeddings of the same faces aligned with the 68-point model instead of the 5-point."""
    import dlib

    from app.attendance.face import DlibFaceEngine, load_image_file

    m = model_dir()
    sp68 = dlib.shape_predictor(str(m / "shape_predictor_68_face_landmarks.dat"))
    rec = dlib.face_recognition_model_v1(str(m / "dlib_face_recognition_resnet_model_v1.dat"))
    eng = DlibFaceEngine(data_config())
    out = {}
    for person, ps in data.by_person.items():
        rows = []
        for p in ps:
            img = load_image_file(p)
            boxes = eng.detect(img)
            if not boxes:
                continue
            b = boxes[0]
            shape = sp68(img, dlib.rectangle(b.left, b.top, b.right - 1, b.bottom - 1))
            rows.append(np.asarray(rec.compute_face_descriptor(img, shape, 1)))
        if rows:
            out[person] = np.stack(rows)
    return out


def data_config():  # type: ignore[no-untyped-def]
    from app.attendance.calibration import calibration_engine_config

    return calibration_engine_config(engine="dlib")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="LFW capped at 4 images per person")
    ap.add_argument("--fmr", type=float, default=1e-4)
    args = ap.parse_args()
    rng = np.random.default_rng(7)
    results: dict[str, CalibrationData] = {}
    for name in SETS:
        t0 = time.perf_counter()
        data = calibrate_folder(
            FACES / name,
            max_per_person=4 if args.quick and name == "lfw" else None,
            workers=2,
            config=data_config(),
        )
        console.rule(f"[bold]{name}[/bold] ({time.perf_counter() - t0:.0f} s)")
        print_report(data, args.fmr, title=name)
        results[name] = data

    # Naive library path vs ours on LFW.
    lfw = results["lfw"]
    console.rule("[bold]LFW: naive face_recognition path vs ours (same images, all pairs)")
    t0 = time.perf_counter()
    naive = naive_by_person(lfw)
    t_naive = time.perf_counter() - t0
    ng, ni = all_pairs_distances(naive)
    og, oi = lfw.genuine, lfw.impostor
    for label, g, i, n_img in (
        ("naive", ng, ni, sum(len(v) for v in naive.values())),
        ("ours", og, oi, lfw.embedded),
    ):
        a06, best, thr = accuracy(g, i, rng)
        rec = recommend(g, i, args.fmr)
        console.print(
            f"{label:6}: {n_img} faces found, genuine {g.size} / impostor {i.size}; "
            f"balanced accuracy at 0.6 {a06:.2%}, best {best:.2%} at {thr:.3f}; "
            f"FMR at 0.6 {rates_at(g, i, 0.6).fmr:.3%}; accept for FMR<=1e-4 "
            f"{rec.accept:.3f} (FNMR {rec.fnmr_at_accept:.2%})"
        )
    console.print(f"(naive embedding of {len(naive)} people took {t_naive:.0f} s with 2 processes)")

    # Printed photo vs live templates of the same person.
    live = results["antispoof/live"]
    console.rule("[bold]print attack vs live templates (same person)")
    prt = calibrate_folder(FACES / "antispoof/print_attack", workers=2, config=data_config())
    lp, pp = live.embeddings_by_person(), prt.embeddings_by_person()
    rec = recommend(live.genuine, live.impostor, args.fmr)
    d = np.concatenate([distance_matrix(pp[k], lp[k]).min(1) for k in pp if k in lp])
    console.print(
        f"print frames: {d.size}; min distance to their person's live images: median "
        f"{np.median(d):.3f}; matched at 0.6: {np.mean(d <= 0.6):.1%}; at the live "
        f"set's accept {rec.accept:.3f}: {np.mean(d <= rec.accept):.1%} -> the "
        "recogniser cannot tell a print from the person; liveness must."
    )

    fusion_experiments(lp, rng)
    console.rule("[bold]antispoof/live: 68-point alignment instead of 5-point")
    a68 = alignment_68(live)
    g68, i68 = all_pairs_distances(a68)
    for label, g, i in (("5-point (ours)", live.genuine, live.impostor), ("68-point", g68, i68)):
        r = recommend(g, i, args.fmr)
        console.print(
            f"{label:15}: impostors <= 0.6 {np.mean(i <= 0.6):.1%}, <= 0.45 "
            f"{np.mean(i <= 0.45):.1%}; accept@1e-4 {r.accept:.3f} FNMR "
            f"{r.fnmr_at_accept:.2%}; FNMR@FMR1e-2 "
            f"{rates_at(g, i, threshold_at_fmr(i, 1e-2)).fnmr:.2%}"
        )


if __name__ == "__main__":
    main()
