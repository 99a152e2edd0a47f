"""``jepa-studio extract``: streamed whole-video features equal encode() of the same frames."""

from __future__ import annotations

import argparse

import numpy as np
import pytest
import torch

from jepa_studio.cli import extract
from jepa_studio.encoders.features_io import load_features, read_metadata
from jepa_studio.encoders.registry import load_encoder
from jepa_studio.errors import EncoderError, OutOfMemoryError, UsageError, VideoError
from jepa_studio.video import open_video, write_video


def run_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="jepa-studio")
    extract.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["extract", *argv])
    return args.run(args)


@pytest.fixture
def video(tmp_path) -> str:
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (4, 6, 3)).astype(np.float32)
    frames = []
    for t in range(11):  # smooth moving pattern, 48 x 64, an odd number of frames
        big = np.kron(np.roll(base, t % 6, axis=1), np.ones((12, 12, 1)))[:48, :64]
        frames.append(big.astype(np.uint8))
    path = tmp_path / "tiny.mp4"
    write_video(path, frames, fps=10)
    return str(path)


def reference(folder: str, video: str, indices: list[int], **kw):
    enc = load_encoder(folder, device="cpu", **kw)
    with open_video(video) as v:
        clip = np.stack([v[i] for i in indices])
    return enc, clip


def test_vjepa2_whole_video_in_windows(tmp_path, video, save_tiny, capsys) -> None:
    folder = str(save_tiny("vjepa2"))
    out = tmp_path / "f.safetensors"
    assert run_cli(video, "--encoder", folder, "--out", str(out), "--window", "4", "--device", "cpu",
                   "--resolution", "32") == 0
    assert "6 time steps from 11 frames" in capsys.readouterr().out
    got = load_features(out)
    enc, clip = reference(folder, video, list(range(11)), resolution=32, window=4)
    ref = enc.encode(clip)
    assert got.frame_indices == ref.frame_indices == ((0, 1), (2, 3), (4, 5), (6, 7), (8, 9), (10,))
    torch.testing.assert_close(got.tokens, ref.tokens, atol=1e-5, rtol=1e-5)
    assert got.input_size == (32, 48) and not got.pretrained  # 48 x 64 scaled to 32 x 42.7 -> 3 patches wide
    meta = read_metadata(out)
    assert meta["frames"] == [0, 11, 1] and meta["label"].endswith("[random weights]")
    assert meta["preprocessing"] == enc.preprocessing.key() and meta["video"].endswith("tiny.mp4")


def test_dino_frame_range_crop_and_half(tmp_path, video, save_tiny) -> None:
    folder = str(save_tiny("dinov2"))
    out = tmp_path / "d.safetensors"
    assert run_cli(video, "--encoder", folder, "--out", str(out), "--frames", "1:10:3", "--crop",
                   "--window", "2", "--half", "--device", "cpu") == 0
    got = load_features(out)
    enc, clip = reference(folder, video, [1, 4, 7], preprocessing="crop")
    ref = enc.encode(clip, [1, 4, 7])
    assert got.frame_indices == ((1,), (4,), (7,)) and got.tokens.dtype == torch.float16
    assert got.input_size == (224, 224) and got.cls is not None
    torch.testing.assert_close(got.tokens.float(), ref.tokens, atol=2e-3, rtol=2e-3)
    torch.testing.assert_close(got.cls.float(), ref.cls, atol=2e-3, rtol=2e-3)


def test_pixel_encoder_extracts_too(tmp_path, video) -> None:
    out = tmp_path / "p.safetensors"
    assert run_cli(video, "--encoder", "pixels-tubelet", "--out", str(out), "--resolution", "48") == 0
    got = load_features(out)
    enc, clip = reference("pixels-tubelet", video, list(range(11)), resolution=48)
    torch.testing.assert_close(got.tokens, enc.encode(clip).tokens)


def test_list_encoders(capsys) -> None:
    assert run_cli("--list-encoders") == 0
    text = capsys.readouterr().out
    assert "vjepa2-vitl" in text and "facebook/dinov3-vit7b16-pretrain-lvd1689m" in text and "gated" in text


def test_user_errors(tmp_path, video, save_tiny) -> None:
    with pytest.raises(UsageError, match=r"\.safetensors"):
        run_cli(video, "--encoder", "pixels", "--out", str(tmp_path / "f.npy"))
    with pytest.raises(UsageError, match="needs VIDEO"):
        run_cli(video, "--out", str(tmp_path / "f.safetensors"))
    with pytest.raises(EncoderError, match="unknown encoder"):
        run_cli(video, "--encoder", "vjepa9", "--out", str(tmp_path / "f.safetensors"))
    with pytest.raises(UsageError, match="multiple of 2"):
        run_cli(video, "--encoder", "pixels-tubelet", "--out", str(tmp_path / "f.safetensors"), "--window", "3")
    with pytest.raises(VideoError):
        run_cli(str(tmp_path / "missing.mp4"), "--encoder", "pixels", "--out", str(tmp_path / "f.safetensors"))
    assert not list(tmp_path.glob("*.safetensors*"))


class FailingVideo:
    """Yields a few frames then fails like a corrupt file would."""

    def iter_frames(self, start, stop, step):
        for i in range(start, stop, step):
            if i == 6:
                raise VideoError("frame 6 of broken.mp4 cannot be decoded")
            yield i, np.zeros((32, 32, 3), np.uint8)


def test_reader_errors_reach_the_caller_and_leave_no_file(tmp_path) -> None:
    out = tmp_path / "x.safetensors"
    with pytest.raises(VideoError, match="frame 6"):
        extract.extract_video_features(FailingVideo(), load_encoder("pixels"), range(0, 20), out, window=2)
    assert list(tmp_path.iterdir()) == []


def test_out_of_memory_is_reported_and_leaves_no_file(tmp_path) -> None:
    class Greedy:
        name, checkpoint, pretrained, tubelet_size, device = "greedy", "-", True, 1, torch.device("cpu")

        def encode(self, frames, frame_indices=None):
            raise torch.OutOfMemoryError("CUDA out of memory")

    out = tmp_path / "x.safetensors"
    with pytest.raises(OutOfMemoryError, match="shorter clip"):
        extract.extract_video_features(FailingVideo(), Greedy(), range(0, 4), out, window=2)
    assert list(tmp_path.iterdir()) == []


def test_progress_and_streaming_order(tmp_path) -> None:
    class Video:
        def iter_frames(self, start, stop, step):
            for i in range(start, stop, step):
                yield i, np.full((32, 32, 3), i * 10, np.uint8)

    seen: list[tuple[int, int]] = []
    out = tmp_path / "x.safetensors"
    result = extract.extract_video_features(Video(), load_encoder("pixels", resolution=32), range(0, 10, 2), out,
                                            window=2, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(2, 5), (4, 5), (5, 5)] and result.frames == 5 and result.steps == 5
    got = load_features(out)
    assert got.frame_indices == ((0,), (2,), (4,), (6,), (8,))
    assert torch.allclose(got.tokens[:, 0, 0, 0], torch.tensor([0, 20, 40, 60, 80]) / 255)


def test_window_longer_than_the_default_is_one_forward_pass(tmp_path, save_tiny) -> None:
    rng = np.random.default_rng(1)
    path = tmp_path / "twenty.mp4"
    write_video(path, (rng.integers(0, 256, (32, 32, 3), dtype=np.uint8) for _ in range(20)), fps=10)
    folder = str(save_tiny("vjepa2"))
    out = tmp_path / "w20.safetensors"
    assert run_cli(str(path), "--encoder", folder, "--out", str(out), "--window", "20", "--resolution", "32") == 0
    one_pass, clip = reference(folder, str(path), list(range(20)), resolution=32, window=20)
    default, _ = reference(folder, str(path), list(range(20)), resolution=32)  # 16-frame passes
    got = load_features(out).tokens
    torch.testing.assert_close(got, one_pass.encode(clip).tokens, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(got, default.encode(clip).tokens, atol=1e-3)
    with pytest.raises(UsageError, match="forward passes of 16 frames"):
        with open_video(path) as v:
            extract.extract_video_features(v, default, range(20), tmp_path / "x.safetensors", window=20)


def test_a_killed_runs_partial_file_is_removed_and_float16_storage(tmp_path, video) -> None:
    out = tmp_path / "p.safetensors"
    stale = tmp_path / "p.safetensors.part"
    with open(stale, "wb") as f:  # what a killed run leaves: sparse, as large as the whole output
        f.truncate(50 * 2**20)
    assert run_cli(video, "--encoder", "pixels-tubelet", "--out", str(out), "--resolution", "48",
                   "--store-dtype", "float16") == 0
    assert not stale.exists() and load_features(out).tokens.dtype == torch.float16
    full = tmp_path / "f.safetensors"
    assert run_cli(video, "--encoder", "pixels-tubelet", "--out", str(full), "--resolution", "48") == 0
    assert out.stat().st_size < 0.6 * full.stat().st_size
