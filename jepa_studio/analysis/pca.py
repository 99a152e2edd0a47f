"""PCA of patch features, and its mapping to RGB images.

One function fits a basis (:func:`fit_pca`) on one clip, one time step, or many clips at
once (a shared basis); the :class:`PatchPCA` it returns projects any features of the same
dimension and turns three chosen components into uint8 RGB with robust (percentile)
scaling. Everything runs in torch on the features' device.

Conventions that make colours comparable and reproducible:

- Components are orthonormal rows sorted by decreasing variance; each component's sign is
  fixed so that its largest-magnitude loading is positive (scikit-learn's convention
  since 1.5), so the same features in any token order give the same colours.
- ``explained_variance`` uses the unbiased (N - 1) normalisation and
  ``explained_variance_ratio`` divides by the *total* variance, as scikit-learn does.
- Colour scaling maps the ``percentiles`` of each component's projections on the fit
  data to 0 and 255 and clips outside, so a few outlier tokens do not wash out the map.
- ``align_to`` flips signs to match a reference basis instead (per-frame bases while
  scrubbing keep their colours from one frame to the next).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal, Sequence

import numpy as np
import torch

from ..encoders.base import PatchFeatures
from ..errors import UsageError

FeaturesLike = PatchFeatures | torch.Tensor

# Rows per chunk when accumulating the covariance: bounds the centred copy to
# about 32 MiB of float32 whatever the clip length.
_CHUNK_ELEMENTS = 8 * 1024 * 1024


@dataclass(frozen=True, eq=False)
class ForegroundInfo:
    """How tokens were split into foreground and background (the DINOv2-demo recipe).

    A first PCA is fitted on all tokens; a token is foreground when its first-component
    projection, scaled to [0, 1] by the ``low``/``high`` percentiles of that first fit,
    is above ``threshold``. ``component`` is oriented so that foreground is the high side.

    Attributes
    ----------
    threshold: the threshold in [0, 1].
    mean: float32 [D], mean of the first fit.
    component: float32 [D], its first component, oriented (may be the negated
        sign-convention component, see ``flipped``).
    low, high: robust range of the oriented first-component projections.
    flipped: True when the first component was negated so that foreground is the high side.
    fraction: fraction of fit tokens that were foreground.
    """

    threshold: float
    mean: torch.Tensor
    component: torch.Tensor
    low: float
    high: float
    flipped: bool
    fraction: float

    def scores(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens [..., D] -> float32 [...]: first-component value scaled to [0, 1] (clipped)."""
        x = tokens.to(device=self.mean.device, dtype=torch.float32)
        proj = (x - self.mean) @ self.component
        span = max(self.high - self.low, 1e-12)
        return ((proj - self.low) / span).clamp_(0.0, 1.0)

    def to(self, device: torch.device | str) -> "ForegroundInfo":
        """A copy with tensors on ``device``."""
        return replace(self, mean=self.mean.to(device), component=self.component.to(device))


@dataclass(frozen=True, eq=False)
class PatchPCA:
    """A fitted PCA basis for D-dim patch tokens.

    Attributes
    ----------
    mean: float32 [D], mean token of the fit data.
    components: float32 [k, D], orthonormal rows, decreasing variance, deterministic signs.
    explained_variance: float32 [k], variance along each component (N - 1 normalisation).
    explained_variance_ratio: float32 [k], ``explained_variance`` over the total variance.
    low, high: float32 [k], the robust range (``percentiles``) of each component's
        projections on the fit data; ``to_rgb`` maps it to [0, 255].
    foreground: how foreground was chosen, or None when no threshold was set.
    n_samples: number of tokens the basis was fitted on.
    percentiles: the (low, high) percentiles used for ``low`` and ``high``.
    """

    mean: torch.Tensor
    components: torch.Tensor
    explained_variance: torch.Tensor
    explained_variance_ratio: torch.Tensor
    low: torch.Tensor
    high: torch.Tensor
    foreground: ForegroundInfo | None = None
    n_samples: int = 0
    percentiles: tuple[float, float] = (1.0, 99.0)

    @property
    def n_components(self) -> int:
        """k, the number of components."""
        return int(self.components.shape[0])

    @property
    def dim(self) -> int:
        """D, the token dimension."""
        return int(self.components.shape[1])

    @property
    def device(self) -> torch.device:
        """Where the basis lives."""
        return self.components.device

    def to(self, device: torch.device | str) -> "PatchPCA":
        """A copy with every tensor on ``device``."""
        return replace(
            self,
            mean=self.mean.to(device),
            components=self.components.to(device),
            explained_variance=self.explained_variance.to(device),
            explained_variance_ratio=self.explained_variance_ratio.to(device),
            low=self.low.to(device),
            high=self.high.to(device),
            foreground=None if self.foreground is None else self.foreground.to(device),
        )

    def _tokens(self, x: FeaturesLike) -> torch.Tensor:
        tokens = x.tokens if isinstance(x, PatchFeatures) else x
        if not isinstance(tokens, torch.Tensor):
            tokens = torch.as_tensor(np.asarray(tokens))
        if tokens.shape[-1] != self.dim:
            raise UsageError(
                f"these features have {tokens.shape[-1]} dimensions but the PCA basis was fitted "
                f"on {self.dim}-dimensional features; fit a basis on features of this encoder"
            )
        return tokens

    def transform(self, x: FeaturesLike) -> torch.Tensor:
        """Project tokens onto the components.

        Parameters
        ----------
        x: PatchFeatures (tokens [T', h, w, D]) or a tensor [..., D].

        Returns
        -------
        float32 tensor [T', h, w, k] (or [..., k]) on the features' device.
        """
        tokens = self._tokens(x)
        dev = tokens.device
        mean = self.mean.to(dev)
        comps = self.components.to(dev)
        return (tokens.to(torch.float32) - mean) @ comps.T

    def foreground_mask(self, x: FeaturesLike) -> np.ndarray:
        """bool [T', h, w] (or [...]) : True for foreground tokens; all True without a threshold."""
        tokens = self._tokens(x)
        if self.foreground is None:
            return np.ones(tuple(tokens.shape[:-1]), dtype=bool)
        fg = self.foreground.to(tokens.device)
        return (fg.scores(tokens) > fg.threshold).cpu().numpy()

    def scaled(self, x: FeaturesLike, channels: Sequence[int] | None = None) -> torch.Tensor:
        """Projections scaled by ``low``/``high`` to [0, 1] and clipped.

        Returns float32 [..., len(channels)] (all k components when ``channels`` is None).
        """
        proj = self.transform(x)
        idx = list(range(self.n_components)) if channels is None else [int(c) for c in channels]
        for c in idx:
            if not 0 <= c < self.n_components:
                raise UsageError(
                    f"component {c} does not exist: this basis has components 0 to {self.n_components - 1}"
                )
        sel = torch.tensor(idx, device=proj.device)
        low = self.low.to(proj.device)[sel]
        span = (self.high.to(proj.device)[sel] - low).clamp_min(1e-12)
        return ((proj[..., sel] - low) / span).clamp_(0.0, 1.0)

    def to_rgb(self, x: FeaturesLike, channels: tuple[int, int, int] = (0, 1, 2)) -> np.ndarray:
        """Three components as colours.

        Parameters
        ----------
        x: PatchFeatures (tokens [T', h, w, D]) or a tensor [..., D].
        channels: which components go to red, green and blue.

        Returns
        -------
        uint8 numpy array [T', h, w, 3] (or [..., 3]); background tokens are black when
        the basis was fitted with a foreground threshold.
        """
        if len(channels) != 3:
            raise UsageError(f"give three components for red, green and blue, not {len(channels)}")
        values = self.scaled(x, channels)
        rgb = (values * 255.0).round_().to(torch.uint8)
        if self.foreground is not None:
            fg = self.foreground.to(values.device)
            keep = fg.scores(self._tokens(x)) > fg.threshold
            rgb = rgb * keep.unsqueeze(-1).to(torch.uint8)
        return np.ascontiguousarray(rgb.cpu().numpy())


def _flatten(features: FeaturesLike | Sequence[FeaturesLike]) -> torch.Tensor:
    """All tokens as one [N, D] tensor (on the first input's device)."""
    if isinstance(features, PatchFeatures):
        tokens = features.tokens
        return tokens.reshape(-1, tokens.shape[-1])
    if isinstance(features, np.ndarray):
        features = torch.from_numpy(features)
    if isinstance(features, torch.Tensor):
        if features.ndim < 1:
            raise UsageError("PCA needs tokens of shape [..., D]")
        return features.reshape(-1, features.shape[-1])
    items = list(features)
    if not items:
        raise UsageError("PCA needs at least one set of features")
    parts = [_flatten(item) for item in items]
    dims = {int(p.shape[-1]) for p in parts}
    if len(dims) != 1:
        raise UsageError(
            f"a shared PCA basis needs features of one dimension, got {sorted(dims)}: "
            "fit one basis per encoder"
        )
    device = parts[0].device
    return torch.cat([p.to(device) for p in parts], dim=0)


def _percentiles(values: torch.Tensor, qs: Sequence[float]) -> list[torch.Tensor]:
    """Percentiles along dim 0 with numpy's default (linear) interpolation.

    values: [N, k] -> one [k] tensor per percentile in ``qs`` (one sort for all;
    torch.quantile refuses inputs over 2**24 elements).
    """
    n = values.shape[0]
    s, _ = torch.sort(values, dim=0)
    out = []
    for q in qs:
        pos = (float(q) / 100.0) * (n - 1)
        lo = int(np.floor(pos))
        hi = min(lo + 1, n - 1)
        out.append(s[lo] + (s[hi] - s[lo]) * (pos - lo))
    return out


def _apply_cov_factory(xc: torch.Tensor | None, cov64: torch.Tensor | None, n: int):
    """v [D, q] float64 -> C v, with C the covariance, from whichever form we hold."""
    if cov64 is not None:
        return lambda v: cov64 @ v
    assert xc is not None
    x64 = xc.to(torch.float64)
    return lambda v: x64.T @ (x64 @ v) / (n - 1)


def _covariance64(x: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
    """Unnormalised covariance sum_i (x_i - mean)(x_i - mean)^T, float64 [D, D].

    Rows go in chunks (the centred float32 copy stays small); within a chunk only the
    upper block triangle is multiplied (a hand-made SYRK: about 60 % of a full GEMM's
    work, torch having no SYRK), each block product in float32 and summed in float64.
    """
    n, d = x.shape
    rows = max(1024, _CHUNK_ELEMENTS // max(d, 1))
    n_blocks = 1 if d < 512 else 8 if d >= 1024 else 4
    edges = [i * d // n_blocks for i in range(n_blocks + 1)]
    cov = torch.zeros(d, d, dtype=torch.float64, device=x.device)
    for chunk in x.split(rows, dim=0):
        c = chunk.to(torch.float32) - mean
        for a, b in zip(edges[:-1], edges[1:]):
            cov[a:b, a:] += c[:, a:b].T @ c[:, a:]
    if n_blocks > 1:
        cov = torch.triu(cov) + torch.triu(cov, 1).T
    return cov


def _ritz(matrix: torch.Tensor, basis: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Rayleigh-Ritz on the orthonormal basis [m, q]: values (decreasing) and vectors [m, q]."""
    small = basis.T @ (matrix @ basis)
    small = (small + small.T) / 2
    w, s = torch.linalg.eigh(small)
    return w.flip(0), basis @ s.flip(1)


def _top_eigvecs(matrix64: torch.Tensor, q: int, k: int) -> torch.Tensor:
    """Approximate top-q eigenvectors [m, q] of a symmetric PSD float64 matrix [m, m].

    Small matrices: a full float32 eigh. Larger ones: block subspace iteration in float32
    from a seeded random start, with a Rayleigh-Ritz check of the top-k residuals every few
    steps (O(m^2 q) per step against the O(m^3) of a full eigh, and real features have
    decaying spectra, so it converges in a few dozen steps); if it has not converged
    (flat spectrum) it falls back to the full eigh. The caller polishes in float64.
    """
    m = matrix64.shape[0]
    mat = matrix64.to(torch.float32)
    if m <= 512:
        return torch.linalg.eigh(mat)[1][:, -q:].flip(-1)
    block = min(m, q + 12)
    gen = torch.Generator(device="cpu").manual_seed(0)
    v = torch.randn(m, block, generator=gen).to(mat.device)
    v = torch.linalg.qr(v).Q
    for step in range(1, 61):
        v = torch.linalg.qr(mat @ v).Q
        if step % 4 == 0:
            theta, u = _ritz(mat, v)
            resid = torch.linalg.vector_norm(mat @ u[:, :k] - u[:, :k] * theta[:k], dim=0)
            if float(resid.max()) <= 1e-5 * max(float(theta[0]), 1e-30):
                return u[:, :q]
            # errors shrink by about theta[block - 1] / theta[k - 1] per step: when that
            # will not reach the tolerance within the step budget, stop now
            rate = float(theta[-1]) / max(float(theta[k - 1]), 1e-30)
            if rate >= 1.0 or (60 - step) * np.log(max(rate, 1e-30)) > np.log(1e-6):
                break
            v = u
    return torch.linalg.eigh(mat)[1][:, -q:].flip(-1)


def _top_eigenpairs(x: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, float]:
    """Mean, top-k eigenvectors and eigenvalues of the covariance of x [N, D].

    Returns mean float32 [D], components float64 [k, D], variances float64 [k], and the
    total variance (trace of the covariance) as a float.

    Precision and speed. The O(N D^2) product is done in float32 (fast on CPU and GPU
    alike, float64 matrix products being 2x slower on CPU and up to 64x slower on consumer
    GPUs), on centred chunks of rows, each chunk's D x D result summed in float64: this
    avoids the cancellation of "E[x x^T] - mean mean^T" and the error growth of one long
    float32 sum. The top eigenvectors of the small matrix (D x D, or the N x N Gram matrix
    when there are fewer tokens than dimensions) are found in float32 on the device, then
    polished by float64 subspace-iteration and Rayleigh-Ritz steps on the top few vectors,
    which cost O(D^2 k) each (cheap in float64 even on a GPU) and bring eigenvalues and
    vectors to float64-level agreement with an exact SVD (scikit-learn's reference) for
    components with a clear gap. (On CUDA, if the caller enabled TF32 matrix products, the
    covariance itself carries TF32's ~1e-3 relative error; PyTorch's default keeps them off.)
    """
    n, d = x.shape
    rows = max(1024, _CHUNK_ELEMENTS // max(d, 1))
    # float32 chunk sums (torch sums pairwise), accumulated in float64: 10x faster than
    # summing in float64 and as accurate here
    mean64 = sum(c.to(torch.float32).sum(dim=0).to(torch.float64) for c in x.split(rows, dim=0)) / n
    mean = mean64.to(torch.float32)
    q = min(k + 4, min(n, d))
    cov64: torch.Tensor | None = None
    xc: torch.Tensor | None = None
    if n >= d:
        cov64 = _covariance64(x, mean) / (n - 1)
        total = float(torch.diagonal(cov64).sum())
        v = _top_eigvecs(cov64, q, k)  # [D, q]
    else:
        xc = x.to(torch.float32) - mean
        gram = (xc @ xc.T).to(torch.float64)  # [N, N]
        total = float(torch.diagonal(gram).sum()) / (n - 1)
        u = _top_eigvecs(gram, q, k)  # [N, q]
        v = xc.T @ u  # [D, q], unnormalised right singular vectors
    apply_cov = _apply_cov_factory(xc, cov64, n)
    # float64 polish: subspace iteration and Rayleigh-Ritz until the top-k residuals are
    # at float64 round-off (a clear gap: 1 or 2 steps), at most 8 steps.
    v64 = torch.linalg.qr(v.to(torch.float64)).Q
    for _ in range(8):
        cv = apply_cov(v64)
        v64 = torch.linalg.qr(cv).Q
        small = v64.T @ apply_cov(v64)
        small = (small + small.T) / 2
        w, s = torch.linalg.eigh(small)
        w, s = w.flip(0), s.flip(1)
        v64 = v64 @ s
        resid = torch.linalg.vector_norm(apply_cov(v64[:, :k]) - v64[:, :k] * w[:k], dim=0)
        if float(resid.max()) <= 1e-9 * max(float(w[0]), 1e-300):
            break
    vals = w[:k].clamp_min(0.0)
    vecs = v64[:, :k].T.contiguous()  # [k, D]
    return mean, vecs, vals, total


def _fix_signs(components: torch.Tensor) -> torch.Tensor:
    """Make each row's largest-magnitude entry positive (scikit-learn's svd_flip on V)."""
    idx = components.abs().argmax(dim=1)
    signs = torch.sign(components.gather(1, idx[:, None]))
    signs[signs == 0] = 1
    return components * signs


def _align_signs(components: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Flip each row of components to point the same way as the same row of reference."""
    m = min(components.shape[0], reference.shape[0])
    dots = (components[:m] * reference[:m].to(components)).sum(dim=1)
    signs = torch.ones(components.shape[0], dtype=components.dtype, device=components.device)
    signs[:m] = torch.where(dots < 0, -1.0, 1.0).to(components.dtype)
    return components * signs[:, None]


def _fit_basis(
    x: torch.Tensor, k: int, percentiles: tuple[float, float], align_to: PatchPCA | None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    mean, comps64, var64, total = _top_eigenpairs(x, k)
    comps64 = _fix_signs(comps64)
    if align_to is not None:
        comps64 = _align_signs(comps64, align_to.components.to(comps64.device, torch.float64))
    comps = comps64.to(torch.float32)
    var = var64.to(torch.float32)
    ratio = (var64 / total if total > 0 else torch.zeros_like(var64)).to(torch.float32)
    proj = x.to(torch.float32) @ comps.T - mean @ comps.T  # [N, k], no centred copy of x
    low, high = _percentiles(proj, percentiles)
    return mean, comps, var, ratio, low, high


def fit_pca(
    features: FeaturesLike | Sequence[FeaturesLike],
    n_components: int = 3,
    *,
    foreground_threshold: float | None = None,
    foreground_side: Literal["auto", "high", "low"] = "auto",
    max_tokens: int | None = None,
    seed: int = 0,
    percentiles: tuple[float, float] = (1.0, 99.0),
    align_to: PatchPCA | None = None,
) -> PatchPCA:
    """Fit a PCA basis on patch tokens.

    Parameters
    ----------
    features:
        PatchFeatures (tokens [T', h, w, D]), a tensor [..., D], or a sequence of either:
        all their tokens are pooled into one shared basis. The fit runs on the (first)
        features' device.
    n_components:
        k, the number of components kept (at least 3 for ``to_rgb`` with the default channels).
    foreground_threshold:
        None for no foreground split. Otherwise a value in [0, 1]: a first basis is fitted
        on all tokens, the first-component projections are scaled to [0, 1] by their
        percentiles, the tokens above the threshold are foreground, and the returned basis
        is refitted on the foreground tokens only (``to_rgb`` draws background black).
    foreground_side:
        which side of the first component is foreground: ``"high"`` (the sign convention's
        positive side), ``"low"``, or ``"auto"`` (the side holding fewer tokens, since
        objects usually cover less of the frame than the background).
    max_tokens:
        fit on a random subset of this many tokens (seeded by ``seed``) when there are more.
    seed:
        seed of that subset.
    percentiles:
        (low, high) percentiles of each component's projections mapped to 0 and 255.
    align_to:
        a reference basis of the same dimension: each component's sign is flipped to point
        the same way as the reference's component of the same index (instead of the
        largest-loading convention), so colours stay put from one frame's basis to the next.

    Returns
    -------
    PatchPCA on the features' device.
    """
    x = _flatten(features)
    if not torch.is_floating_point(x):
        x = x.to(torch.float32)
    n, d = int(x.shape[0]), int(x.shape[1])
    if n_components < 1:
        raise UsageError(f"n_components must be at least 1, not {n_components}")
    if n < 2:
        raise UsageError(f"PCA needs at least 2 tokens, got {n}")
    if n_components > min(n, d):
        raise UsageError(
            f"cannot fit {n_components} components on {n} tokens of dimension {d}: "
            f"use at most {min(n, d)} components or more tokens"
        )
    lo_p, hi_p = float(percentiles[0]), float(percentiles[1])
    if not 0.0 <= lo_p < hi_p <= 100.0:
        raise UsageError(f"percentiles must satisfy 0 <= low < high <= 100, got {percentiles}")
    if align_to is not None and align_to.dim != d:
        raise UsageError(f"cannot align a {d}-dimensional basis to a {align_to.dim}-dimensional one")
    if max_tokens is not None and n > max_tokens:
        if max_tokens < 2:
            raise UsageError(f"max_tokens must be at least 2, not {max_tokens}")
        gen = torch.Generator(device="cpu").manual_seed(int(seed))
        idx = torch.randperm(n, generator=gen)[:max_tokens].sort().values
        x = x[idx.to(x.device)]
        n = int(max_tokens)
    pct = (lo_p, hi_p)

    fg_info: ForegroundInfo | None = None
    if foreground_threshold is not None:
        thr = float(foreground_threshold)
        if not 0.0 <= thr <= 1.0:
            raise UsageError(f"the foreground threshold must be between 0 and 1, not {thr}")
        if foreground_side not in ("auto", "high", "low"):
            raise UsageError(f"foreground_side must be 'auto', 'high' or 'low', not {foreground_side!r}")
        mean0, comps0, _, _, low0, high0 = _fit_basis(x, 1, pct, None)
        comp = comps0[0]
        proj = (x.to(torch.float32) - mean0) @ comp
        lo, hi = float(low0[0]), float(high0[0])
        scores = ((proj - lo) / max(hi - lo, 1e-12)).clamp(0.0, 1.0)
        keep = scores > thr
        flipped = foreground_side == "low"
        if foreground_side == "auto":
            flipped = bool(keep.float().mean() > 0.5)
        if flipped:
            comp = -comp
            lo, hi = -hi, -lo
            scores = 1.0 - scores
            keep = scores > thr
        n_fg = int(keep.sum())
        if n_fg < max(2, n_components):
            raise UsageError(
                f"only {n_fg} tokens are above the foreground threshold {thr:g}: lower the threshold"
            )
        fg_info = ForegroundInfo(
            threshold=thr, mean=mean0, component=comp, low=lo, high=hi, flipped=flipped, fraction=n_fg / n
        )
        x = x[keep]
        n = n_fg
        if n_components > min(n, d):
            raise UsageError(
                f"cannot fit {n_components} components on the {n} foreground tokens: lower the threshold"
            )

    mean, comps, var, ratio, low, high = _fit_basis(x, n_components, pct, align_to)
    return PatchPCA(
        mean=mean,
        components=comps,
        explained_variance=var,
        explained_variance_ratio=ratio,
        low=low,
        high=high,
        foreground=fg_info,
        n_samples=n,
        percentiles=pct,
    )


def fit_frame_bases(
    features: PatchFeatures,
    n_components: int = 3,
    *,
    foreground_threshold: float | None = None,
    reference: PatchPCA | None = None,
    **kwargs,
) -> list[PatchPCA]:
    """One basis per time step, signs chained: step t is aligned to step t - 1.

    The first step is aligned to ``reference`` when given (else it keeps the sign
    convention). Extra keyword arguments go to :func:`fit_pca`.

    Returns a list of T' PatchPCA.
    """
    bases: list[PatchPCA] = []
    prev = reference
    for t in range(features.tokens.shape[0]):
        basis = fit_pca(
            features.tokens[t],
            n_components,
            foreground_threshold=foreground_threshold,
            align_to=prev,
            **kwargs,
        )
        bases.append(basis)
        prev = basis
    return bases


def pca_map(
    features: PatchFeatures,
    basis: Literal["frame", "clip"] = "clip",
    n_components: int = 3,
    channels: tuple[int, int, int] = (0, 1, 2),
    foreground_threshold: float | None = None,
    reference: PatchPCA | None = None,
) -> tuple[np.ndarray, list[PatchPCA]]:
    """PCA colours of a clip and the bases behind them: the one way features become PCA RGB.

    ``"clip"`` fits one basis on the whole clip (``reference``, when given, is used instead
    of fitting); ``"frame"`` fits one per time step, each sign-aligned to the previous one
    (the first to ``reference``) so colours do not flip while the content changes slowly.

    Returns
    -------
    (uint8 [T', h, w, 3], the bases: one for ``"clip"``, T' for ``"frame"``).
    """
    if basis == "clip":
        pca = reference or fit_pca(features, n_components, foreground_threshold=foreground_threshold)
        return pca.to_rgb(features, channels), [pca]
    if basis != "frame":
        raise UsageError(f"basis must be 'frame' or 'clip', not {basis!r}")
    bases = fit_frame_bases(features, n_components, foreground_threshold=foreground_threshold, reference=reference)
    frames = [b.to_rgb(features.tokens[t], channels) for t, b in enumerate(bases)]
    return np.ascontiguousarray(np.stack(frames, axis=0)), bases
