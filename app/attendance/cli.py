"""Operator commands for face disputes and audits, mounted as ``skilltrace face``.

``compare`` shows what the service would decide on two single frames (no liveness);
``calibrate`` computes FMR/FNMR and recommended thresholds on any ``person/image`` folder;
``evaluate`` prints (and writes as JSON) the audit figures: FMR/FNMR with their pair counts and
PAD APCER/BPCER per attack type (:mod:`app.attendance.evaluation`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import numpy as np
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TimeElapsedColumn
from rich.table import Table

from app.attendance.calibration import (
    CalibrationData,
    attempt_rates,
    calibrate_folder,
    calibration_engine_config,
    error_table,
    merge,
    recommend,
)
from app.attendance.engines import make_engine
from app.attendance.evaluation import (
    Evaluation,
    MatchReport,
    PadReport,
    StreamReport,
    evaluate,
    find_videos,
)
from app.attendance.exceptions import FaceRejected
from app.attendance.face import (
    DlibFaceEngine,
    EngineConfig,
    FaceMeasurement,
    decide_score,
    load_image_file,
    score_matrix,
)
from app.config import get_settings

face_app = typer.Typer(
    help="Face engine tools: compare two photos, calibrate thresholds, evaluate for audits."
)
console = Console()


def _describe(label: str, path: Path, engine: DlibFaceEngine) -> FaceMeasurement | None:
    try:
        img = load_image_file(path)
    except FaceRejected as exc:
        console.print(f"[red]{label}: {path}: {exc.code}[/red] ({exc.detail})")
        return None
    m = engine.measure(img)
    console.print(f"[bold]{label}[/bold]: {path} ({img.shape[1]}x{img.shape[0]})")
    console.print(
        f"  faces found: {m.faces_found}; boxes (l, t, r, b): {[b.as_tuple() for b in m.boxes]}"
    )
    if m.analysis is not None:
        q = m.analysis.quality
        console.print(
            f"  largest face: {q.face_px}px, sharpness {q.sharpness:.1f}, "
            f"brightness {q.brightness:.1f}, EAR {m.analysis.ear:.3f}, yaw {m.analysis.yaw:+.3f}"
        )
    if m.rejection is not None:
        console.print(
            f"  [yellow]quality gate: {m.rejection.code}[/yellow] — {m.rejection.message_zh}"
        )
    else:
        console.print("  quality gate: [green]ok[/green]")
    return m


@face_app.command()
def compare(
    img_a: Path = typer.Argument(..., exists=True, dir_okay=False, help="First photo"),
    img_b: Path = typer.Argument(..., exists=True, dir_okay=False, help="Second photo"),
    accept: float | None = typer.Option(None, help="Accept threshold [settings, per engine]"),
    reject: float | None = typer.Option(None, help="Reject threshold [settings, per engine]"),
    engine_name: str | None = typer.Option(
        None, "--engine", help="sface or dlib [SKILLTRACE_FACE_ENGINE]"
    ),
) -> None:
    """Detect, quality-check and compare two single frames; print the decision (no liveness).

    Without --accept/--reject it uses the service's configured thresholds, so the decision is
    the one the service would make on these frames.
    """
    settings = get_settings()
    kind = _engine_kind(engine_name or settings.face_engine)
    engine = make_engine(EngineConfig(engine=kind))
    metric = engine.identity.metric
    default_accept, default_reject = settings.face_thresholds(kind)
    accept = default_accept if accept is None else accept
    reject = default_reject if reject is None else reject
    if (accept > reject) if metric == "euclidean" else (accept < reject):
        raise typer.BadParameter(
            "--accept must be closer than --reject (distance: smaller; cosine: larger)"
        )
    ma = _describe("A", img_a, engine)
    mb = _describe("B", img_b, engine)
    if ma is None or mb is None or ma.analysis is None or mb.analysis is None:
        console.print("[red]decision: failed[/red] (no face to compare)")
        raise typer.Exit(code=1)
    d = float(score_matrix(ma.analysis.embedding, mb.analysis.embedding, metric)[0, 0])
    decision = decide_score(d, accept, reject, metric)
    gated = ma.rejection is not None or mb.rejection is not None
    colour = {"passed": "green", "review": "yellow", "failed": "red"}[decision]
    ident = engine.identity
    if metric == "euclidean":
        rule = f"distance {d:.4f} (accept <= {accept}, reject > {reject}"
    else:
        rule = f"cosine similarity {d:.4f} (accept >= {accept}, reject < {reject}"
    console.print(f"{rule}, model {ident.name} {ident.version}, sha256 {ident.sha256[:12]}…)")
    console.print(f"decision: [{colour}]{decision}[/{colour}]")
    if gated:
        console.print(
            "[yellow]note: the service would refuse at least one of these frames at the quality "
            "gate before comparing them.[/yellow]"
        )


def _engine_kind(name: str) -> Literal["sface", "dlib"]:
    if name == "sface":
        return "sface"
    if name == "dlib":
        return "dlib"
    raise typer.BadParameter(f"unknown engine {name!r} (sface or dlib)")


def print_report(
    data: CalibrationData,
    fmr: float,
    title: str = "",
    accept: float | None = None,
    reject: float | None = None,
) -> None:
    """Print counts, the FMR/FNMR table and the recommended thresholds of a calibration run."""
    failed = sum(1 for s in data.samples.values() if s.embedding is None)
    gated = sum(1 for s in data.samples.values() if s.embedding is not None and s.rejection)
    console.print(
        f"[bold]{title or data.root}[/bold]: {len(data.by_person)} people, "
        f"{len(data.samples)} images, {data.embedded} embedded ({failed} without a face, "
        f"{gated} embedded but below the quality gate)"
    )
    console.print(
        f"metric: {data.metric} ({'larger' if data.metric == 'cosine' else 'smaller'} = closer); "
        f"genuine pairs: {data.genuine.size}, impostor pairs: {data.impostor.size}"
    )
    if data.genuine.size and not data.impostor.size:
        # One person (e.g. webcam_cn): no impostor pairs, but the genuine side still tells how
        # many of this person's pairs each threshold would refuse. Pool it with other sets
        # (several folders on the command line) for impostor pairs.
        table = Table("threshold", "FNMR", "false non-matches")
        for r in error_table(data.genuine, np.zeros(1), metric=data.metric):
            table.add_row(f"{r.threshold:.3f}", f"{r.fnmr:.4f}", str(r.false_non_matches))
        console.print(table)
        g = data.genuine
        worst = g.min() if data.metric == "cosine" else g.max()
        console.print(f"genuine median {np.median(g):.3f}, worst {worst:.3f}")
    if data.genuine.size == 0 or data.impostor.size == 0:
        console.print("[yellow]no impostor (or genuine) pairs: no recommendation[/yellow]")
        _print_attempts(data, accept, reject)
        return
    table = Table("threshold", "FMR", "false matches", "FNMR", "false non-matches")
    for r in error_table(data.genuine, data.impostor, metric=data.metric):
        table.add_row(
            f"{r.threshold:.3f}",
            f"{r.fmr:.2e}",
            str(r.false_matches),
            f"{r.fnmr:.4f}",
            str(r.false_non_matches),
        )
    console.print(table)
    g, i = data.genuine, data.impostor
    if data.metric == "euclidean":
        console.print(
            f"genuine median {np.median(g):.3f}, 95th pct {np.percentile(g, 95):.3f}, worst "
            f"{g.max():.3f}; impostor 1st pct {np.percentile(i, 1):.3f}, 5th pct "
            f"{np.percentile(i, 5):.3f}, closest {i.min():.3f}"
        )
        acc, rej = "<=", ">"
    else:
        console.print(
            f"genuine median {np.median(g):.3f}, 5th pct {np.percentile(g, 5):.3f}, worst "
            f"{g.min():.3f}; impostor 99th pct {np.percentile(i, 99):.3f}, 95th pct "
            f"{np.percentile(i, 95):.3f}, closest {i.max():.3f}"
        )
        acc, rej = ">=", "<"
    rec = recommend(g, i, fmr_target=fmr, metric=data.metric)
    console.print(
        f"recommended: accept {acc} [bold]{rec.accept:.3f}[/bold] (FMR {rec.fmr_at_accept:.2e}, "
        f"FNMR {rec.fnmr_at_accept:.2%}); reject {rej} [bold]{rec.reject:.3f}[/bold] "
        f"(FMR {rec.fmr_at_reject:.2e}, FNMR {rec.fnmr_at_reject:.2%}); review band holds "
        f"{rec.genuine_in_review:.2%} of genuine and {rec.impostor_in_review:.2%} of impostor "
        f"pairs. FMR resolution 1/n = {rec.fmr_resolution:.1e} (95 % bound at zero errors "
        f"{rec.fmr_zero_bound:.1e})."
    )
    _print_attempts(data, accept, reject)


def _print_attempts(data: CalibrationData, accept: float | None, reject: float | None) -> None:
    if accept is None or reject is None:
        return
    att = attempt_rates(data, accept, reject)
    if att is None:
        return
    acc, rej = ("<=", ">") if data.metric == "euclidean" else (">=", "<")
    console.print(
        f"decision level at accept {acc} {accept}, reject {rej} {reject} (5-image "
        f"template vs 5-image burst, fused as the service does): "
        f"{att.genuine_attempts} genuine attempts {_shares(att.genuine)}, worst "
        f"{att.worst_genuine:.3f}; {att.impostor_attempts} impostor attempts "
        f"{_shares(att.impostor) if att.impostor_attempts else '-'}, closest "
        f"{att.closest_impostor:.3f}"
    )


def _shares(d: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.2%}" for k, v in d.items()) or "-"


@face_app.command()
def calibrate(
    directories: list[Path] = typer.Argument(
        ..., exists=True, file_okay=False, help="person/image folder(s); several are also pooled"
    ),
    pairs: Path | None = typer.Option(None, exists=True, dir_okay=False, help="LFW-style pairs"),
    fmr: float = typer.Option(1e-4, help="Target false-match rate for the accept threshold"),
    max_images_per_person: int | None = typer.Option(None, min=1, help="Cap images per person"),
    workers: int = typer.Option(2, min=1, help="Face worker processes"),
    engine_name: str | None = typer.Option(
        None, "--engine", help="sface or dlib [SKILLTRACE_FACE_ENGINE]"
    ),
) -> None:
    """Genuine/impostor scores, FMR/FNMR table and recommended thresholds per folder, plus the
    decision-level rates at the configured thresholds; with several folders, also pooled."""
    kind = _engine_kind(engine_name or get_settings().face_engine)
    if pairs is not None and len(directories) > 1:
        raise typer.BadParameter("--pairs works with one folder")
    accept, reject = get_settings().face_thresholds(kind)
    datasets: list[CalibrationData] = []
    for directory in directories:
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            task = progress.add_task(f"embedding {directory.name}", total=None)

            def on_total(n: int, t: TaskID = task) -> None:
                progress.update(t, total=n)

            def on_progress(k: int, t: TaskID = task) -> None:
                progress.advance(t, k)

            data = calibrate_folder(
                directory,
                pairs_file=pairs,
                max_per_person=max_images_per_person,
                workers=workers,
                config=calibration_engine_config(engine=kind),
                on_total=on_total,
                on_progress=on_progress,
            )
        print_report(data, fmr, accept=accept, reject=reject)
        datasets.append(data)
    if len(datasets) > 1:
        pooled = merge(datasets)
        print_report(pooled, fmr, title="pooled", accept=accept, reject=reject)


def _progress() -> Progress:
    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


@face_app.command("evaluate")
def evaluate_command(
    folder: Path = typer.Argument(
        ..., exists=True, file_okay=False, help="person/image folder of live (bona fide) faces"
    ),
    attacks: list[Path] = typer.Option(
        [],
        "--attacks",
        exists=True,
        file_okay=False,
        help="Folder of one attack type, laid out person/image like FOLDER (repeatable)",
    ),
    videos: Path | None = typer.Option(
        None,
        "--videos",
        exists=True,
        file_okay=False,
        help="Folder of recorded clips to replay into the streamed protocol",
    ),
    json_out: Path | None = typer.Option(None, "--json", dir_okay=False, help="Write JSON here"),
    trials: int = typer.Option(
        100, min=1, help="Trials per clip / attack type, and burst draws per person"
    ),
    workers: int = typer.Option(2, min=1, help="Face worker processes"),
    max_images_per_person: int | None = typer.Option(None, min=1, help="Cap images per person"),
    engine_name: str | None = typer.Option(
        None, "--engine", help="sface or dlib [SKILLTRACE_FACE_ENGINE]"
    ),
) -> None:
    """FMR/FNMR (with the pair counts behind each figure) at a grid of thresholds and at the
    configured ones; with --attacks, PAD APCER per attack type and BPCER, per frame and per
    burst, and the attack photos streamed in random order through the server-paced liveness
    protocol; with --videos, each clip replayed into that protocol at its own pace against
    random reveals (and a responsive harness built from it). Printed, and as JSON with --json."""
    settings = get_settings()
    kind = _engine_kind(engine_name or settings.face_engine)
    if (attacks or videos) and kind != "sface":
        raise typer.BadParameter(
            "--attacks and --videos need the sface engine (PAD uses YuNet's face box)"
        )
    clips = find_videos(videos) if videos is not None else []
    if videos is not None and not clips:
        raise typer.BadParameter(f"no video files in {videos}")
    accept, reject = settings.face_thresholds(kind)
    with _progress() as progress:
        task = progress.add_task(f"evaluating {folder.name}", total=None)

        def on_total(n: int, t: TaskID = task) -> None:
            total = progress.tasks[0].total or 0
            progress.update(t, total=total + n)

        def on_progress(k: int, t: TaskID = task) -> None:
            progress.advance(t, k)

        result = evaluate(
            folder,
            config=calibration_engine_config(engine=kind),
            accept=accept,
            reject=reject,
            attack_folders=attacks,
            videos=clips,
            pad_threshold=settings.face_pad_review_below,
            trials=trials,
            workers=workers,
            max_per_person=max_images_per_person,
            on_total=on_total,
            on_progress=on_progress,
        )
    print_evaluation(result)
    if json_out is not None:
        json_out.write_text(
            json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        console.print(f"JSON written to {json_out}")


def print_evaluation(result: Evaluation) -> None:
    e = result.engine
    console.print(f"engine {e['engine']} / {e['model']} ({e['version']}, {e['sha256'][:12]}…)")
    _print_matching(result.matching)
    if result.pad is not None:
        _print_pad(result.pad)
    if result.stream is not None:
        _print_stream(result.stream)


def _print_stream(s: StreamReport) -> None:
    console.print(
        f"[bold]streamed liveness protocol[/bold] ({s.trials} trials each, random reveals, "
        f"seed {s.seed}; the goal: replay and printed photos pass <= 2 %, live users >= 95 %)"
    )
    table = Table("stream", "passed", "pass rate", "failures by reason")
    groups = [("replay", s.replay), ("responsive (live)", s.responsive), ("printed", s.printed)]
    for label, group in groups:
        for name, d in group.items():
            reasons = ", ".join(f"{k} {v}" for k, v in d["reasons"].items()) or "-"
            table.add_row(
                f"{label}: {name}",
                f"{d['passed']} / {d['trials']}",
                f"{d['pass_rate']:.1%}",
                reasons,
            )
    console.print(table)
    for name, why in s.no_harness.items():
        console.print(f"no responsive harness from {name}: {why}")


def _print_matching(m: MatchReport) -> None:
    console.print(
        f"[bold]matching[/bold] on {m.folder}: {m.people} people, {m.images} images "
        f"({m.embedded} embedded); {m.genuine_pairs} genuine and {m.impostor_pairs} impostor "
        f"pairs; metric {m.metric} ({'larger' if m.metric == 'cosine' else 'smaller'} = closer)"
    )
    table = Table("threshold", "FMR", "false matches / impostor pairs", "FNMR", "refused / genuine")
    rows = [(f"{r.threshold:.3f}", r) for r in m.table]
    rows += [(f"{r.threshold:.3f} ({name})", r) for name, r in m.configured.items()]
    for label, r in rows:
        table.add_row(
            label,
            f"{r.fmr:.2e}" if r.impostor_pairs else "-",
            f"{r.false_matches} / {r.impostor_pairs}",
            f"{r.fnmr:.2%}" if r.genuine_pairs else "-",
            f"{r.false_non_matches} / {r.genuine_pairs}",
        )
    console.print(table)
    if m.impostor_pairs:
        console.print(
            f"FMR resolution 1/n = {1 / m.impostor_pairs:.1e}; with no false match the 95 % "
            f"bound is 3/n = {3 / m.impostor_pairs:.1e}. Closest impostor "
            f"{m.closest_impostor:.3f}, worst genuine "
            + (f"{m.worst_genuine:.3f}" if m.worst_genuine is not None else "-")
        )
    d = m.decision_level
    if d:
        console.print(
            f"decision level (5-image template vs 5-image burst, fused as the service does): "
            f"{d['genuine_attempts']} genuine attempts {_shares(d['genuine'])}; "
            f"{d['impostor_attempts']} impostor attempts {_shares(d['impostor']) or '-'}"
        )
    _print_template_level(m)


def _print_template_level(m: MatchReport) -> None:
    t = m.template_level
    if not t:
        return
    parts = []
    for name, r in t["rows"].items():
        fmr = f"FMR {r['fmr']:.2e} ({r['false_matches']}/{r['impostor_pairs']})"
        if not r["impostor_pairs"]:
            fmr = "FMR - (no impostors)"
        parts.append(
            f"at {name} {r['threshold']:g}: {fmr}, FNMR {r['fnmr']:.2%} "
            f"({r['false_non_matches']}/{r['genuine_pairs']})"
        )
    console.print(
        f"template level (one image vs the centroid of {t['template_frames']} other images of "
        f"the person, {t['draws_per_person']} draws per person): " + "; ".join(parts)
    )


def _print_pad(p: PadReport) -> None:
    names = [a.name for a in p.attacks]
    console.print(
        f"[bold]presentation attacks[/bold] ({p.model}): bona fide {p.bona_fide.scored} of "
        f"{p.bona_fide.images} frames scored, "
        + ", ".join(f"{a.name} {a.scored} of {a.images}" for a in p.attacks)
        + f"; bursts = median of {p.burst_frames} frames of one person, {p.trials} per person"
    )
    table = Table(
        "live score below",
        "BPCER frames",
        *[f"APCER {n} frames" for n in names],
        "BPCER bursts",
        *[f"APCER {n} bursts" for n in names],
    )
    for r in p.table:
        mark = " (configured)" if r.threshold == p.configured_threshold else ""
        table.add_row(
            f"{r.threshold:g}{mark}",
            f"{r.bpcer:.1%} ({r.bona_fide_rejected}/{r.bona_fide})",
            *[f"{r.apcer[n]:.1%} ({r.attacks_accepted[n]}/{r.attacks[n]})" for n in names],
            f"{r.burst_bpcer:.1%} ({r.burst_bona_fide_rejected}/{r.burst_bona_fide})",
            *[
                f"{r.burst_apcer[n]:.1%} ({r.burst_attacks_accepted[n]}/{r.burst_attacks[n]})"
                for n in names
            ],
        )
    console.print(table)


__all__ = ["face_app", "print_evaluation", "print_report"]
