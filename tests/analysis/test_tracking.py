"""Point tracking by feature similarity: known motion, coordinates under resize and crop,
the soft-argmax, and the errors a user can cause."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from jepa_studio import track_points
from jepa_studio.analysis.tracking import grid_to_source, local_soft_argmax, source_to_grid
from jepa_studio.encoders.base import PatchFeatures
from jepa_studio.encoders.pixels import PixelEncoder
from jepa_studio.encoders.preprocess import Preprocessing, plan_resize
from jepa_studio.errors import UsageError
from tests.analysis.moving_scene import moving_object_clip

#: points on the 64 px object, relative to its top-left corner (centre, and two off-centre parts)
OFFSETS = np.array([[32.0, 32.0], [20.0, 45.0], [45.0, 20.0]])


def _errors(tracks, corners: np.ndarray) -> np.ndarray:
    """Distance [N, F] in source px between each frame's tracked position and the truth."""
    frames, xy = tracks.frame_positions()
    truth = corners[frames][None] + OFFSETS[:, None]
    return np.linalg.norm(xy - truth, axis=-1)


def _source_patch(features: PatchFeatures) -> float:
    """One token's width in source pixels."""
    x0, _, x1, _ = features.crop_box
    return (x1 - x0) / features.grid[2]


@pytest.mark.parametrize("tubelet", [1, 2])
@pytest.mark.parametrize(
    "prep",
    [
        Preprocessing(short_side=192),  # no resize: 16 px patches on the 192 x 256 frame
        Preprocessing(short_side=128),  # aspect kept, frame shrunk to 2/3: 24 px patches
        Preprocessing(mode="crop", short_side=160, crop_size=128),  # resize, then the centre crop
    ],
    ids=["full", "resized", "cropped"],
)
def test_pixel_baseline_follows_known_motion_within_a_patch(tubelet: int, prep: Preprocessing) -> None:
    frames, corners = moving_object_clip()
    features = PixelEncoder(tubelet, preprocessing=prep).encode(frames)
    queries = [[0, *(corners[0] + o)] for o in OFFSETS]
    tracks = track_points(features, queries)
    assert tracks.xy.shape == (3, features.grid[0], 2) and tracks.xy.dtype == np.float32
    errors = _errors(tracks, corners)
    patch = _source_patch(features)
    assert errors.max() < patch, (errors.max(), patch)
    assert errors.mean() < patch / 2  # (a track that stayed put would be 67 px off by the end)


def _random_features(grid: tuple[int, int, int], crop_box, input_size, tubelet: int = 1, seed: int = 0) -> PatchFeatures:
    """Tokens that are nearly orthogonal to each other (random, D = 512)."""
    t, h, w = grid
    tokens = torch.randn(t, h, w, 512, generator=torch.Generator().manual_seed(seed))
    frames = tuple(tuple(range(tubelet * i, tubelet * (i + 1))) for i in range(t))
    return PatchFeatures(tokens, frames, "test", "-", True, 16, tubelet, input_size, crop_box)


@pytest.mark.parametrize(
    "source, prep",
    [
        ((384, 512), Preprocessing(short_side=192)),  # full frame, scale 1/2
        ((360, 640), Preprocessing(short_side=256)),  # full frame, sides rounded to whole patches
        ((384, 512), Preprocessing(mode="crop", short_side=192, crop_size=192)),  # centre crop, box (64, 0, 448, 384)
    ],
    ids=["half", "rounded", "crop"],
)
def test_queries_at_their_own_frame_come_back_where_they_were_clicked(source, prep) -> None:
    """A click on a token's centre comes back exactly; anywhere else within half a token."""
    height, width = source
    _, (ih, iw), box = plan_resize(height, width, 16, prep)
    features = _random_features((3, ih // 16, iw // 16), box, (ih, iw))
    x0, y0, x1, y1 = box
    sx, sy = (x1 - x0) / (iw / 16), (y1 - y0) / (ih / 16)
    # the centre of token (row 2, column 5), worked out from the crop box by hand
    centre = (x0 + 5.5 * sx, y0 + 2.5 * sy)
    rng = np.random.default_rng(1)
    anywhere = np.stack([rng.uniform(x0, x1, 20), rng.uniform(y0, y1, 20)], axis=1)
    queries = np.concatenate([[[1, *centre]], np.column_stack([np.ones(20), anywhere])])
    tracks = track_points(features, queries)
    assert tracks.xy[0, 1] == pytest.approx(centre, abs=1e-3)
    assert tracks.confidence[0, 1] == pytest.approx(1.0, abs=1e-5)
    half_diagonal = 0.5 * math.hypot(sx, sy)
    assert np.linalg.norm(tracks.xy[1:, 1] - anywhere, axis=-1).max() <= half_diagonal + 1e-3


def test_grid_and_source_coordinates_are_inverse() -> None:
    features = _random_features((1, 4, 6), (64, 0, 448, 384), (64, 96))
    xy = np.array([[64.0, 0.0], [447.9, 383.9], [200.5, 100.25]])
    cr = source_to_grid(features, xy)
    # the crop box's left edge is half a token left of column 0's centre; a token is 64 px
    assert cr[0] == pytest.approx([-0.5, -0.5])
    assert cr[2] == pytest.approx([(200.5 - 64) / 64 - 0.5, 100.25 / 96 - 0.5])
    assert grid_to_source(features.crop_box, (4, 6), cr) == pytest.approx(xy)


def test_local_soft_argmax_by_hand() -> None:
    sim = torch.full((1, 4, 5), -1.0)
    sim[0, 1, 3], sim[0, 1, 4], sim[0, 2, 3], sim[0, 0, 0] = 0.9, 0.8, 0.7, 0.85
    cr, peak = local_soft_argmax(sim, radius=1, temperature=0.1)
    # the window around (row 1, column 3) holds rows 0-2 and columns 2-4 (all inside);
    # (0, 0) lies outside it and must not pull the estimate
    window = {(r, c): float(sim[0, r, c]) for r in range(3) for c in range(2, 5)}
    weights = {rc: math.exp(v / 0.1) for rc, v in window.items()}
    total = sum(weights.values())
    col = sum(w * c for (r, c), w in weights.items()) / total
    row = sum(w * r for (r, c), w in weights.items()) / total
    assert cr[0].tolist() == pytest.approx([col, row], abs=1e-5)
    assert float(peak[0]) == pytest.approx(0.9)
    # at the edge of the grid only the cells inside count
    edge = torch.zeros(1, 3, 3)
    edge[0, 0, 0] = 1.0
    cr, _ = local_soft_argmax(edge, radius=1, temperature=1.0)
    e1 = math.exp(1.0)
    assert cr[0].tolist() == pytest.approx([2 / (e1 + 3), 2 / (e1 + 3)], abs=1e-5)


def test_tracks_say_which_frames_each_step_covers() -> None:
    frames, corners = moving_object_clip(n_frames=6)
    features = PixelEncoder(2, preprocessing=Preprocessing(short_side=192)).encode(frames, [10, 11, 12, 13, 14, 15])
    tracks = track_points(features, [[12, *(corners[2] + 32)], [15, *(corners[5] + 32)]], names=["a", "b"])
    assert tracks.frame_indices == ((10, 11), (12, 13), (14, 15))
    assert tracks.query_steps.tolist() == [1, 2] and tracks.names == ("a", "b")
    frame_list, per_frame = tracks.frame_positions()
    assert frame_list.tolist() == [10, 11, 12, 13, 14, 15]
    assert np.array_equal(per_frame[:, 2], per_frame[:, 3]) and np.array_equal(per_frame[:, 2], tracks.xy[:, 1])
    assert np.array_equal(tracks.positions_at(13), tracks.xy[:, 1]) and tracks.positions_at(99) is None
    assert np.array_equal(tracks.trail(13), tracks.xy[:, :2]) and np.array_equal(tracks.trail(15, tail=1), tracks.xy[:, 2:])
    assert tracks.trail(9).shape == (2, 0, 2)
    assert ((tracks.confidence >= -1) & (tracks.confidence <= 1 + 1e-6)).all()
    data = tracks.to_json()
    assert data["points"][1]["query"]["frame"] == 15 and len(data["points"][0]["steps"]) == 3


@pytest.mark.parametrize(
    "queries, kwargs, message",
    [
        ([[7, 50.0, 50.0]], {}, "frame 7 is not one of the clip's frames"),
        ([[0.5, 50.0, 50.0]], {}, "not a whole frame index"),
        ([[0, 300.0, 50.0]], {}, "outside the region the encoder read"),
        ([[0, 50.0, -1.0]], {}, "outside the region the encoder read"),
        ([[0, 50.0]], {}, "shape [N, 3]"),
        (np.zeros((0, 3)), {}, "at least one query"),
        ([[0, float("nan"), 1.0]], {}, "finite"),
        ([[0, 50.0, 50.0]], {"temperature": 0.0}, "temperature must be positive"),
        ([[0, 50.0, 50.0]], {"window": 4}, "odd number"),
        ([[0, 50.0, 50.0]], {"names": ["a", "b"]}, "2 names for 1 query"),
    ],
)
def test_bad_queries_and_settings_are_usage_errors(queries, kwargs, message) -> None:
    frames, _ = moving_object_clip(n_frames=4)
    features = PixelEncoder(1, preprocessing=Preprocessing(short_side=192)).encode(frames)
    with pytest.raises(UsageError, match=message.replace("[", r"\[").replace("]", r"\]")):
        track_points(features, queries, **kwargs)
