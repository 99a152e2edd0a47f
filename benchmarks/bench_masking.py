"""Masked prediction time against a plain encoder pass of the same clip, side by side.

    python benchmarks/bench_masking.py                     # small random V-JEPA 2, CPU
    python benchmarks/bench_masking.py --arch vjepa2-vitl  # full-size ViT-L, random weights (GPU)

Times, on the same clip and device, in one run:

- plain:  transformers' encoder pass (``model(x, skip_predictor=True)``), what a PCA pane costs;
- true:   :func:`masked_prediction` without the leaky variant (full pass for the targets +
          context-only encoder pass + predictor);
- +leaky: the same with the leaky variant (one more predictor pass);
- cached: what the window pays when the pane already encoded the clip (its encoding is the
          targets, as the engine passes it): context-only encoder pass + predictor, true masking
          and with the leaky variant.

Prints each median and its ratio to the plain pass. Weights are random (no hub needed);
timings do not depend on weight values.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from jepa_studio.analysis.masked_prediction import masked_prediction  # noqa: E402

ARCHS = {
    # hidden, layers, heads, predictor hidden, predictor layers, predictor heads
    "small": dict(hidden_size=192, num_hidden_layers=6, num_attention_heads=3, pred_hidden_size=96,
                  pred_num_hidden_layers=4, pred_num_attention_heads=3),
    "vjepa2-vitl": dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, pred_hidden_size=384,
                        pred_num_hidden_layers=12, pred_num_attention_heads=12),
}


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed_side_by_side(fns: dict, device: torch.device, repeats: int) -> dict:
    """Median seconds of each function; rounds interleave them, so load drifts hit all alike."""
    for fn in fns.values():  # warm-up
        fn()
    sync(device)
    times: dict = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            sync(device)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(v) for name, v in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", choices=tuple(ARCHS), default="small")
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--size", type=int, default=None, help="square input side (default 128 small, 256 vitl)")
    parser.add_argument("--hidden", type=float, default=0.4, help="fraction of tokens hidden (a centre block)")
    parser.add_argument("--device", default=None)
    parser.add_argument("--dtype", default=None, help="float32, float16, bfloat16 (default bf16 on CUDA)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    args = parser.parse_args()

    from transformers import VJEPA2Config, VJEPA2Model

    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    dtype = getattr(torch, args.dtype) if args.dtype else (torch.bfloat16 if device.type == "cuda" else torch.float32)
    size = args.size or (256 if args.arch == "vjepa2-vitl" else 128)
    torch.manual_seed(0)
    config = VJEPA2Config(crop_size=size, frames_per_clip=args.frames, **ARCHS[args.arch])
    model = VJEPA2Model(config).to(device, dtype).eval()
    x = torch.randn(1, args.frames, 3, size, size, device=device, dtype=dtype)
    t, h, w = args.frames // 2, size // 16, size // 16
    side = max(1, round((args.hidden ** 0.5) * h))
    hidden = torch.zeros(t, h, w, dtype=torch.bool)
    top = (h - side) // 2
    hidden[:, top : top + side, top : top + side] = True

    if args.threads:
        torch.set_num_threads(args.threads)
    with torch.no_grad():
        encoding = model(x, skip_predictor=True).last_hidden_state  # what the PCA pane computed
        result = timed_side_by_side(
            {
                "plain": lambda: model(x, skip_predictor=True),
                "true": lambda: masked_prediction(model, x, hidden, include_leaky=False),
                "both": lambda: masked_prediction(model, x, hidden, include_leaky=True),
                "cached": lambda: masked_prediction(model, x, hidden, include_leaky=False, full_encoding=encoding),
                "cached_both": lambda: masked_prediction(model, x, hidden, include_leaky=True, full_encoding=encoding),
            },
            device,
            args.repeats,
        )
    plain, true, both = result["plain"], result["true"], result["both"]
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"arch {args.arch} (random weights), {args.frames} frames {size}x{size} -> {t}x{h}x{w} tokens, "
          f"{int(hidden.sum())} hidden ({hidden.float().mean():.0%}), {name}, {str(dtype).replace('torch.', '')}")
    print(f"{'plain encoder pass':<34}{plain * 1e3:9.1f} ms   1.00x")
    print(f"{'masked prediction (true)':<34}{true * 1e3:9.1f} ms   {true / plain:.2f}x")
    print(f"{'masked prediction (true + leaky)':<34}{both * 1e3:9.1f} ms   {both / plain:.2f}x")
    for key, text in (("cached", "  with the pane's encoding (true)"), ("cached_both", "  with the pane's encoding (+leaky)")):
        print(f"{text:<34}{result[key] * 1e3:9.1f} ms   {result[key] / plain:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
