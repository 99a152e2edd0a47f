"""The sample scene generator, the bundled sample video and its cache fallback."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from jepa_studio import resources
from jepa_studio.video import sample
from jepa_studio.video.sample import iter_sample_scene, render_sample_scene
from jepa_studio.video.synthetic import SAMPLE_FPS, SAMPLE_FRAMES, SAMPLE_SEED, SAMPLE_SIZE, SampleScene

SMALL = (160, 90)  # a quarter of the sample's 640x360


@pytest.fixture(scope="module")
def small_scene() -> SampleScene:
    return SampleScene(SMALL, fps=24.0, seed=0)


def _read_all(path: Path) -> tuple[np.ndarray, float, tuple[int, int]]:
    """Every frame of a video decoded sequentially with PyAV, its rate and (width, height)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        rate = float(stream.average_rate)
        frames = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(stream)])
    return frames, rate, (frames.shape[2], frames.shape[1])


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / mse))


def test_shape_dtype_and_determinism() -> None:
    a = render_sample_scene(4, size=(96, 54), fps=12.0, seed=3)
    assert a.shape == (4, 54, 96, 3) and a.dtype == np.uint8
    assert np.array_equal(a, render_sample_scene(4, size=(96, 54), fps=12.0, seed=3))
    other = render_sample_scene(4, size=(96, 54), fps=12.0, seed=4)
    assert not np.array_equal(a[0], other[0])  # the seed changes the textures
    streamed = np.stack(list(iter_sample_scene(4, size=(96, 54), fps=12.0, seed=3)))
    assert np.array_equal(a, streamed)


def test_scene_is_colourful_and_textured(small_scene: SampleScene) -> None:
    frame = small_scene.frame(0).astype(np.float64)
    assert frame.std(axis=(0, 1)).min() > 25  # more than one flat colour
    # distinct regions: sky is blue at the top, grass green at the bottom
    sky, grass = frame[2, :, :].mean(0), frame[int(0.8 * 90), :, :].mean(0)
    assert sky[2] > sky[0] + 40
    assert grass[1] > grass[0] + 20 and grass[1] > grass[2] + 20


def test_background_is_static_outside_the_moving_objects(small_scene: SampleScene) -> None:
    background = small_scene.background()
    h, w = background.shape[:2]
    ever_changed = np.zeros((h, w), bool)
    for i in range(0, 96, 3):
        frame = small_scene.frame(i)
        inside = np.zeros((h, w), bool)
        for x0, y0, x1, y1 in small_scene.object_boxes(i).values():
            inside[max(y0, 0) : max(y1, 0), max(x0, 0) : max(x1, 0)] = True
        changed = (frame != background).any(-1)
        assert not (changed & ~inside).any(), f"frame {i} differs from the background outside its objects"
        ever_changed |= changed
    # most of the picture (fence, tree, grass, sky) never changes
    assert 0.05 < ever_changed.mean() < 0.6


def test_each_object_moves_and_shows(small_scene: SampleScene) -> None:
    background = small_scene.background()
    a, b = small_scene.frame(24), small_scene.frame(30)  # 1 s in, every object is on screen
    for name in ("bird", "bouncer", "car", "ball", "pinwheel", "cloud0"):
        for frame, index in ((a, 24), (b, 30)):
            x0, y0, x1, y1 = (max(v, 0) for v in small_scene.object_boxes(index)[name])
            region = (frame[y0:y1, x0:x1] != background[y0:y1, x0:x1]).any(-1)
            assert region.sum() > 2, f"{name} is not drawn in frame {index}"
        x0, y0, x1, y1 = (max(v, 0) for v in small_scene.object_boxes(30)[name])
        assert (a[y0:y1, x0:x1] != b[y0:y1, x0:x1]).any(), f"{name} did not move between frames 24 and 30"


def test_objects_move_at_several_speeds_and_directions(small_scene: SampleScene) -> None:
    def centre_x(name: str, i: int) -> float:
        x0, _, x1, _ = small_scene.object_boxes(i)[name]
        return (x0 + x1) / 2

    dx = {n: centre_x(n, 12) - centre_x(n, 0) for n in ("ball", "bird", "bouncer", "car", "cloud0")}
    assert dx["ball"] < 0 < dx["car"]  # the ball rolls left, the car drives right
    speeds = sorted(dx, key=lambda n: abs(dx[n]))
    assert speeds == ["cloud0", "car", "bouncer", "bird", "ball"]
    assert abs(dx["ball"]) > 4 * abs(dx["car"])


def test_car_moves_right_in_the_pixels() -> None:
    # measured on the image, not from the generator's own bookkeeping: the red body's centroid
    scene = SampleScene((320, 180), fps=24.0, seed=0)

    def red_centroid(i: int) -> float:
        f = scene.frame(i).astype(np.int32)
        lower = f[int(0.75 * 180) : int(0.87 * 180)]
        red = (lower[..., 0] > 150) & (lower[..., 1] < 90) & (lower[..., 2] < 90)
        assert red.sum() > 50
        return float(np.nonzero(red)[1].mean())

    # 22 px/s on the 640-wide canvas, so 11 px/s here; 48 frames at 24 fps = 2 s
    assert red_centroid(48) - red_centroid(0) == pytest.approx(22.0, abs=2.0)


def test_bouncing_ball_is_partly_hidden_by_the_fence(small_scene: SampleScene) -> None:
    # at t = 0 the purple ball rests on the ground behind the fence: only slivers show
    cx, cy, r = small_scene._bouncer_state(0.0)
    frame = small_scene.frame(0)
    ys, xs = np.mgrid[0:90, 0:160] + 0.5
    disc = np.hypot(xs - cx, ys - cy) < r - 1
    purple = (frame[..., 2].astype(int) > frame[..., 1].astype(int) + 40) & disc
    assert 0.1 < purple.sum() / disc.sum() < 0.8
    # half a bounce later it is high above the fence, seen whole
    t = 0.65
    cx, cy, r = small_scene._bouncer_state(t)
    frame = small_scene.frame(round(t * 24))
    disc = np.hypot(xs - cx, ys - cy) < r - 1
    purple = (frame[..., 2].astype(int) > frame[..., 1].astype(int) + 40) & disc
    assert purple.sum() / disc.sum() > 0.7


def test_bundled_sample_video_matches_the_generator() -> None:
    path = resources.sample_video_path()
    assert path == resources.bundled_resources_dir() / "sample.mp4"
    assert path.is_file() and path.stat().st_size < 2_000_000
    frames, rate, size = _read_all(path)
    assert len(frames) == SAMPLE_FRAMES
    assert rate == pytest.approx(SAMPLE_FPS)
    assert size == SAMPLE_SIZE
    # regenerate the sample (python -m jepa_studio.video.sample --out resources/sample.mp4)
    # whenever the generator changes: the bundled video must show what the generator draws
    scene = SampleScene(SAMPLE_SIZE, SAMPLE_FPS, SAMPLE_SEED)
    for i in (0, SAMPLE_FRAMES // 2, SAMPLE_FRAMES - 1):
        assert _psnr(frames[i], scene.frame(i)) > 30.0


def test_main_writes_a_video(tmp_path: Path) -> None:
    out = tmp_path / "nested" / "scene.mp4"
    code = sample.main(["--out", str(out), "--frames", "5", "--size", "64x48", "--fps", "10", "--seed", "2"])
    assert code == 0
    frames, rate, size = _read_all(out)
    assert len(frames) == 5 and rate == pytest.approx(10.0) and size == (64, 48)
    expected = render_sample_scene(5, size=(64, 48), fps=10.0, seed=2)
    # tiny frames lose a lot to 4:2:0 chroma, but each decoded frame is still its own
    assert _psnr(frames[4], expected[4]) > 24.0
    assert _psnr(frames[4], expected[4]) > _psnr(frames[4], expected[0]) + 3.0


@pytest.mark.parametrize("bad", [["--size", "64by48"], ["--frames", "0"], ["--size", "8x8"]])
def test_main_rejects_bad_arguments(tmp_path: Path, bad: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        sample.main(["--out", str(tmp_path / "x.mp4"), *bad])
    assert exit_info.value.code == 2


def test_sample_is_generated_into_the_cache_when_not_bundled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resources, "bundled_resources_dir", lambda: tmp_path / "not-installed")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    real = sample.write_sample_video
    calls: list[Path] = []

    def small_sample(path: Path) -> Path:  # the real generator and writer, fewer and smaller frames
        calls.append(Path(path))
        return real(path, n_frames=3, size=(64, 36))

    monkeypatch.setattr(sample, "write_sample_video", small_sample)
    path = resources.sample_video_path()
    assert path == tmp_path / "cache" / "jepa-studio" / "sample.mp4"
    frames, _, size = _read_all(path)
    assert len(frames) == 3 and size == (64, 36)
    assert [p.name for p in (tmp_path / "cache" / "jepa-studio").iterdir()] == ["sample.mp4"]  # no temp left
    assert resources.sample_video_path() == path and len(calls) == 1  # generated once


@pytest.mark.parametrize("kwargs", [{"size": (8, 8)}, {"fps": 0.0}])
def test_bad_scene_arguments_raise_usage_errors(kwargs: dict) -> None:
    from jepa_studio.errors import UsageError

    with pytest.raises(UsageError):
        render_sample_scene(2, **kwargs)


def test_ground_truth_points_follow_what_is_drawn(small_scene: SampleScene) -> None:
    """Each tracked point sits on its object, moves with it, and is hidden where the fence is."""
    n = 96
    truth = small_scene.ground_truth(n)
    names = list(truth.names)
    assert truth.xy.shape == (len(names), n, 2) and truth.visible.shape == (len(names), n)
    background = small_scene.background()
    for i in (0, 30, 60):
        frame = small_scene.frame(i)
        boxes = small_scene.object_boxes(i)
        for k, name in enumerate(names):
            x, y = truth.xy[k, i]
            x0, y0, x1, y1 = boxes[name]
            assert x0 <= x < x1 and y0 <= y < y1, (name, i)
            if truth.visible[k, i]:
                # a visible point shows its object, not the background
                assert (frame[int(y), int(x)] != background[int(y), int(x)]).any(), (name, i)
    # velocities are the finite differences of the positions (away from wrap-arounds), in px/s
    ball = names.index("ball")
    step = np.diff(truth.xy[ball, :, 0]) * truth.fps
    normal = np.abs(step) < small_scene.width
    assert np.allclose(step[normal], truth.velocity[ball, :-1, 0][normal], rtol=1e-3)
    assert np.allclose(truth.velocity[ball, :, 0], -150 * small_scene.sx, rtol=1e-3)  # no jump at wraps
    hub = names.index("pinwheel")
    assert np.all(truth.velocity[hub] == 0) and truth.visible[hub].all()
    # the bouncer runs behind the fence: hidden on some frames, seen on others
    bouncer = names.index("bouncer")
    assert 0 < truth.visible[bouncer].sum() < n
