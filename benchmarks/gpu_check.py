"""The checks that need a GPU, in one prepared run (under 8 minutes on an H200).

    python benchmarks/gpu_check.py            # CUDA: full-size V-JEPA 2 ViT-L and DINOv2-L, random weights
    python benchmarks/gpu_check.py --quick    # the same checks with tiny models on the CPU (seconds)

Nothing is downloaded: the architectures are built here from their configs with random
weights (labelled so), and the videos are generated. Each check prints one line, PASS, FAIL
or SKIP (a check that needs CUDA, under --quick), with its numbers:

- ``bf16``: each encoder's bfloat16 features against its float32 features of the same clip,
  cosine similarity per token (min and median; PASS when the median is >= 0.99 and the
  minimum >= 0.9).
- ``leak``: true masking on the device: changing the pixels inside the mask changes no
  prediction (PASS when the largest change is 0 up to 1e-5 of the predictions' scale), while
  the leaky variant does change (which shows the check can fail).
- ``oom``: with the device's memory filled by a ballast tensor, an encoder pass runs out of
  memory; the error must come out as JEPA Studio's OutOfMemoryError with its advice, the
  memory must be given back, and the same pass then runs normally with the same result.
- ``extract``: whole-video extraction (``jepa-studio extract``'s code: decode, preprocess,
  forward, write) against the forward pass alone on pre-decoded frames, frames per second
  side by side; PASS when the written tokens equal the forward pass's.
- ``masking``: masked prediction (true masking, as the window runs it) against a plain
  encoder pass of the same clip, time side by side; PASS when its scores are finite.

The script exits 0 only if every check passes (SKIP counts as passing), 1 if one fails,
and 2 without running anything when there is no CUDA device and --quick was not given.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from jepa_studio.errors import OutOfMemoryError  # noqa: E402

# Tiny architectures for --quick (the real config classes, a few layers).
_TINY = {
    "vjepa2": dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=2, crop_size=64, frames_per_clip=4,
                   patch_size=16, tubelet_size=2, pred_hidden_size=32, pred_num_hidden_layers=1,
                   pred_num_attention_heads=2, mlp_ratio=2.0),
    "dinov2": dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=2, patch_size=14, image_size=56, mlp_ratio=2),
}


@dataclass(frozen=True)
class Plan:
    """Sizes of one run: full-size on CUDA, tiny on the CPU."""

    device: str
    vjepa2: str  # a registry name, or "tiny"
    dino: str
    clip_frames: int  # frames per clip for bf16, leak, oom and masking
    clip_size: int  # square frames, the encoders' input size (no resize)
    video_frames: int  # the extraction video
    video_size: tuple[int, int]  # (width, height)
    window: int  # frames per forward pass in the extraction
    repeats: int  # timed runs (after a warm-up); the fastest is reported


FULL = Plan("cuda", "vjepa2-vitl", "dinov2-large", 16, 256, 192, (1280, 720), 16, 3)
QUICK = Plan("cpu", "tiny", "tiny", 4, 64, 12, (96, 64), 4, 1)


@dataclass
class Result:
    name: str
    status: str  # PASS, FAIL or SKIP
    detail: str

    def line(self) -> str:
        return f"{self.status:<4}  {self.name:<8} {self.detail}"


# ----------------------------------------------------------------- models and data


def load_encoders(plan: Plan, folder: Path) -> tuple[Any, Any]:
    """(V-JEPA 2, DINOv2) encoders with random weights, in float32, input = the clip size."""
    from jepa_studio.encoders.registry import load_encoder

    def one(family: str, name: str) -> Any:
        if name == "tiny":
            from jepa_studio.encoders.loading import config_class

            path = folder / family
            config_class(family)(**_TINY[family]).save_pretrained(path)
            name = str(path)
        torch.manual_seed(0)
        return load_encoder(name, device=plan.device, dtype=torch.float32, random_weights=True,
                            resolution=plan.clip_size, window=plan.clip_frames)

    return one("vjepa2", plan.vjepa2), one("dinov2", plan.dino)


def moving_frames(count: int, width: int, height: int, seed: int = 0) -> np.ndarray:
    """uint8 [count, height, width, 3]: a blocky random texture with a square sliding over it."""
    rng = np.random.default_rng(seed)
    tile = rng.integers(0, 256, (height // 8 + 1, width // 8 + 1, 3), dtype=np.uint8)
    background = np.kron(tile, np.ones((8, 8, 1), np.uint8))[:height, :width]
    frames = np.repeat(background[None], count, axis=0)
    side = max(8, min(width, height) // 4)
    for t in range(count):
        x = (t * 5) % max(1, width - side)
        frames[t, height // 3 : height // 3 + side, x : x + side] = (255, 40, 40)
    return frames


def sync(device: torch.device | str) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def best_time(run: Callable[[], Any], device: torch.device | str, repeats: int = 3) -> float:
    """The fastest of ``repeats`` timed calls, after one warm-up call."""
    run()
    times = []
    for _ in range(repeats):
        sync(device)
        start = time.perf_counter()
        run()
        sync(device)
        times.append(time.perf_counter() - start)
    return min(times)


# ------------------------------------------------- the masked-prediction entry points
# The only calls into jepa_studio.analysis.masked_prediction; adapt them here if it changes.


def centre_mask(size: int) -> Any:
    """A PixelMask hiding the centre quarter of square frames of ``size`` pixels."""
    from jepa_studio.analysis.masking import PixelMask

    pixels = np.zeros((size, size), dtype=bool)
    pixels[size // 4 : 3 * size // 4, size // 4 : 3 * size // 4] = True
    return PixelMask(pixels)


def run_masked_prediction(encoder: Any, frames: np.ndarray, mask: Any, include_leaky: bool) -> tuple[torch.Tensor, torch.Tensor | None, float]:
    """(true predictions [M, D], leaky predictions or None, mean cosine of the true ones)."""
    from jepa_studio.analysis.masked_prediction import encoder_masked_prediction

    result = encoder_masked_prediction(encoder, frames, mask, include_leaky=include_leaky)
    leaky = result.leaky.predicted if result.leaky is not None else None
    return result.true.predicted, leaky, float(result.true.mean_cosine)


# ------------------------------------------------------------------------- checks


def check_bf16(encoder: Any, frames: np.ndarray) -> Result:
    """bfloat16 against float32 features of the same clip, cosine per token."""
    reference = encoder.encode(frames).tokens
    dim = reference.shape[-1]
    try:
        half = in_dtype(encoder, torch.bfloat16).encode(frames).tokens
    finally:
        in_dtype(encoder, torch.float32)
    cosine = torch.nn.functional.cosine_similarity(reference.reshape(-1, dim).double(), half.reshape(-1, dim).double(), dim=-1)
    low, median = float(cosine.min()), float(cosine.median())
    ok = median >= 0.99 and low >= 0.9 and bool(torch.isfinite(half).all())
    return Result("bf16", "PASS" if ok else "FAIL",
                  f"{encoder.name}: cosine per token bf16 vs fp32 min {low:.4f} median {median:.4f} over {cosine.numel()} tokens")


def check_leak(encoder: Any, frames: np.ndarray) -> Result:
    """True masking on the device: pixels inside the mask change no prediction."""
    mask = centre_mask(frames.shape[1])
    true_a, leaky_a, cos = run_masked_prediction(encoder, frames, mask, include_leaky=True)
    changed = frames.copy()
    changed[:, mask.pixels] = 255 - changed[:, mask.pixels]
    true_b, leaky_b, _ = run_masked_prediction(encoder, changed, mask, include_leaky=True)
    scale = float(true_a.abs().max())
    true_change = float((true_a - true_b).abs().max())
    leaky_change = float((leaky_a - leaky_b).abs().max()) if leaky_a is not None and leaky_b is not None else float("nan")
    ok = true_change <= 1e-5 * max(scale, 1.0) and leaky_change > 1e-3 * max(scale, 1.0)
    return Result("leak", "PASS" if ok else "FAIL",
                  f"{encoder.name} on {true_a.device}: {true_a.shape[0]} hidden tokens, max change of true-masking "
                  f"predictions {true_change:.3g} (scale {scale:.3g}); leaky variant changes by {leaky_change:.3g}; "
                  f"mean cosine {cos:.3f}")


def check_oom(encoder: Any, frames: np.ndarray) -> Result:
    """Provoke an out-of-memory error in an encoder pass, recover, and run the pass again."""
    from jepa_studio.encoders.device import oom_guard

    device = torch.device(encoder.device)
    if device.type != "cuda":
        return Result("oom", "SKIP", "needs CUDA (a CPU allocation failure is not provoked on purpose)")
    before = encoder.encode(frames).tokens
    sync(device)
    baseline = torch.cuda.memory_allocated(device)
    ballast = _fill_device(device, leave=8 * 2**20)
    try:
        with oom_guard(f"encoding {len(frames)} frames with {encoder.name}", device):
            encoder.encode(frames)
        raised = "nothing"
    except OutOfMemoryError as error:
        raised = str(error)
    finally:
        del ballast
    torch.cuda.empty_cache()
    sync(device)
    leftover = torch.cuda.memory_allocated(device) - baseline
    after = encoder.encode(frames).tokens
    same = torch.equal(before, after)
    ok = raised.startswith("out of memory") and "shorter clip" in raised and leftover <= 0 and same
    return Result("oom", "PASS" if ok else "FAIL",
                  f"{encoder.name}: raised {raised[:60]!r}...; memory left allocated after recovery "
                  f"{leftover / 2**20:.1f} MiB; the pass after it {'gives the same tokens' if same else 'DIFFERS'}")


def _fill_device(device: torch.device, leave: int) -> list[torch.Tensor]:
    """Allocate all but about ``leave`` bytes of the device's free memory (in a few blocks)."""
    blocks: list[torch.Tensor] = []
    free, _ = torch.cuda.mem_get_info(device)
    size = free - leave
    while size > leave:
        try:
            blocks.append(torch.empty(size, dtype=torch.uint8, device=device))
        except torch.OutOfMemoryError:
            size //= 2
            continue
        free, _ = torch.cuda.mem_get_info(device)
        size = free - leave
    return blocks


def check_extract(encoder: Any, plan: Plan, folder: Path) -> Result:
    """Whole-video extraction against the forward pass alone, frames per second."""
    from jepa_studio.cli.extract import extract_video_features
    from jepa_studio.encoders.features_io import load_features
    from jepa_studio.video import open_video, write_video

    width, height = plan.video_size
    path = write_video(folder / "extract.mp4", moving_frames(plan.video_frames, width, height, seed=1), fps=30)
    n = plan.video_frames
    with open_video(path) as video:
        decoded = [frame for _, frame in video.iter_frames()]
    windows = [np.stack(decoded[s : s + plan.window]) for s in range(0, n, plan.window)]
    prepared = [(list(range(s, s + len(w))), encoder.prepare(w)) for s, w in zip(range(0, n, plan.window), windows)]
    del decoded, windows

    def forward() -> list[torch.Tensor]:
        return [encoder.encode_prepared(clip, idx).tokens for idx, clip in prepared]

    out = folder / "features.safetensors"

    def extract() -> None:
        with open_video(path) as video:
            extract_video_features(video, encoder, range(n), out, window=plan.window)

    forward_s = best_time(forward, encoder.device, plan.repeats)
    extract_s = best_time(extract, encoder.device, plan.repeats)
    expected = torch.cat(forward(), dim=0).cpu()
    written = load_features(out).tokens
    same = written.shape == expected.shape and torch.allclose(written, expected, rtol=1e-4, atol=1e-4)
    forward_fps, extract_fps = n / forward_s, n / extract_s
    return Result("extract", "PASS" if same else "FAIL",
                  f"{encoder.name}, {n} frames {width}x{height}: forward alone {forward_fps:.1f} frames/s, "
                  f"extract {extract_fps:.1f} frames/s, ratio {extract_fps / forward_fps:.2f}; "
                  f"tokens {tuple(written.shape)} {'equal' if same else 'DIFFER from'} the forward pass's")


def check_masking(encoder: Any, frames: np.ndarray, repeats: int) -> Result:
    """Masked prediction (true masking) against a plain encoder pass of the same clip."""
    mask = centre_mask(frames.shape[1])
    plain_s = best_time(lambda: encoder.encode(frames), encoder.device, repeats)
    cosines: list[float] = []
    masked_s = best_time(lambda: cosines.append(run_masked_prediction(encoder, frames, mask, include_leaky=False)[2]),
                         encoder.device, repeats)
    ok = all(math.isfinite(c) for c in cosines)
    return Result("masking", "PASS" if ok else "FAIL",
                  f"{encoder.name}, {len(frames)} frames: plain pass {plain_s * 1000:.1f} ms, masked prediction "
                  f"{masked_s * 1000:.1f} ms, ratio {masked_s / plain_s:.2f} (issue 20 aims at <= 1.0); "
                  f"mean cosine {cosines[-1]:.3f}")


# --------------------------------------------------------------------------- main


def run_checks(plan: Plan, folder: Path) -> list[Result]:
    vjepa2, dino = load_encoders(plan, folder)
    clip = moving_frames(plan.clip_frames, plan.clip_size, plan.clip_size)
    run_dtype = torch.bfloat16 if plan.device == "cuda" else torch.float32  # what the window runs in
    steps: list[Callable[[], Result]] = [
        lambda: check_bf16(vjepa2, clip),
        lambda: check_bf16(dino, clip),
        lambda: check_leak(in_dtype(vjepa2, run_dtype), clip),
        lambda: check_oom(vjepa2, clip),
        lambda: check_extract(vjepa2, plan, folder),
        lambda: check_masking(vjepa2, clip, plan.repeats),
    ]
    results = []
    for step in steps:
        try:
            result = step()
        except Exception as error:  # noqa: BLE001 - a check that crashes is a failed check
            result = Result("error", "FAIL", f"{type(error).__name__}: {str(error)[:300]}")
        print(result.line(), flush=True)
        results.append(result)
    return results


def in_dtype(encoder: Any, dtype: torch.dtype) -> Any:
    """``encoder`` with its model converted to ``dtype`` (in place)."""
    encoder.model.to(dtype)
    encoder.dtype = dtype
    return encoder


def describe_device(plan: Plan) -> str:
    if plan.device == "cuda":
        props = torch.cuda.get_device_properties(0)
        return (f"{props.name}, {props.total_memory / 2**30:.0f} GiB, torch {torch.__version__} "
                f"(CUDA {torch.version.cuda})")
    return f"CPU, torch {torch.__version__}, {torch.get_num_threads()} threads"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny models on the CPU (tests this script)")
    parser.add_argument("--json", default=None, help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    if not args.quick and not torch.cuda.is_available():
        print(f"gpu_check: no CUDA device: torch {torch.__version__} (CUDA build: {torch.version.cuda or 'none'}) "
              "sees no GPU, so nothing was checked. Run it on a CUDA machine, or with --quick for the CPU version.")
        return 2
    plan = QUICK if args.quick else FULL
    print(f"gpu_check on {describe_device(plan)}: V-JEPA 2 {plan.vjepa2}, DINOv2 {plan.dino} (random weights)", flush=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as tmp:
        results = run_checks(plan, Path(tmp))
    failed = [r for r in results if r.status == "FAIL"]
    print(f"{len(results) - len(failed)} of {len(results)} checks passed in {time.perf_counter() - started:.0f} s", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps([r.__dict__ for r in results], indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
