"""Operator commands for face disputes and audits, mounted as ``skilltrace face``.

``compare`` shows what the service would decide on two single frames (no liveness);
``calibrate`` computes FMR/FNMR and recommended thresholds on any ``person/image`` folder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

from app.attendance.calibration import (
    CalibrationData,
    calibrate_folder,
    error_table,
    recommend,
)
from app.attendance.exceptions import FaceRejected
from app.attendance.face import (
    MODEL_NAME,
    MODEL_VERSION,
    DlibFaceEngine,
    FaceMeasurement,
    decide,
    distance,
    load_image_file,
)
from app.config import get_settings

face_app = typer.Typer(help="Face engine tools: compare two photos, calibrate thresholds.")
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
    accept: float | None = typer.Option(None, help="Accept at distance <= this [settings]"),
    reject: float | None = typer.Option(None, help="Fail at distance > this [settings]"),
) -> None:
    """Detect, quality-check and compare two single frames; print the decision (no liveness).

    Without --accept/--reject it uses the service's configured thresholds, so the decision is
    the one the service would make on these frames.
    """
    settings = get_settings()
    accept = settings.face_accept_threshold if accept is None else accept
    reject = settings.face_reject_threshold if reject is None else reject
    if accept > reject:
        raise typer.BadParameter("--accept must not exceed --reject")
    engine = DlibFaceEngine()
    ma = _describe("A", img_a, engine)
    mb = _describe("B", img_b, engine)
    if ma is None or mb is None or ma.analysis is None or mb.analysis is None:
        console.print("[red]decision: failed[/red] (no face to compare)")
        raise typer.Exit(code=1)
    d = distance(ma.analysis.embedding, mb.analysis.embedding)
    decision = decide(d, accept, reject)
    gated = ma.rejection is not None or mb.rejection is not None
    colour = {"passed": "green", "review": "yellow", "failed": "red"}[decision]
    console.print(
        f"distance {d:.4f} (accept <= {accept}, reject > {reject}, model {MODEL_NAME} "
        f"{MODEL_VERSION})"
    )
    console.print(f"decision: [{colour}]{decision}[/{colour}]")
    if gated:
        console.print(
            "[yellow]note: the service would refuse at least one of these frames at the quality "
            "gate before comparing them.[/yellow]"
        )


def print_report(data: CalibrationData, fmr: float, title: str = "") -> None:
    """Print counts, the FMR/FNMR table and the recommended thresholds of a calibration run."""
    failed = sum(1 for s in data.samples.values() if s.embedding is None)
    gated = sum(1 for s in data.samples.values() if s.embedding is not None and s.rejection)
    console.print(
        f"[bold]{title or data.root}[/bold]: {len(data.by_person)} people, "
        f"{len(data.samples)} images, {data.embedded} embedded ({failed} without a face, "
        f"{gated} embedded but below the quality gate)"
    )
    console.print(f"genuine pairs: {data.genuine.size}, impostor pairs: {data.impostor.size}")
    if data.genuine.size == 0 or data.impostor.size == 0:
        console.print("[red]not enough pairs to calibrate[/red]")
        return
    table = Table("threshold", "FMR", "false matches", "FNMR", "false non-matches")
    for r in error_table(data.genuine, data.impostor):
        table.add_row(
            f"{r.threshold:.3f}",
            f"{r.fmr:.2e}",
            str(r.false_matches),
            f"{r.fnmr:.4f}",
            str(r.false_non_matches),
        )
    console.print(table)
    g, i = data.genuine, data.impostor
    console.print(
        f"genuine median {np.median(g):.3f}, 95th pct {np.percentile(g, 95):.3f}; "
        f"impostor 1st pct {np.percentile(i, 1):.3f}, 5th pct {np.percentile(i, 5):.3f}; "
        f"impostors under 0.6: {np.mean(i <= 0.6):.2%}"
    )
    rec = recommend(g, i, fmr_target=fmr)
    console.print(
        f"recommended: accept <= [bold]{rec.accept:.3f}[/bold] (FMR {rec.fmr_at_accept:.2e}, "
        f"FNMR {rec.fnmr_at_accept:.2%}); reject > [bold]{rec.reject:.3f}[/bold] "
        f"(FMR {rec.fmr_at_reject:.2e}, FNMR {rec.fnmr_at_reject:.2%}); review band holds "
        f"{rec.genuine_in_review:.2%} of genuine and {rec.impostor_in_review:.2%} of impostor "
        f"pairs. FMR resolution 1/n = {rec.fmr_resolution:.1e} (95 % bound at zero errors "
        f"{rec.fmr_zero_bound:.1e})."
    )


@face_app.command()
def calibrate(
    directory: Path = typer.Argument(..., exists=True, file_okay=False, help="person/image folder"),
    pairs: Path | None = typer.Option(None, exists=True, dir_okay=False, help="LFW-style pairs"),
    fmr: float = typer.Option(1e-4, help="Target false-match rate for the accept threshold"),
    max_images_per_person: int | None = typer.Option(None, min=1, help="Cap images per person"),
    workers: int = typer.Option(2, min=1, help="Face worker processes"),
) -> None:
    """Genuine/impostor distances, FMR/FNMR table and recommended thresholds for a folder."""
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("embedding faces", total=None)
        data = calibrate_folder(
            directory,
            pairs_file=pairs,
            max_per_person=max_images_per_person,
            workers=workers,
            on_total=lambda n: progress.update(task, total=n),
            on_progress=lambda k: progress.advance(task, k),
        )
    print_report(data, fmr)


__all__ = ["face_app", "print_report"]
