"""k-means clusters of patch features as a colour map, with colours that stay put.

:func:`fit_kmeans` fits scikit-learn's k-means on a clip's tokens (all time steps at once,
so a cluster has one colour through the clip). Tokens are centred (the clip's mean token
removed) and scaled to unit length first, so clusters follow directions in feature space,
as cosine similarity does (``normalize=False`` clusters the raw tokens).

Colours are chosen so they do not jump:

- without a reference, clusters are ordered by size (largest first, ties broken by the
  centre's first principal coordinate) and take the palette in that order, so refitting
  the same clip (any seed) gives the same colours;
- ``reference=`` a model of the same encoder (the previous clip, another session): each
  cluster takes the colour of the reference cluster it is matched to, by Hungarian
  matching of the centres (``scipy.optimize.linear_sum_assignment`` on squared distances);
- :meth:`PatchKMeans.matched_by_overlap` matches across *encoders* (panes), whose
  features cannot be compared: by how much the two label maps overlap on the source frame.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np
import torch

from ..encoders.base import PatchFeatures
from ..errors import UsageError

#: cluster colours (Kelly's and Tableau's distinct colours), cycled beyond 20 clusters
CLUSTER_COLOURS = np.array(
    [
        (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
        (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207),
        (174, 199, 232), (255, 187, 120), (152, 223, 138), (255, 152, 150), (197, 176, 213),
        (196, 156, 148), (247, 182, 210), (199, 199, 199), (219, 219, 141), (158, 218, 229),
    ],
    dtype=np.uint8,
)


#: rows labelled at a time by :meth:`PatchKMeans.predict`
_PREDICT_ROWS = 65536


def palette(n: int) -> np.ndarray:
    """uint8 [n, 3]: the first ``n`` cluster colours (cycled)."""
    return CLUSTER_COLOURS[np.arange(n) % len(CLUSTER_COLOURS)]


@dataclass(frozen=True, eq=False)
class PatchKMeans:
    """A k-means model of D-dim patch tokens and the colour of each cluster.

    Attributes
    ----------
    centres: float32 [k, D], in the space tokens are clustered in (centred and unit
        length when ``normalize``).
    mean: float32 [D], the token mean removed before clustering (zeros without ``normalize``).
    normalize: whether tokens are centred and scaled to unit length.
    sizes: float64 [k], the fraction of fit tokens in each cluster.
    colour_index: int64 [k], the palette entry of each cluster.
    """

    centres: np.ndarray
    mean: np.ndarray
    normalize: bool
    sizes: np.ndarray
    colour_index: np.ndarray

    @property
    def k(self) -> int:
        """The number of clusters."""
        return int(self.centres.shape[0])

    @property
    def colours(self) -> np.ndarray:
        """uint8 [k, 3]: each cluster's colour."""
        return CLUSTER_COLOURS[self.colour_index % len(CLUSTER_COLOURS)]

    def predict(self, features: PatchFeatures | torch.Tensor) -> np.ndarray:
        """int64 [T', h, w] (or [...]): the nearest centre of every token."""
        tokens = features.tokens if isinstance(features, PatchFeatures) else features
        if tokens.shape[-1] != self.centres.shape[1]:
            raise UsageError(
                f"these features have {tokens.shape[-1]} dimensions but the clusters were fitted on "
                f"{self.centres.shape[1]}: fit clusters on this encoder's features"
            )
        rows = _as_rows(tokens)
        c = self.centres
        labels = np.empty(len(rows), dtype=np.int64)
        for start in range(0, len(rows), _PREDICT_ROWS):  # bounded copies, whatever the clip length
            x = _cluster_space(rows[start : start + _PREDICT_ROWS], self.mean, self.normalize)
            # |x|^2 is the same for every centre: the nearest centre maximises x.c - |c|^2 / 2
            labels[start : start + len(x)] = (x @ c.T - 0.5 * (c * c).sum(1)[None]).argmax(axis=1)
        return labels.reshape(tuple(tokens.shape[:-1]))

    def to_rgb(self, features: PatchFeatures | torch.Tensor) -> np.ndarray:
        """uint8 [T', h, w, 3] (or [..., 3]): each token in its cluster's colour."""
        return np.ascontiguousarray(self.colours[self.predict(features)])

    def recoloured(self, colour_index: np.ndarray) -> "PatchKMeans":
        """The same clusters with other colours."""
        return replace(self, colour_index=np.asarray(colour_index, dtype=np.int64))

    def matched_to(self, reference: "PatchKMeans") -> "PatchKMeans":
        """Each cluster coloured as the reference cluster whose centre is matched to it.

        Hungarian matching on squared distances between centres (same encoder, same D);
        clusters left over (when k differs) get colours the reference does not use.
        """
        if reference.centres.shape[1] != self.centres.shape[1]:
            raise UsageError("clusters of different encoders cannot be matched by their centres; match by overlap")
        a, b = self.centres, reference.centres
        cost = (a * a).sum(1)[:, None] - 2.0 * a @ b.T + (b * b).sum(1)[None]
        return self.recoloured(_assign(cost, reference.colour_index, self.k))

    def matched_by_overlap(
        self, labels: np.ndarray, reference: "PatchKMeans", reference_labels: np.ndarray
    ) -> "PatchKMeans":
        """Colours matched to another encoder's clusters by overlap on the same pixels.

        Parameters
        ----------
        labels, reference_labels: int [T', H', W'] label maps of the same frames, resampled
            to one common grid on the source frame (see :func:`labels_on_grid`).
        """
        if labels.shape != reference_labels.shape:
            raise UsageError(f"label maps {labels.shape} and {reference_labels.shape} are not on one grid")
        overlap = np.zeros((self.k, reference.k))
        np.add.at(overlap, (labels.ravel(), reference_labels.ravel()), 1.0)
        return self.recoloured(_assign(-overlap, reference.colour_index, self.k))


def _as_rows(tokens: torch.Tensor | np.ndarray) -> np.ndarray:
    """Tokens [..., D] as float32 numpy rows [N, D] on the CPU."""
    if isinstance(tokens, torch.Tensor):
        tokens = tokens.detach().to("cpu", torch.float32).numpy()
    x = np.asarray(tokens, dtype=np.float32)
    return x.reshape(-1, x.shape[-1])


def _cluster_space(x: np.ndarray, mean: np.ndarray, normalize: bool) -> np.ndarray:
    """Rows [N, D] as clustered: centred and unit length when ``normalize``."""
    if not normalize:
        return x
    x = x - mean
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _assign(cost: np.ndarray, reference_colours: np.ndarray, k: int) -> np.ndarray:
    """Palette entry per cluster: matched clusters take the reference's, others free entries."""
    from scipy.optimize import linear_sum_assignment

    rows, cols = linear_sum_assignment(cost)
    out = np.full(k, -1, dtype=np.int64)
    out[rows] = np.asarray(reference_colours)[cols]
    used = set(int(v) for v in reference_colours)
    free = (i for i in range(10 * (k + len(used))) if i not in used)
    for i in range(k):
        if out[i] < 0:
            out[i] = next(free)
    return out


def labels_on_grid(
    labels: np.ndarray, crop_box: Sequence[int], box: Sequence[int], size: tuple[int, int]
) -> np.ndarray:
    """Resample a label map [T', h, w] (covering ``crop_box`` of the source frame) to a
    ``size`` = (H', W') grid of sample points spread over ``box`` (x0, y0, x1, y1), nearest.

    Returns int64 [T', H', W'].
    """
    _, h, w = labels.shape
    x0, y0, x1, y1 = (float(v) for v in crop_box)
    bx0, by0, bx1, by1 = (float(v) for v in box)
    ys = by0 + (np.arange(size[0]) + 0.5) * (by1 - by0) / size[0]
    xs = bx0 + (np.arange(size[1]) + 0.5) * (bx1 - bx0) / size[1]
    rows = np.clip(((ys - y0) / (y1 - y0) * h).astype(np.int64), 0, h - 1)
    cols = np.clip(((xs - x0) / (x1 - x0) * w).astype(np.int64), 0, w - 1)
    return labels[:, rows[:, None], cols[None, :]]


def fit_kmeans(
    features: PatchFeatures | torch.Tensor,
    k: int = 8,
    *,
    seed: int = 0,
    max_tokens: int | None = 50_000,
    normalize: bool = True,
    reference: PatchKMeans | None = None,
) -> PatchKMeans:
    """Fit k-means on all the tokens of a clip.

    Parameters
    ----------
    features: PatchFeatures (tokens [T', h, w, D]) or a tensor [..., D].
    k: the number of clusters (at least 2).
    seed: seeds k-means++ and the token subset.
    max_tokens: fit on a random subset of this many tokens when there are more
        (every token is still labelled by :meth:`PatchKMeans.predict`).
    normalize: centre the tokens and scale them to unit length first.
    reference: colour clusters as the matched clusters of this model (same encoder).

    Returns
    -------
    :class:`PatchKMeans`.
    """
    from sklearn.cluster import KMeans

    tokens = features.tokens if isinstance(features, PatchFeatures) else features
    x = _as_rows(tokens)
    n, d = x.shape
    if k < 2:
        raise UsageError(f"k-means needs at least 2 clusters, not {k}")
    if n < k:
        raise UsageError(f"cannot fit {k} clusters on {n} tokens: use fewer clusters or more frames")
    mean = (x.mean(axis=0) if normalize else np.zeros(d)).astype(np.float32)
    space = _cluster_space(x, mean, normalize)
    rng = np.random.default_rng(seed)
    fit_x = space[np.sort(rng.choice(n, max_tokens, replace=False))] if max_tokens is not None and n > max_tokens else space
    km = KMeans(n_clusters=k, n_init=3, random_state=seed).fit(fit_x)
    centres = km.cluster_centers_.astype(np.float32)
    sizes = np.bincount(km.labels_, minlength=k) / len(fit_x)
    # canonical order: largest cluster first; ties by the centre's first principal coordinate
    centred = centres - centres.mean(0)
    first = np.linalg.svd(centred, full_matrices=False)[2][0] if k > 1 else np.zeros(d)
    first = first * np.sign(first[np.argmax(np.abs(first))] or 1.0)
    order = np.lexsort((-(centred @ first), -np.round(sizes, 6)))
    model = PatchKMeans(centres[order], mean, normalize, sizes[order], np.arange(k, dtype=np.int64))
    return model.matched_to(reference) if reference is not None else model


def kmeans_rgb(
    features: PatchFeatures, k: int = 8, reference: PatchKMeans | None = None, **kwargs
) -> tuple[np.ndarray, PatchKMeans]:
    """k-means colours of a clip: uint8 [T', h, w, 3] and the fitted model (keep it as the
    next clip's ``reference`` so colours stay put). Extra arguments go to :func:`fit_kmeans`."""
    model = fit_kmeans(features, k, reference=reference, **kwargs)
    return model.to_rgb(features), model
