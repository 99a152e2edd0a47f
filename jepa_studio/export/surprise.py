"""The surprise timeline as files: a CSV of the curves, the per-patch maps (safetensors +
JSON metadata), and the frames of the highest peaks with their per-patch surprise laid over
them. (The plot is drawn with the reports' line charts, by ``jepa-studio surprise``.)
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from ..render.colormap import apply_colormap
from ..render.grid import labelled_grid, place_map, resize
from ..analysis.surprise import SurpriseCurve

CSV_COLUMNS = (
    "step", "frames", "first_frame", "seconds", "surprise_cosine", "surprise_l1", "pixel_difference", "encoder", "method",
)
SURPRISE_COLORMAP = "magma"


def _cell(value: float) -> str:
    return "" if not math.isfinite(value) else f"{value:.6g}"


def write_csv(path: str | Path, curve: SurpriseCurve) -> Path:
    """One row per step: its frames, time, ``1 - cos``, L1 and the pixel difference (empty when not
    scored), and the encoder (flagging random weights) and method on every row."""
    path = Path(path)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(CSV_COLUMNS)
        for s, covered in enumerate(curve.frame_indices):
            writer.writerow(
                [s, " ".join(map(str, covered)), covered[0], f"{curve.seconds[s]:.4f}", _cell(curve.cosine[s]),
                 _cell(curve.l1[s]), _cell(curve.pixel_difference[s]), curve.label, curve.method]
            )
    return path


def write_maps(path: str | Path, curve: SurpriseCurve) -> Path:
    """Per-patch surprise [S, h, w] (float32, NaN where not scored) as safetensors, settings in its metadata."""
    import torch
    from safetensors.torch import save_file

    path = Path(path)
    meta = {
        "method": curve.method,
        "encoder": curve.label,
        "k": str(curve.k),
        "context": str(curve.context),
        "frame_indices": json.dumps([list(s) for s in curve.frame_indices]),
        "crop_box": json.dumps(list(curve.crop_box)),
        "patch_size": str(curve.patch_size),
    }
    save_file({"surprise": torch.from_numpy(np.ascontiguousarray(curve.patch))}, str(path), metadata=meta)
    return path


def peaks_image(source: Any, curve: SurpriseCurve, n: int = 4, cell_width: int = 256) -> np.ndarray:
    """The frames of the ``n`` highest peaks, and their per-patch surprise laid over them.

    Returns uint8 [H, W, 3] (a labelled grid: frames on top, surprise maps below).
    """
    peaks = sorted(curve.peaks(n))
    if not peaks:
        raise ValueError("no scored step to show")
    finite = curve.patch[np.isfinite(curve.patch)]
    vmax = float(np.percentile(finite, 99)) if finite.size else 1.0
    frames_row, maps_row, header = [], [], []
    for s in peaks:
        f = curve.frame_indices[s][0]
        image = np.asarray(source[f])
        h, w = image.shape[:2]
        cell = (max(1, int(round(h * cell_width / w))), cell_width)
        frames_row.append(resize(image, cell))
        rgb = apply_colormap(curve.patch[s], vmin=0.0, vmax=vmax, name=SURPRISE_COLORMAP)
        maps_row.append(place_map(rgb, (h, w), curve.crop_box, cell))
        when = f"  {curve.seconds[s]:.2f}s" if curve.timed else ""
        header.append(f"frame {f}{when}  ({curve.cosine[s]:.3f})")
    rows = [("frame", frames_row), (f"1 - cos per patch\n(0 to {vmax:.2f})", maps_row)]
    return labelled_grid(rows, header, title=f"Highest surprise peaks: {curve.title}")


def surprise_plot(curve: "SurpriseCurve", width: int = 960) -> np.ndarray:
    """Three stacked charts against time: ``1 - cos``, L1, and the pixel temporal difference.

    Returns uint8 [H, W, 3].
    """
    from ..render.chart import PALETTE, Series, line_chart

    xs = curve.seconds.tolist()
    unit = "time (s)" if curve.timed else "frame"
    panels = [
        ("1 - cosine", curve.cosine, PALETTE[0], f"Surprise of {curve.title}"),
        ("L1", curve.l1, PALETTE[1], "Surprise: L1 distance of the predictions (mean over D)"),
        ("% of 255", 100 * curve.pixel_difference, PALETTE[2], "Control: mean |frame - previous frame|, pixels"),
    ]
    # one legend text for every panel, so the three plot areas line up
    charts = [
        line_chart([Series("per step", xs, values.tolist(), colour)], title, unit, name, size=(width, 250), markers=False)
        for name, values, colour, title in panels
    ]
    return np.ascontiguousarray(np.concatenate(charts, axis=0))
