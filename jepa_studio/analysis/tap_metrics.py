"""Ground-truth point tracks, and tracks scored as TAP-Vid scores them.

**Ground truth** (:class:`TrackTruth`) is one row per point and frame: ``point, frame, x,
y, visible`` with x, y in source-frame pixels (x = 0 the left edge). It comes from the
synthetic scenes (:func:`scene_truth`: the generator knows where every tracked point is)
or from a file (:func:`read_truth`): CSV with those five columns, or JSON::

    {"width": 640, "height": 360,            # optional: the frame size the rows refer to
     "rows": [{"point": "ball", "frame": 0, "x": 520.0, "y": 328.0, "visible": true}, ...]}

(a bare JSON list of rows works too). Files are parsed as text, validated row by row
(a bad row is one clear error naming the file and the row), and limited in size; nothing
is ever unpickled. ``resources/sample_tracks.json`` is the bundled sample's truth,
written by :func:`write_sample_truth`.

**Scores** (:func:`score_tracks`), as in TAP-Vid (Doersch et al. 2022): coordinates are
scaled to a 256 x 256 frame (x by 256 / width, y by 256 / height); for each threshold
``d`` in 1, 2, 4, 8, 16 px, the fraction of *visible* evaluated (point, frame) pairs
whose predicted position lies strictly within ``d`` of the truth; ``delta_avg`` is their
mean. Every frame except the query's own is evaluated (TAP-Vid's "strided" convention; a
query on the point's first visible frame makes it its "first" convention). A time step
is scored on every frame it covers (a V-JEPA 2 tubelet's one position against the truth
of both of its frames). The median end-point error is reported at the 256 px scale and in
source pixels.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from ..errors import UsageError
from ..render.table import text_table
from .tracking import Tracks

THRESHOLDS: tuple[int, ...] = (1, 2, 4, 8, 16)
TAPVID_SIZE = 256
COLUMNS: tuple[str, ...] = ("point", "frame", "x", "y", "visible")
#: the largest truth file read (bytes): bounds memory whatever a user hands us
MAX_TRUTH_BYTES = 64 * 2**20
_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f"}


# ---------------------------------------------------------------- ground truth


@dataclass(frozen=True, eq=False)
class TrackTruth:
    """Known positions and visibility of N named points over a set of frames.

    Attributes
    ----------
    names: the N point names.
    frames: int64 [F], the frames some row refers to, increasing.
    xy: float64 [N, F, 2], (x, y) in source-frame pixels; NaN where unknown.
    visible: bool [N, F]; False where unknown.
    known: bool [N, F], True where a row gave this point at this frame.
    frame_size: (width, height) of the frames the rows refer to, when known.
    """

    names: tuple[str, ...]
    frames: np.ndarray
    xy: np.ndarray
    visible: np.ndarray
    known: np.ndarray
    frame_size: tuple[int, int] | None = None

    @property
    def n_points(self) -> int:
        """N."""
        return len(self.names)

    def column(self, frame: int) -> int | None:
        """Index of ``frame`` along the frame axis, or None when no row mentions it."""
        i = int(np.searchsorted(self.frames, int(frame)))
        return i if i < len(self.frames) and int(self.frames[i]) == int(frame) else None

    def queries(self, frames: Sequence[int]) -> tuple[np.ndarray, tuple[str, ...]]:
        """One query per point: its position on the first of ``frames`` where it is visible.

        Points never visible on ``frames`` are left out.

        Returns
        -------
        queries: float64 [M, 3], (frame, x, y).
        names: the M points' names.
        """
        rows, names = [], []
        for n, name in enumerate(self.names):
            for f in frames:
                i = self.column(f)
                if i is not None and self.visible[n, i]:
                    rows.append((float(f), *self.xy[n, i]))
                    names.append(name)
                    break
        return np.array(rows, dtype=np.float64).reshape(-1, 3), tuple(names)

    def rows(self) -> list[dict[str, Any]]:
        """Rows ``{point, frame, x, y, visible}`` for every known (point, frame), point by point."""
        out = []
        for n, name in enumerate(self.names):
            for i, f in enumerate(self.frames):
                if self.known[n, i]:
                    x, y = self.xy[n, i]
                    out.append(
                        {
                            "point": name,
                            "frame": int(f),
                            "x": None if math.isnan(x) else round(float(x), 3),
                            "y": None if math.isnan(y) else round(float(y), 3),
                            "visible": bool(self.visible[n, i]),
                        }
                    )
        return out

    @classmethod
    def from_rows(
        cls, rows: Iterable[Mapping[str, Any]], frame_size: tuple[int, int] | None = None, source: str = "the tracks"
    ) -> "TrackTruth":
        """Validate rows ``{point, frame, x, y, visible}`` and gather them.

        ``x``/``y`` may be missing (None, empty, NaN) only where the point is not visible.
        A visible point must lie inside ``frame_size`` (width, height) when it is given.
        Raises :class:`UsageError` naming ``source`` and the row at the first problem.
        """
        parsed: dict[tuple[str, int], tuple[float, float, bool]] = {}
        order: list[str] = []
        for k, row in enumerate(rows, start=1):
            where = f"{source}, row {k}"
            if not isinstance(row, Mapping):
                raise UsageError(f"{where}: expected an object with {', '.join(COLUMNS)}")
            missing = [c for c in COLUMNS if c not in row]
            if missing:
                raise UsageError(f"{where}: missing {', '.join(missing)} (rows need {', '.join(COLUMNS)})")
            name = str(row["point"]).strip()
            if not name:
                raise UsageError(f"{where}: the point name is empty")
            frame = _as_frame(row["frame"], where)
            visible = _as_bool(row["visible"], where)
            x, y = _as_coord(row["x"], "x", where), _as_coord(row["y"], "y", where)
            if visible:
                if math.isnan(x) or math.isnan(y):
                    raise UsageError(f"{where}: point {name!r} is visible at frame {frame} but has no x, y")
                if frame_size is not None and not (0 <= x < frame_size[0] and 0 <= y < frame_size[1]):
                    raise UsageError(
                        f"{where}: point {name!r} is visible at ({x:g}, {y:g}), outside the "
                        f"{frame_size[0]}x{frame_size[1]} frame"
                    )
            if (name, frame) in parsed:
                raise UsageError(f"{where}: point {name!r} has a second row for frame {frame}")
            if name not in order:
                order.append(name)
            parsed[(name, frame)] = (x, y, visible)
        if not parsed:
            raise UsageError(f"{source} holds no rows")
        frames = np.array(sorted({f for _, f in parsed}), dtype=np.int64)
        col = {int(f): i for i, f in enumerate(frames)}
        row_of = {name: n for n, name in enumerate(order)}
        xy = np.full((len(order), len(frames), 2), np.nan)
        visible = np.zeros((len(order), len(frames)), dtype=bool)
        known = np.zeros_like(visible)
        for (name, frame), (x, y, vis) in parsed.items():
            n, i = row_of[name], col[frame]
            xy[n, i] = (x, y)
            visible[n, i] = vis
            known[n, i] = True
        return cls(tuple(order), frames, xy, visible, known, frame_size)


def _as_frame(value: Any, where: str) -> int:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise UsageError(f"{where}: frame {value!r} is not a number") from None
    if not math.isfinite(number) or number != int(number) or number < 0:
        raise UsageError(f"{where}: frame {value!r} is not a frame index (a whole number from 0)")
    return int(number)


def _as_bool(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise UsageError(f"{where}: visible {value!r} is not true/false or 1/0")


def _as_coord(value: Any, axis: str, where: str) -> float:
    if value is None or (isinstance(value, str) and not value.strip()):
        return math.nan
    if isinstance(value, bool):
        raise UsageError(f"{where}: {axis} {value!r} is not a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise UsageError(f"{where}: {axis} {value!r} is not a number") from None
    if math.isinf(number):
        raise UsageError(f"{where}: {axis} {value!r} is not a finite number")
    return number


def _read_text(path: Path) -> str:
    if not path.is_file():
        raise UsageError(f"no such tracks file: {str(path)!r}")
    size = path.stat().st_size
    if size > MAX_TRUTH_BYTES:
        raise UsageError(f"{path.name} is {size / 2**20:.0f} MiB; a tracks file may hold at most {MAX_TRUTH_BYTES // 2**20} MiB")
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read {path.name} as UTF-8 text ({error.__class__.__name__})") from None


def _frame_size_of(data: Mapping[str, Any], name: str) -> tuple[int, int] | None:
    if "width" not in data and "height" not in data:
        return None
    try:
        w, h = int(data["width"]), int(data["height"])
    except (KeyError, TypeError, ValueError):
        raise UsageError(f"{name}: width and height must both be whole numbers") from None
    if w < 1 or h < 1:
        raise UsageError(f"{name}: width and height must be positive")
    return w, h


def read_truth(path: str | Path) -> TrackTruth:
    """Read ground-truth tracks from a ``.json`` or ``.csv`` file (see the module docstring).

    Raises
    ------
    UsageError
        The file is missing, too large, not valid JSON/CSV, or a row is bad; the message
        names the file (and the row).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".json", ".csv"):
        raise UsageError(f"cannot read tracks from {path.name!r}: use a .json or .csv file")
    text = _read_text(path)
    if suffix == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in COLUMNS if c not in header]
        if missing:
            raise UsageError(f"{path.name}: the header lacks {', '.join(missing)} (columns: {', '.join(COLUMNS)})")
        reader.fieldnames = header
        try:
            rows = list(reader)
        except csv.Error as error:
            raise UsageError(f"{path.name} is not valid CSV ({error})") from None
        return TrackTruth.from_rows(rows, None, path.name)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise UsageError(f"{path.name} is not valid JSON ({error.msg} at line {error.lineno})") from None
    if isinstance(data, list):
        return TrackTruth.from_rows(data, None, path.name)
    if not isinstance(data, dict) or not isinstance(data.get("rows"), list):
        raise UsageError(f"{path.name}: expected a list of rows, or an object with a \"rows\" list")
    return TrackTruth.from_rows(data["rows"], _frame_size_of(data, path.name), path.name)


def write_truth(path: str | Path, truth: TrackTruth, **meta: Any) -> Path:
    """Write ``truth`` as ``.json`` (rows plus the frame size and ``meta``) or ``.csv``."""
    path = Path(path)
    rows = truth.rows()
    if path.suffix.lower() == ".csv":
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(COLUMNS))
            writer.writeheader()
            for row in rows:
                writer.writerow({**row, "x": "" if row["x"] is None else row["x"], "y": "" if row["y"] is None else row["y"],
                                 "visible": int(row["visible"])})
        return path
    head: dict[str, Any] = dict(meta)
    if truth.frame_size is not None:
        head["width"], head["height"] = truth.frame_size
    # one row per line: readable, and diffs of the bundled file stay small
    lines = ["{", *(f"  {json.dumps(k)}: {json.dumps(v)}," for k, v in head.items()), '  "rows": [']
    lines.append(",\n".join("    " + json.dumps(r) for r in rows))
    lines += ["  ]", "}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def scene_truth(
    n_frames: int | None = None,
    size: tuple[int, int] | None = None,
    fps: float | None = None,
    seed: int | None = None,
) -> TrackTruth:
    """The tracked points of the synthetic sample scene (defaults: the bundled sample video's).

    ``size`` is (width, height). Positions are where the generator drew each point.
    """
    from ..video import synthetic as syn

    n = syn.SAMPLE_FRAMES if n_frames is None else int(n_frames)
    size = syn.SAMPLE_SIZE if size is None else (int(size[0]), int(size[1]))
    scene = syn.SampleScene(size, syn.SAMPLE_FPS if fps is None else fps, syn.SAMPLE_SEED if seed is None else seed)
    gt = scene.ground_truth(n)
    frames = np.arange(n, dtype=np.int64)
    known = np.ones(gt.visible.shape, dtype=bool)
    return TrackTruth(tuple(gt.names), frames, gt.xy.astype(np.float64), gt.visible.copy(), known, size)


def write_sample_truth(path: str | Path) -> Path:
    """Write the bundled sample video's ground truth (``resources/sample_tracks.json``)."""
    from ..video import synthetic as syn

    return write_truth(
        path,
        scene_truth(),
        video="sample.mp4",
        fps=syn.SAMPLE_FPS,
        note="written by jepa_studio.analysis.tap_metrics.write_sample_truth from the scene generator",
    )


# ---------------------------------------------------------------- scores


@dataclass(frozen=True)
class TapScores:
    """TAP-Vid position accuracy of one encoder's tracks.

    Attributes
    ----------
    label: the encoder's name (flags random weights).
    within: fraction of visible evaluated (point, frame) pairs within each threshold
        (px at 256 x 256), keyed by threshold.
    delta_avg: the mean of ``within`` over the thresholds.
    median_epe: median end-point error at the 256 x 256 scale.
    median_epe_px: median end-point error in source-frame pixels.
    n_points: points scored; n_evaluated: visible (point, frame) pairs scored.
    """

    label: str
    within: dict[int, float]
    delta_avg: float
    median_epe: float
    median_epe_px: float
    n_points: int
    n_evaluated: int

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict (NaN where nothing was evaluated)."""
        return {
            "encoder": self.label,
            "within": {str(k): v for k, v in self.within.items()},
            "delta_avg": self.delta_avg,
            "median_epe_256": self.median_epe,
            "median_epe_px": self.median_epe_px,
            "points": self.n_points,
            "evaluated": self.n_evaluated,
        }


def evaluation_pairs(tracks: Tracks, truth: TrackTruth) -> tuple[np.ndarray, np.ndarray]:
    """Predicted and true positions of every visible evaluated (point, frame) pair.

    Points are matched by name. A step's position is compared with the truth of every
    frame it covers; the query's own frame is left out.

    Returns
    -------
    predicted, true: float64 [M, 2] in source-frame pixels.
    """
    index = {name: n for n, name in enumerate(truth.names)}
    unknown = [name for name in tracks.names if name not in index]
    if unknown:
        raise UsageError(f"the tracks name points the truth does not have: {', '.join(map(repr, unknown))}")
    pred, true = [], []
    for p, name in enumerate(tracks.names):
        n = index[name]
        query_frame = int(tracks.queries[p, 0])
        for t, covered in enumerate(tracks.frame_indices):
            for f in covered:
                i = truth.column(f)
                if f == query_frame or i is None or not truth.visible[n, i]:
                    continue
                pred.append(tracks.xy[p, t])
                true.append(truth.xy[n, i])
    return np.array(pred, dtype=np.float64).reshape(-1, 2), np.array(true, dtype=np.float64).reshape(-1, 2)


def score_tracks(tracks: Tracks, truth: TrackTruth, frame_size: tuple[int, int] | None = None) -> TapScores:
    """TAP-Vid position accuracy of ``tracks`` against ``truth``.

    Parameters
    ----------
    tracks: from :func:`~.tracking.track_points`, with point names found in ``truth``.
    truth: the ground truth.
    frame_size: (width, height) of the source frames; default ``truth.frame_size``.

    Returns
    -------
    :class:`TapScores` (NaN fractions when no visible pair was evaluated).
    """
    size = frame_size or truth.frame_size
    if size is None:
        raise UsageError("scoring needs the frame size (width, height) the tracks refer to")
    pred, true = evaluation_pairs(tracks, truth)
    scale = np.array([TAPVID_SIZE / size[0], TAPVID_SIZE / size[1]])
    d2 = (((pred - true) * scale) ** 2).sum(axis=1)
    if len(d2):
        within = {d: float(np.mean(d2 < d * d)) for d in THRESHOLDS}
        delta_avg = float(np.mean(list(within.values())))
        epe = float(np.median(np.sqrt(d2)))
        epe_px = float(np.median(np.linalg.norm(pred - true, axis=1)))
    else:
        within = {d: math.nan for d in THRESHOLDS}
        delta_avg = epe = epe_px = math.nan
    return TapScores(tracks.label, within, delta_avg, epe, epe_px, tracks.n_points, int(len(d2)))


def scores_table(scores: Sequence[TapScores], markdown: bool = True) -> str:
    """A table with one row per encoder: the fractions within each threshold, delta_avg, EPE."""
    heads = ["encoder", *(f"<{d}px" for d in THRESHOLDS), "delta_avg", "median EPE (256px)", "median EPE (px)", "points", "pairs"]

    def pct(v: float) -> str:
        return "nan" if math.isnan(v) else f"{100 * v:.1f}"

    def num(v: float) -> str:
        return "nan" if math.isnan(v) else f"{v:.2f}"

    rows = [
        [s.label, *(pct(s.within[d]) for d in THRESHOLDS), pct(s.delta_avg), num(s.median_epe), num(s.median_epe_px),
         str(s.n_points), str(s.n_evaluated)]
        for s in scores
    ]
    note = (
        "Fractions (%) of visible (point, frame) pairs within 1-16 px at TAP-Vid's 256x256 scale; "
        "delta_avg is their mean. The query frame is not scored."
    )
    return text_table(heads, rows, markdown) + "\n\n" + note + "\n"
