"""Latent decoder: a token grid [h, w, D] back to pixels (VQ-VAE-style conv decoder, no quantiser).

For a tubelet encoder (V-JEPA 2, ``pixels-tubelet``) one latent covers ``tubelet_size``
frames, so the decoder outputs ``tubelet_size * 3`` channels: all of that latent's frames.
The decoder reads *normalised* latents (see :class:`~jepa_studio.world.latents.LatentStats`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..encoders.base import PatchFeatures


@dataclass(frozen=True)
class DecoderConfig:
    """Architecture of a :class:`LatentDecoder`.

    dim: token dimension D; grid: (h, w) tokens; patch_size: pixels per token side;
    tubelet_size: frames per latent; out_size: (H, W) of the decoded frames (the encoder's
    input size); hidden: channels after the 1x1 input conv; n_res: residual blocks;
    target: the tokens the models read, ``"raw"`` (the encoder's output) or ``"layer_norm"``
    (``F.layer_norm`` over D with no affine, the space V-JEPA 2's predictor predicts in, so
    masked predictions can be decoded); see :func:`prepare_tokens`; head: how tokens become
    pixels (:data:`HEADS`): ``"conv"``, stride-2 transposed convs up to the patch size, or
    ``"patch"``, every token to its patch of pixels (a pixel shuffle, as MAE's decoder head)
    as a linear readout plus a conv net at the token grid's resolution: much cheaper, and
    exact for the pixel baselines.
    """

    dim: int
    grid: tuple[int, int]
    patch_size: int
    tubelet_size: int
    out_size: tuple[int, int]
    hidden: int = 128
    n_res: int = 2
    target: str = "raw"
    head: str = "conv"

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise ValueError(f"decoder target must be one of {TARGETS}, not {self.target!r}")
        if self.head not in HEADS:
            raise ValueError(f"decoder head must be one of {HEADS}, not {self.head!r}")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "DecoderConfig":
        data = dict(data)
        data["grid"] = tuple(data["grid"])
        data["out_size"] = tuple(data["out_size"])
        return cls(**data)


#: what a decoder can be trained on: raw tokens, or per-token layer-normed ones (no affine)
TARGETS = ("raw", "layer_norm")
#: how a decoder turns tokens into pixels
HEADS = ("conv", "patch")


def prepare_tokens(tokens: torch.Tensor, target: str = "raw") -> torch.Tensor:
    """Raw encoder tokens [..., D] -> the tokens a model with ``target`` reads (float32).

    ``"layer_norm"``: ``F.layer_norm(tokens, (D,))`` with no weight or bias, as V-JEPA 2's
    predictor was trained to predict; ``"raw"``: unchanged.
    """
    x = tokens.detach().float()
    if target == "layer_norm":
        return F.layer_norm(x, (x.shape[-1],))
    if target != "raw":
        raise ValueError(f"decoder target must be one of {TARGETS}, not {target!r}")
    return x


def _norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(min(8, channels), channels)


class _ResBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            _norm(channels),
            nn.SiLU(),
            nn.Conv2d(channels, channels, 3, padding=1),
            _norm(channels),
            nn.SiLU(),
            nn.Conv2d(channels, channels, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class LatentDecoder(nn.Module):
    """Conv decoder: normalised tokens [B, h, w, D] -> frames [B, tubelet, 3, H, W] (about [0, 1]).

    A 1x1 conv to ``hidden`` channels and residual blocks at the token grid, then the head:
    ``"conv"``: ``ceil(log2(patch_size))`` stride-2 transposed convs (channels halving, at
    least 32; GroupNorm and SiLU between), a 3x3 conv to ``3 * tubelet`` channels and a
    bilinear resize to ``out_size`` when the patch size is not a power of two; ``"patch"``: a
    per-token linear layer to ``3 * tubelet * patch**2`` channels (zero at first) plus a linear
    readout of the tokens (:func:`fit_readout` gives it a closed-form start), pixel-shuffled to
    the patches. Plus 0.5. The output is not squashed (a sigmoid
    saturates and stalls training); :meth:`decode` clamps it to [0, 1].
    """

    def __init__(self, config: DecoderConfig) -> None:
        super().__init__()
        self.config = config
        c = config.hidden
        layers: list[nn.Module] = [nn.Conv2d(config.dim, c, 1)]
        layers += [_ResBlock(c) for _ in range(config.n_res)]
        layers += [_norm(c), nn.SiLU()]
        p, k = config.patch_size, config.tubelet_size
        self.readout: nn.Linear | None = None
        if config.head == "patch":  # per-token linear layers (the grid is channels-last already)
            last: nn.Module = nn.Linear(c, 3 * k * p * p)
            self.readout = nn.Linear(config.dim, 3 * k * p * p)
            nn.init.zeros_(self.readout.weight)
            nn.init.zeros_(self.readout.bias)
        else:
            for _ in range(max(0, math.ceil(math.log2(max(1, p))))):
                out = max(32, c // 2)
                layers += [nn.ConvTranspose2d(c, out, 4, stride=2, padding=1), _norm(out), nn.SiLU()]
                c = out
            last = nn.Conv2d(c, 3 * k, 3, padding=1)
        with torch.no_grad():  # start near a flat grey image (the patch head: at the linear readout)
            last.weight.mul_(0.0 if config.head == "patch" else 0.1)  # type: ignore[operator]
            last.bias.zero_()  # type: ignore[union-attr]
        if self.readout is None:
            layers.append(last)
            self.head = None
        else:
            self.head = last
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """z: float [B, h, w, D] (normalised) -> float [B, tubelet, 3, H, W], unclamped."""
        x = self.net(z.permute(0, 3, 1, 2))
        if self.readout is not None and self.head is not None:  # the grid times the patch size is the input size
            patches = self.head(x.permute(0, 2, 3, 1)) + self.readout(z)
            x = F.pixel_shuffle(patches.permute(0, 3, 1, 2), self.config.patch_size)
        if tuple(x.shape[-2:]) != tuple(self.config.out_size):
            x = F.interpolate(x, size=self.config.out_size, mode="bilinear", align_corners=False)
        x = x + 0.5
        b, _, h, w = x.shape
        return x.reshape(b, self.config.tubelet_size, 3, h, w)

    @torch.no_grad()
    def decode(self, z: torch.Tensor, batch_size: int = 32) -> torch.Tensor:
        """Decode any number of token grids [N, h, w, D] (normalised) in batches, no grad.

        Returns float [N, tubelet, 3, H, W] in [0, 1] on the decoder's device. Masked
        predictions are decoded the same way: fill the grid with predicted tokens and decode.
        """
        was_training = self.training
        self.eval()
        device = next(self.parameters()).device
        out = [self(z[i : i + batch_size].to(device)).clamp_(0, 1) for i in range(0, len(z), batch_size)]
        self.train(was_training)
        return torch.cat(out, 0)


@torch.no_grad()
def fit_readout(decoder: LatentDecoder, z: torch.Tensor, x: torch.Tensor, ridge: float = 1e-3) -> bool:
    """Set a ``"patch"`` decoder's linear readout to the ridge regression from tokens to what
    the rest of the decoder leaves of their patches' pixels (a closed-form start for training).

    Parameters
    ----------
    z: normalised tokens [N, h, w, D] of *training* steps; x: their frames
        [N, tubelet, 3, H, W] in [0, 1]; ridge: the penalty, relative to the mean token energy.

    Returns
    -------
    bool: False (nothing changed) for a ``"conv"`` decoder.
    """
    if decoder.readout is None or decoder.head is None:
        return False
    cfg = decoder.config
    n, h, w, d = z.shape
    if (h * cfg.patch_size, w * cfg.patch_size) != tuple(cfg.out_size):
        return False
    device = decoder.readout.weight.device
    z = z.to(device).float()
    pixels = x.to(device).float().reshape(n, -1, *x.shape[-2:]) - 0.5
    target = F.pixel_unshuffle(pixels, cfg.patch_size).permute(0, 2, 3, 1)
    target = target - decoder.head(decoder.net(z.permute(0, 3, 1, 2)).permute(0, 2, 3, 1))
    zf = torch.cat([z.reshape(-1, d), torch.ones(n * h * w, 1, device=device)], 1)
    gram = (zf.T @ zf).double()  # products in float32, the solve in float64
    scale = float(torch.diagonal(gram)[:d].mean()) or 1.0
    gram += ridge * scale * torch.eye(d + 1, dtype=gram.dtype, device=device)
    coef = torch.linalg.solve(gram, (zf.T @ target.reshape(n * h * w, -1)).double())
    decoder.readout.weight.copy_(coef[:d].T.float())
    decoder.readout.bias.copy_(coef[d].float())
    return True


def to_uint8_frames(x: torch.Tensor) -> np.ndarray:
    """float [N, tubelet, 3, H, W] (or [N, 3, H, W]) in [0, 1] -> uint8 frames [N * tubelet, H, W, 3]."""
    if x.ndim == 5:
        x = x.reshape(-1, *x.shape[2:])
    return (x.detach().clamp(0, 1).mul(255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy())


def resize_frames(
    frames: np.ndarray, crop_box: tuple[int, int, int, int], size: tuple[int, int]
) -> torch.Tensor:
    """Crop uint8 frames [T, H, W, 3] to ``crop_box`` (x0, y0, x1, y1) and resize to ``size``.

    Returns float32 [T, 3, size[0], size[1]] in [0, 1], resized like the encoders'
    preprocessing (bicubic with antialiasing, clamped).
    """
    x0, y0, x1, y1 = crop_box
    x = torch.from_numpy(np.ascontiguousarray(frames[:, y0:y1, x0:x1]))
    x = x.permute(0, 3, 1, 2).float() / 255.0
    if tuple(x.shape[-2:]) != tuple(size):
        x = F.interpolate(x, size=size, mode="bicubic", align_corners=False, antialias=True).clamp_(0, 1)
    return x.contiguous()


def target_frames(
    frames: np.ndarray,
    features: PatchFeatures,
    rows: dict[int, int] | None = None,
) -> torch.Tensor:
    """The real frames each latent of ``features`` covers, as the decoder should output them.

    Parameters
    ----------
    frames: uint8 [T, H, W, 3], the source frames.
    features: their features; ``features.frame_indices[t]`` name source frames.
    rows: source frame index -> row of ``frames`` (default: the index itself).

    Returns
    -------
    float32 [T', tubelet, 3, H_in, W_in] in [0, 1] at the encoder's input size; a tubelet
    with fewer real frames repeats its last one (as the encoders pad).
    """
    k = features.tubelet_size
    order: list[int] = []
    for covered in features.frame_indices:
        idx = [rows[i] if rows is not None else i for i in covered]
        idx += [idx[-1]] * (k - len(idx))
        order += idx
    x = resize_frames(frames[np.asarray(order)], features.crop_box, features.input_size)
    return x.reshape(len(features.frame_indices), k, *x.shape[1:])


def decoder_config_for(
    features: PatchFeatures, hidden: int = 128, n_res: int = 2, target: str = "raw", head: str = "patch"
) -> DecoderConfig:
    """A :class:`DecoderConfig` matching ``features``' grid, dim, patch and tubelet size."""
    _, h, w = features.grid
    return DecoderConfig(
        dim=features.dim,
        grid=(h, w),
        patch_size=features.patch_size,
        tubelet_size=features.tubelet_size,
        out_size=tuple(features.input_size),
        hidden=hidden,
        n_res=n_res,
        target=target,
        head=head,
    )


def flatten_steps(x: torch.Tensor, frame_indices: Sequence[Sequence[int]]) -> tuple[torch.Tensor, list[int]]:
    """Decoded [T', tubelet, 3, H, W] -> ([F, 3, H, W], source frame index per row), dropping padding."""
    out, idx = [], []
    for t, covered in enumerate(frame_indices):
        for j, f in enumerate(covered):
            out.append(x[t, j])
            idx.append(int(f))
    return torch.stack(out), idx
