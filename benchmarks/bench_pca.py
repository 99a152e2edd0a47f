"""PCA fit time: jepa_studio's fit_pca against scikit-learn's PCA, side by side.

Run: ``python benchmarks/bench_pca.py`` (``--quick`` for a smaller clip). It builds a
synthetic 1280x720, 300-frame clip (textured background, moving objects; no video file
needed), encodes it with the pixel baselines (``pixels-tubelet``: D = 1536, ``pixels``:
D = 768), adds a ViT-L-sized random case (D = 1024), and for each token set prints the
best-of-n fit time of ``fit_pca`` (3 components) and of scikit-learn's PCA with the full
SVD, the randomized SVD and the covariance eigensolver, with the ratios, and how far the
explained variances are from the full SVD's. On a machine with CUDA it also times
``fit_pca`` on the GPU.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from jepa_studio.analysis.pca import fit_pca  # noqa: E402
from jepa_studio.encoders.pixels import PixelEncoder  # noqa: E402

SLOW_S = 10.0  # a method whose first run takes longer is not repeated


def _round_robin(methods: dict[str, Callable[[], object]], repeats: int, sync: Callable[[], None]) -> tuple[dict, dict]:
    """Run each method once per round, ``repeats`` rounds; best time and last result of each.

    Interleaving the methods makes a change in the machine's load hit them alike. A method
    whose first run took over SLOW_S seconds is not repeated.
    """
    best = {name: float("inf") for name in methods}
    results: dict = {}
    for round_ in range(repeats):
        for name, fn in methods.items():
            if round_ > 0 and best[name] > SLOW_S:
                continue
            sync()
            t0 = time.perf_counter()
            results[name] = fn()
            sync()
            best[name] = min(best[name], time.perf_counter() - t0)
    return best, results


def bench_pca(tokens: torch.Tensor, n_components: int = 3, repeats: int = 3, name: str = "") -> dict:
    """Time fit_pca and scikit-learn's PCA on the same tokens [N, D].

    Returns a dict of seconds (best of ``repeats``, the methods interleaved; slow ones
    once) per method, the ratios sklearn / ours, and the largest relative difference of
    each method's explained variance from the full SVD's.
    """
    from sklearn.decomposition import PCA

    x = tokens.reshape(-1, tokens.shape[-1]).to("cpu", torch.float32).contiguous()
    xn = x.numpy()
    n, d = xn.shape
    fit_pca(x[:4096], n_components)  # warm-up (thread pools, allocator)
    res: dict = {"name": name, "n_tokens": n, "dim": d, "n_components": n_components}
    methods: dict[str, Callable[[], object]] = {"ours_cpu": lambda: fit_pca(x, n_components)}
    for solver in ("full", "randomized", "covariance_eigh"):
        kwargs = {"random_state": 0} if solver == "randomized" else {}
        methods[f"sklearn_{solver}"] = lambda solver=solver, kwargs=kwargs: PCA(
            n_components, svd_solver=solver, **kwargs
        ).fit(xn)
    times, fits = _round_robin(methods, repeats, lambda: None)
    ev = {"ours_cpu": fits["ours_cpu"].explained_variance.double().numpy()}
    for solver in ("full", "randomized", "covariance_eigh"):
        ev[f"sklearn_{solver}"] = np.asarray(fits[f"sklearn_{solver}"].explained_variance_, dtype=np.float64)
    res.update({f"{key}_s": t for key, t in times.items()})
    if torch.cuda.is_available():
        xg = x.cuda()
        fit_pca(xg[:4096], n_components)
        gtimes, gfits = _round_robin({"ours_cuda": lambda: fit_pca(xg, n_components)}, repeats, torch.cuda.synchronize)
        res["ours_cuda_s"] = gtimes["ours_cuda"]
        ev["ours_cuda"] = gfits["ours_cuda"].explained_variance.double().cpu().numpy()
        del xg
    ref = ev["sklearn_full"]
    for key, val in ev.items():
        if key != "sklearn_full":
            res[f"{key}_ev_rel_err"] = float(np.max(np.abs(val / ref - 1.0)))
    for solver in ("full", "randomized", "covariance_eigh"):
        res[f"ratio_sklearn_{solver}_over_ours"] = res[f"sklearn_{solver}_s"] / res["ours_cpu_s"]
    return res


def print_result(res: dict) -> None:
    print(f"\n{res['name']}: N = {res['n_tokens']} tokens, D = {res['dim']}, k = {res['n_components']}")
    ours = res["ours_cpu_s"]
    print(f"  {'fit_pca (CPU)':<28}{ours:8.3f} s   1.00x   ev err {res['ours_cpu_ev_rel_err']:.1e}")
    for solver in ("full", "randomized", "covariance_eigh"):
        t = res[f"sklearn_{solver}_s"]
        err = res.get(f"sklearn_{solver}_ev_rel_err", 0.0)
        print(f"  {'sklearn ' + solver:<28}{t:8.3f} s   {t / ours:5.2f}x   ev err {err:.1e}")
    if "ours_cuda_s" in res:
        t = res["ours_cuda_s"]
        name = torch.cuda.get_device_name(0)
        print(f"  {'fit_pca (CUDA, ' + name[:12] + ')':<28}{t:8.3f} s   {t / ours:5.2f}x   ev err {res['ours_cuda_ev_rel_err']:.1e}")
    print("  (x = time / fit_pca CPU time; ev err = max relative difference of the explained variance from sklearn full)")


def synthetic_frames(start: int, count: int, height: int = 720, width: int = 1280, seed: int = 0) -> np.ndarray:
    """uint8 [count, H, W, 3] frames start..start+count of a moving-objects scene."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    background = np.stack(
        [
            80 + 60 * np.sin(xx / 37.0) * np.cos(yy / 53.0),
            90 + 50 * ((xx // 40 + yy // 40) % 2),  # a fence-like checker
            60 + 40 * np.sin((xx + yy) / 23.0),
        ],
        axis=-1,
    )
    background += rng.normal(0, 8, background.shape).astype(np.float32)
    objects = [  # (radius, colour, speed px/frame, phase)
        (70, (230, 50, 40), 3.0, 0.0),
        (45, (40, 200, 80), 7.0, 1.5),
        (100, (40, 60, 220), 1.2, 3.0),
    ]
    frames = np.empty((count, height, width, 3), dtype=np.uint8)
    for i in range(count):
        t = start + i
        img = background.copy()
        for k, (r, colour, speed, phase) in enumerate(objects):
            cx = (speed * t + 300 * k) % (width + 2 * r) - r
            cy = height / 2 + 0.3 * height * np.sin(t / 40.0 + phase)
            y0, y1 = int(max(0, cy - r)), int(min(height, cy + r + 1))
            x0, x1 = int(max(0, cx - r)), int(min(width, cx + r + 1))
            if y0 >= y1 or x0 >= x1:
                continue
            inside = (yy[y0:y1, x0:x1] - cy) ** 2 + (xx[y0:y1, x0:x1] - cx) ** 2 < r * r
            img[y0:y1, x0:x1][inside] = colour
        frames[i] = np.clip(img, 0, 255).astype(np.uint8)
    return frames


def clip_tokens(encoder: PixelEncoder, n_frames: int, chunk: int = 20) -> torch.Tensor:
    """Encode the synthetic clip chunk by chunk; tokens [T', h, w, D]."""
    parts = []
    for start in range(0, n_frames, chunk):
        frames = synthetic_frames(start, min(chunk, n_frames - start))
        parts.append(encoder.encode(frames).tokens)
    return torch.cat(parts, dim=0)


def vit_like_tokens(n: int, d: int = 1024, rank: int = 64, seed: int = 0) -> torch.Tensor:
    """Random tokens [n, d] with a decaying low-rank structure plus noise, like ViT features."""
    g = torch.Generator().manual_seed(seed)
    scales = torch.logspace(1.0, -0.5, rank)
    latent = torch.randn(n, rank, generator=g) * scales
    mix = torch.randn(rank, d, generator=g) / rank**0.5
    return latent @ mix + 0.3 * torch.randn(n, d, generator=g) + torch.randn(d, generator=g)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="60 frames, for a smoke run")
    parser.add_argument(
        "--threads", type=int, default=None,
        help="CPU threads for torch and for scikit-learn's BLAS alike (default: each library's own)",
    )
    args = parser.parse_args(argv)
    if args.threads is not None:
        from threadpoolctl import threadpool_limits

        torch.set_num_threads(args.threads)
        threadpool_limits(args.threads)
    n_frames = 60 if args.quick else args.frames
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} torch threads, {os.cpu_count()} CPUs, "
        f"load average {load:.1f}, cuda: {torch.cuda.is_available()}"
    )
    print(f"synthetic clip: {n_frames} frames of 1280x720")
    t0 = time.perf_counter()
    tubelet = clip_tokens(PixelEncoder(tubelet_size=2), n_frames)
    pixels = clip_tokens(PixelEncoder(tubelet_size=1), n_frames)
    print(f"encoded in {time.perf_counter() - t0:.1f} s: pixels-tubelet {tuple(tubelet.shape)}, pixels {tuple(pixels.shape)}")
    cases = [
        ("pixels-tubelet", tubelet),
        ("pixels", pixels),
        ("ViT-L-sized random", vit_like_tokens(tubelet.shape[0] * tubelet.shape[1] * tubelet.shape[2])),
    ]
    for name, tokens in cases:
        print_result(bench_pca(tokens, repeats=args.repeats, name=name))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
