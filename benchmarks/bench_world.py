"""World-model throughput: training tokens per second and rollout time, CPU and CUDA side by side.

    python benchmarks/bench_world.py [--steps 20] [--grid 16] [--dim 1024]

For each device (the CPU, and CUDA when available) it times, on random latents of a
V-JEPA 2 ViT-L-like shape by default (16x16 grid, D = 1024), one training step of the
transition model (batch x history x h x w tokens) and of the decoder (both heads: transposed
convs, and the patch readout the comparison uses), and a k-step rollout, then prints the
numbers and the CUDA / CPU ratios.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from jepa_studio.world.decoder import DecoderConfig, LatentDecoder  # noqa: E402
from jepa_studio.world.rollout import rollout_latents  # noqa: E402
from jepa_studio.world.transition import TransitionConfig, TransitionModel  # noqa: E402


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _time(fn, steps: int, device: torch.device) -> float:
    fn()  # warm-up
    fn()
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        fn()
    _sync(device)
    return (time.perf_counter() - t0) / steps


def bench(device: torch.device, args: argparse.Namespace) -> dict[str, float]:
    torch.manual_seed(0)
    g, d, h, b, k = args.grid, args.dim, args.history, args.batch, args.horizon
    tr = TransitionModel(TransitionConfig(dim=d, grid=(g, g), history=h, width=args.width, depth=args.depth, heads=args.heads, action_dim=2)).to(device)
    opt = torch.optim.AdamW(tr.parameters(), lr=1e-4, foreach=True)
    z = torch.randn(b, h + 1, g, g, d, device=device)
    a = torch.randn(b, h + k, 2, device=device)

    def train_step() -> None:
        loss = F.mse_loss(tr(z[:, :h], a[:, :h]), z[:, 1:])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    xd = torch.rand(b, 2, 3, 16 * g, 16 * g, device=device)
    zd = torch.randn(b, g, g, d, device=device)
    decoders = {}
    for head in ("conv", "patch"):
        dec = LatentDecoder(DecoderConfig(dim=d, grid=(g, g), patch_size=16, tubelet_size=2, out_size=(16 * g, 16 * g),
                                          hidden=128, head=head)).to(device)
        decoders[head] = (dec, torch.optim.AdamW(dec.parameters(), lr=1e-4, foreach=True))

    def dec_step(head: str) -> None:
        dec, dopt = decoders[head]
        loss = F.mse_loss(dec(zd), xd)
        dopt.zero_grad(set_to_none=True)
        loss.backward()
        dopt.step()

    def roll() -> None:
        rollout_latents(tr, z[:1, :h], k, a[:1])

    t_tr = _time(train_step, args.steps, device)
    t_dec = {head: _time(lambda: dec_step(head), max(2, args.steps // 4), device) for head in decoders}
    t_roll = _time(roll, max(2, args.steps // 4), device)
    return {
        "transition train tokens/s": b * h * g * g / t_tr,
        "transition step (ms)": 1000 * t_tr,
        "decoder 'conv' latents/s": b / t_dec["conv"],
        "decoder 'patch' latents/s": b / t_dec["patch"],
        f"rollout of {k} steps (ms)": 1000 * t_roll,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--grid", type=int, default=16, help="tokens per side (16: V-JEPA 2 at 256 px)")
    parser.add_argument("--dim", type=int, default=1024, help="latent dim (1024: ViT-L)")
    parser.add_argument("--history", type=int, default=3)
    parser.add_argument("--horizon", type=int, default=4)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--depth", type=int, default=4)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--cpu-steps", type=int, default=None, help="steps on the CPU (default: --steps)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    results = {}
    for dev in devices:
        a = argparse.Namespace(**{**vars(args), "steps": args.cpu_steps or args.steps}) if dev.type == "cpu" else args
        results[dev.type] = bench(dev, a)
    print(f"grid {args.grid}x{args.grid}, D={args.dim}, history {args.history}, batch {args.batch}, "
          f"ViT width {args.width} depth {args.depth}; torch {torch.__version__}, {torch.get_num_threads()} CPU threads"
          + (f", {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ", no CUDA"))
    names = list(results["cpu"])
    header = f"{'':32s}" + "".join(f"{d:>14s}" for d in results) + ("   cuda/cpu" if "cuda" in results else "")
    print(header)
    for n in names:
        row = f"{n:32s}" + "".join(f"{results[d][n]:14.1f}" for d in results)
        if "cuda" in results:
            row += f"   {results['cuda'][n] / results['cpu'][n]:9.2f}x"
        print(row)


if __name__ == "__main__":
    main()
