"""Transition model: a small ViT over the patch tokens of H past time steps.

Tokens of time step ``t`` attend to every token of steps ``<= t`` (a block-causal mask), and
the output at step ``t`` predicts the (normalised) latents of step ``t + 1``: teacher forcing
trains all H positions at once. Optional actions are embedded and added to every patch token
of their time step (``actions[t]`` is the action of the transition ``t -> t + 1``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class TransitionConfig:
    """Architecture of a :class:`TransitionModel`.

    dim: latent dimension D; grid: (h, w) tokens per step; history: H, the most time steps
    seen at once; width, depth, heads, mlp_ratio: the ViT; action_dim: 0 for none;
    residual: predict ``z_t + delta`` (so an untrained model starts at "nothing moves").
    """

    dim: int
    grid: tuple[int, int]
    history: int = 4
    width: int = 128
    depth: int = 4
    heads: int = 4
    mlp_ratio: float = 4.0
    action_dim: int = 0
    residual: bool = True

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "TransitionConfig":
        data = dict(data)
        data["grid"] = tuple(data["grid"])
        return cls(**data)


def block_causal_mask(n_steps: int, tokens_per_step: int, device: torch.device | None = None) -> torch.Tensor:
    """bool [n*N, n*N]: entry (i, j) is True where token i may attend to token j (step(j) <= step(i))."""
    step = torch.arange(n_steps, device=device).repeat_interleave(tokens_per_step)
    return step[:, None] >= step[None, :]


class _Block(nn.Module):
    def __init__(self, width: int, heads: int, mlp_ratio: float) -> None:
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.norm2 = nn.LayerNorm(width)
        hidden = int(width * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(width, hidden), nn.GELU(), nn.Linear(hidden, width))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        q, k, v = self.qkv(self.norm1(x)).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        x = x + self.proj(a.transpose(1, 2).reshape(b, n, c))
        return x + self.mlp(self.norm2(x))


class TransitionModel(nn.Module):
    """Normalised latents [B, T, h, w, D] (T <= history) -> predictions of the next step, same shape."""

    def __init__(self, config: TransitionConfig) -> None:
        super().__init__()
        if config.width % config.heads:
            raise ValueError("width must be a multiple of heads")
        self.config = config
        h, w = config.grid
        self.inp = nn.Linear(config.dim, config.width)
        self.pos_space = nn.Parameter(torch.randn(h * w, config.width) * 0.02)
        self.pos_time = nn.Parameter(torch.randn(config.history, config.width) * 0.02)
        self.action = nn.Linear(config.action_dim, config.width) if config.action_dim else None
        self.blocks = nn.ModuleList(
            _Block(config.width, config.heads, config.mlp_ratio) for _ in range(config.depth)
        )
        self.norm = nn.LayerNorm(config.width)
        self.head = nn.Linear(config.width, config.dim)
        if config.residual:  # start as "nothing moves"
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)

    def forward(self, z: torch.Tensor, actions: torch.Tensor | None = None) -> torch.Tensor:
        """Predict step t+1 from steps <= t, for every t.

        Parameters
        ----------
        z: float [B, T, h, w, D], normalised latents, T <= history.
        actions: float [B, T, action_dim] (``actions[:, t]`` drives ``t -> t+1``), required
            exactly when the model was built with ``action_dim > 0``.

        Returns
        -------
        float [B, T, h, w, D]: ``out[:, t]`` predicts ``z[:, t + 1]``.
        """
        b, t, h, w, d = z.shape
        if t > self.config.history:
            raise ValueError(f"at most {self.config.history} time steps, got {t}")
        if (h, w) != tuple(self.config.grid) or d != self.config.dim:
            raise ValueError(f"expected a {self.config.grid} grid of {self.config.dim}-dim tokens, got {(h, w, d)}")
        n = h * w
        x = self.inp(z.reshape(b, t, n, d))
        x = x + self.pos_space[None, None] + self.pos_time[:t][None, :, None]
        if self.action is not None:
            if actions is None:
                raise ValueError("this transition model needs actions")
            x = x + self.action(actions.to(x))[:, :, None, :]
        x = x.reshape(b, t * n, -1)
        mask = block_causal_mask(t, n, x.device)
        for block in self.blocks:
            x = block(x, mask)
        out = self.head(self.norm(x)).reshape(b, t, h, w, d)
        return z + out if self.config.residual else out
