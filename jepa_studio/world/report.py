"""Reports of a comparison: JSON, a Markdown / plain table, PNG line charts and rollout grids.

Charts are drawn with Pillow (no matplotlib): one line per encoder for the world model (solid),
the "nothing moves" baseline (dashed), "constant velocity" (dash-dot) and the decoder's
ceiling (dotted); bars for the probes' R². Files are written to temporary names and renamed,
so a report rewritten after each encoder is never seen half written.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
from PIL import Image, ImageDraw

from ..render.chart import PALETTE, Series, fit_text, line_chart, nice_ticks, tick_label
from ..render.text import font, legible
from .compare import ComparisonResult
from .probes import POOLINGS


#: (metric key, title, y label, higher is better)
PLOTS = (
    ("cosine", "Latent cosine vs horizon", "cosine (centred latents)", True),
    ("nmse", "Latent error vs horizon", "MSE / latent variance", False),
    ("psnr", "PSNR of decoded frames vs horizon", "PSNR (dB)", True),
    ("ssim", "SSIM of decoded frames vs horizon", "SSIM", True),
)


# ---------------------------------------------------------------- JSON and tables


def result_to_json(result: ComparisonResult) -> dict[str, Any]:
    """A JSON-able dict: settings and budget, source, the shared step plan and evaluation
    windows, and per encoder its weights, latent mode, rows, verdict, probes and losses."""
    return {
        "source": result.source,
        "clips": result.n_clips,
        "frames": result.n_frames,
        "actions": result.has_actions,
        "cancelled": result.cancelled,
        "settings": result.settings.to_json(),
        "budget": result.settings.budget,
        "plan": None if result.plan is None else result.plan.to_json(),
        "notes": list(result.notes),
        "encoders": [
            {
                "label": e.info.label,
                "encoder": e.info.to_json(),
                "weights": e.weights_note,
                "random_weights": e.weights_note == "random weights",
                "latents": e.latents,
                "future_frames_seen": e.info.future_frames,
                "evaluation_rollouts": e.n_windows,
                "scored_frames": [[list(t) for t in w] for w in e.scored],
                "seconds": round(e.seconds, 3),
                "checkpoint": e.checkpoint,
                "horizons": [row.__dict__ for row in e.rows],
                "verdict": e.verdict(),
                "losing": e.losing(),
                "probes": None if e.probe is None else e.probe.to_json(),
                "decoder_loss": e.decoder_losses,
                "decoder_val_loss": [list(v) for v in e.decoder_val],
                "transition_loss": e.transition_losses,
                "transition_val_loss": [list(v) for v in e.transition_val],
            }
            for e in result.encoders
        ],
        "baseline_probes": [p.to_json() for p in result.baseline_probes],
    }


def _fmt(value: float, digits: int = 3) -> str:
    return "nan" if not math.isfinite(value) else f"{value:.{digits}f}"


#: (header, key of :meth:`ComparisonResult.table`); the first four are fixed (the window's table)
TABLE_COLUMNS = (
    ("encoder", "encoder"),
    ("k", "horizon"),
    ("frames", "frames"),
    ("cos model", "cosine_model"),
    ("cos copy", "cosine_copy"),
    ("cos vel", "cosine_velocity"),
    ("nMSE model", "nmse_model"),
    ("nMSE copy", "nmse_copy"),
    ("nMSE vel", "nmse_velocity"),
    ("PSNR model", "psnr_model"),
    ("PSNR copy", "psnr_copy"),
    ("PSNR vel", "psnr_velocity"),
    ("PSNR ceiling", "psnr_ceiling"),
    ("SSIM model", "ssim_model"),
    ("SSIM copy", "ssim_copy"),
    ("SSIM vel", "ssim_velocity"),
    ("SSIM ceiling", "ssim_ceiling"),
    ("s ahead", "seconds_ahead"),
)


def _cell(key: str, value: Any) -> str:
    if isinstance(value, (int, str)):
        return str(value)
    return _fmt(value, 2 if key.startswith(("psnr", "seconds")) else 3)


def _grid(heads: Sequence[str], rows: Sequence[Sequence[str]], markdown: bool) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(heads)]
    if markdown:
        lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(heads, widths)) + " |"]
        lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
        return lines + ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |" for r in rows]
    lines = ["  ".join(h.ljust(w) for h, w in zip(heads, widths))]
    return lines + ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]


def probe_table(result: ComparisonResult, markdown: bool = True) -> list[str]:
    """The probe R² table (one row per encoder, pixel baselines marked), or no lines."""
    probes = result.probes()
    if not probes:
        return []
    names = list(dict.fromkeys(n for p, _ in probes for n, _ in p.summary))
    heads = ["probe R² (held out)"] + [f"{n} ({pool})" for n in names for pool in POOLINGS]
    rows = []
    for p, baseline in probes:
        label = p.label + (" (baseline)" if baseline else "")
        rows.append([label] + [_fmt(p.r2(n, pool), 2) for n in names for pool in POOLINGS])
    split = probes[0][0].split
    note = (f"Probes: ridge from one time step's latent (mean-pooled, or the token grid) to the state at its "
            f"last frame; {split}. 1 is perfect, 0 is the held-out mean, below 0 worse than it.")
    return _grid(heads, rows, markdown) + [note]


def format_table(result: ComparisonResult, markdown: bool = True) -> str:
    """The per-horizon table, one row per (encoder, horizon), the verdicts in words, the
    probe table, and notes on weights, latents, the shared frames and the budget."""
    rows = [[_cell(key, entry[key]) for _, key in TABLE_COLUMNS] for entry in result.table()]
    lines = _grid([h for h, _ in TABLE_COLUMNS], rows, markdown)
    notes = [
        "",
        f"Source: {result.source} ({result.n_clips} clip(s), {result.n_frames} frames"
        f"{', with actions' if result.has_actions else ''}); the last "
        f"{result.settings.val_fraction:.0%} of every clip held out for evaluation.",
        "model: the transition model's rollout; copy: \"nothing moves\" (repeat the last latent / frame); "
        "vel: \"constant velocity\" (z_c + j (z_c - z_c-1), decoded); ceiling: the decoder on the true latents. "
        "frames: the frames ahead of the last context frame a step covers (scored on each).",
    ]
    if result.plan is not None:
        notes.append(f"Frames: {result.plan.describe()}.")
    notes += result.notes
    notes.append(f"Training budget: {result.settings.budget}.")
    for e in result.encoders:
        notes.append(
            f"{e.info.label}: {e.weights_note}, {e.latents} latents, {e.n_windows} evaluation rollouts, {e.seconds:.1f} s."
        )
    notes += [e.verdict() for e in result.encoders]
    if result.cancelled:
        notes.append("Cancelled: only the encoders above finished.")
    probe_lines = probe_table(result, markdown)
    if probe_lines:
        notes += [""] + probe_lines
    return "\n".join(lines + notes) + "\n"


# ---------------------------------------------------------------- charts


def metric_chart(result: ComparisonResult, metric: str) -> np.ndarray:
    """Chart of one metric ("cosine", "nmse", "psnr", "ssim") against frames ahead, every encoder."""
    key, title, ylabel, _ = next(p for p in PLOTS if p[0] == metric)
    series = []
    for i, e in enumerate(result.encoders):
        color = PALETTE[i % len(PALETTE)]
        xs = [r.frames_ahead for r in e.rows]
        series.append(Series(f"{e.name}", xs, [getattr(r, f"{key}_model") for r in e.rows], color, "solid"))
        series.append(Series(f"{e.name}: copy", xs, [getattr(r, f"{key}_copy") for r in e.rows], color, "dashed"))
        series.append(Series(f"{e.name}: const. velocity", xs, [getattr(r, f"{key}_velocity") for r in e.rows], color, "dashdot"))
        if hasattr(e.rows[0] if e.rows else None, f"{key}_ceiling"):
            series.append(Series(f"{e.name}: ceiling", xs, [getattr(r, f"{key}_ceiling") for r in e.rows], color, "dotted"))
    return line_chart(series, title, "frames ahead (last frame of the step)", ylabel)


def probe_chart(result: ComparisonResult, size: tuple[int, int] = (760, 420)) -> np.ndarray:
    """Bars of held-out probe R² per encoder (pixel baselines hatched grey labels), one group
    per (target, readout). Returns uint8 [H, W, 3]; raises ValueError without probes."""
    probes = result.probes()
    if not probes:
        raise ValueError("no probes to draw")
    keys = list(dict.fromkeys(k for p, _ in probes for k in p.summary))
    width, height = size
    img = Image.new("RGB", (width, height), (255, 255, 255))
    draw = legible(ImageDraw.Draw(img))
    f_title, f_tick = font(17), font(12)
    left, right, top, bottom = 60, width - 200, 50, height - 50
    lo = min([0.0] + [max(-1.0, v) for p, _ in probes for v in p.summary.values() if math.isfinite(v)])
    ticks = nice_ticks(lo, 1.0)

    def py(v: float) -> float:
        return bottom - (v - ticks[0]) / (ticks[-1] - ticks[0]) * (bottom - top)

    draw.text((left, 10), "Temporal probes: held-out R² of ridge readouts", fill=(0, 0, 0), font=f_title)
    for t in ticks:
        draw.line([(left, py(t)), (right, py(t))], fill=(200, 200, 200) if t == 0 else (232, 232, 232))
        label = tick_label(t)
        draw.text((left - 8 - draw.textlength(label, font=f_tick), py(t) - 7), label, fill=(60, 60, 60), font=f_tick)
    slot = (right - left) / len(keys)
    bar = slot * 0.8 / len(probes)
    for g, (name, pooling) in enumerate(keys):
        x0 = left + g * slot + slot * 0.1
        for i, (p, _) in enumerate(probes):
            v = p.summary.get((name, pooling), float("nan"))
            if math.isfinite(v):
                y = py(max(v, ticks[0]))
                draw.rectangle([x0 + i * bar, min(y, py(0)), x0 + (i + 1) * bar - 2, max(y, py(0))], fill=PALETTE[i % len(PALETTE)])
                if v < ticks[0]:  # cut at the axis: the bar says its value
                    text = f"{v:.2f}"
                    draw.text((x0 + (i + 0.5) * bar - draw.textlength(text, font=f_tick) / 2, y - 16), text,
                              fill=(0, 0, 0), font=f_tick)
        label = f"{name} ({pooling})"
        draw.text((left + g * slot + slot / 2 - draw.textlength(label, font=f_tick) / 2, bottom + 8), label, fill=(0, 0, 0), font=f_tick)
    draw.rectangle([left, top, right, bottom], outline=(0, 0, 0))
    ly = top
    for i, (p, baseline) in enumerate(probes):
        draw.rectangle([right + 14, ly + 3, right + 28, ly + 15], fill=PALETTE[i % len(PALETTE)])
        text = fit_text(draw, p.label + (" (baseline)" if baseline else ""), f_tick, width - right - 38)
        draw.text((right + 34, ly + 1), text, fill=(0, 0, 0), font=f_tick)
        ly += 20
    return np.asarray(img)


def _smooth(values: Sequence[float], n: int = 200) -> tuple[list[float], list[float]]:
    v = np.asarray(values, np.float64)
    if len(v) == 0:
        return [], []
    k = max(1, len(v) // n)
    m = len(v) // k * k
    xs = (np.arange(m).reshape(-1, k).mean(1) + 1).tolist()
    return xs, v[:m].reshape(-1, k).mean(1).tolist()


def loss_chart(result: ComparisonResult, part: str = "transition") -> np.ndarray:
    """Training (solid) and held-out (dashed) loss per step of ``part``, every encoder (log10 scale)."""
    series = []
    for i, e in enumerate(result.encoders):
        color = PALETTE[i % len(PALETTE)]
        losses = e.transition_losses if part == "transition" else e.decoder_losses
        val = e.transition_val if part == "transition" else e.decoder_val
        xs, ys = _smooth(losses)
        series.append(Series(f"{e.name}: train", xs, [math.log10(max(y, 1e-12)) for y in ys], color))
        if val:
            series.append(
                Series(f"{e.name}: held out", [s for s, _ in val], [math.log10(max(v, 1e-12)) for _, v in val], color, "dashed")
            )
    what = "latent MSE (normalised)" if part == "transition" else "pixel MSE"
    return line_chart(series, f"{part.capitalize()} training loss", "step", f"log10 {what}", markers=False)


def rollout_grid(result: ComparisonResult, cell: int = 128) -> np.ndarray:
    """Real vs decoded rollouts per encoder as one labelled grid (uint8 [H, W, 3])."""
    from ..render.grid import WARN_COLOR, LABEL_COLOR, labelled_grid, resize

    rows: list[tuple[str, list[np.ndarray]]] = []
    captions: list[list[str]] = []
    colors = []
    for e in result.encoders:
        ro = e.rollout
        if not ro or not ro.get("real"):
            continue
        name = e.name
        for key, what in (("real", "real"), ("ceiling", "decoded truth"), ("predicted", "rollout")):
            cells = []
            for img in ro[key]:
                h, w = img.shape[:2]
                s = cell / max(h, w)
                cells.append(resize(img, (max(1, int(h * s)), max(1, int(w * s)))))
            rows.append((f"{name}\n{what}", cells))
            captions.append([f"frame {f}" for f in ro["frames"]])
            colors.append(WARN_COLOR if e.weights_note == "random weights" else LABEL_COLOR)
    if not rows:
        raise ValueError("no rollouts to draw")
    title = "Rollouts on held-out frames (clip 1): real, decoder on true latents, world-model rollout"
    return labelled_grid(rows, captions=captions, title=title, row_label_colors=colors)


def _atomic(path: Path, write: Callable[[Path], None]) -> Path:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _save_png(path: Path, image: np.ndarray) -> Path:
    return _atomic(path, lambda tmp: Image.fromarray(image).save(tmp, format="PNG"))


def write_report(result: ComparisonResult, out_dir: str | Path) -> dict[str, Path]:
    """Write report.json, table.md, plots/*.png and rollouts.png under ``out_dir`` (each file
    atomically, so it can be rewritten after every encoder); returns the paths."""
    out = Path(out_dir)
    plots = out / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    text = json.dumps(result_to_json(result), indent=1, allow_nan=True)
    paths["json"] = _atomic(out / "report.json", lambda tmp: tmp.write_text(text))
    table = format_table(result, markdown=True)
    paths["table"] = _atomic(out / "table.md", lambda tmp: tmp.write_text(table))
    if result.encoders:
        for metric, *_ in PLOTS:
            paths[f"plot_{metric}"] = _save_png(plots / f"{metric}.png", metric_chart(result, metric))
        for part in ("decoder", "transition"):
            paths[f"plot_loss_{part}"] = _save_png(plots / f"loss_{part}.png", loss_chart(result, part))
        paths["rollouts"] = _save_png(out / "rollouts.png", rollout_grid(result))
    if result.probes():
        paths["plot_probes"] = _save_png(plots / "probes.png", probe_chart(result))
    return paths
