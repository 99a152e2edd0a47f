"""What the encoder panes show: PCA settings, map kind, overlay, similarity query."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .. import maps

Basis = Literal["frame", "clip", "session"]

BASES: tuple[str, ...] = ("frame", "clip", "session")


@dataclass(frozen=True)
class ViewSettings:
    """How each encoder pane turns features into an image. Hashable (keys render caches).

    Attributes
    ----------
    map_kind:
        a name of :data:`jepa_studio.maps.KINDS`: ``"pca"`` (components to RGB),
        ``"difference"`` (||z[t+1] - z[t]|| per patch), ``"similarity"`` (cosine similarity
        to the patch under ``query``), ...
    basis:
        PCA fitted per frame (time step), per clip, or once per session and encoder.
    channels:
        which principal components go to R, G and B (0-based).
    foreground_threshold:
        None, or a threshold on the first component below which patches are background.
    overlay:
        draw the map over the frame; ``overlay_opacity`` in [0, 1] is the map's opacity.
    query:
        (x, y, frame): the similarity query patch, at pixel (x, y) of source frame
        ``frame``, or None.
    centred:
        similarity of centred features (the clip's mean token removed), so raw-pixel
        baselines, whose patches are all alike, stay readable.
    clusters:
        k of the k-means map.
    """

    map_kind: str = "pca"
    basis: Basis = "clip"
    channels: tuple[int, int, int] = (0, 1, 2)
    foreground_threshold: float | None = None
    overlay: bool = False
    overlay_opacity: float = 0.6
    query: tuple[float, float, int] | None = None
    centred: bool = False
    clusters: int = 8

    def __post_init__(self) -> None:
        maps.get(self.map_kind)  # ValueError naming the known kinds
        if self.basis not in BASES:
            raise ValueError(f"PCA basis must be one of {BASES}, not {self.basis!r}")
        if len(self.channels) != 3 or min(self.channels) < 0:
            raise ValueError("channels must be three non-negative component indices")
        if not 0.0 <= self.overlay_opacity <= 1.0:
            raise ValueError("overlay opacity must be in [0, 1]")
        if not 2 <= self.clusters <= 20:
            raise ValueError("k-means needs 2 to 20 clusters")

    def render_key(self) -> tuple:
        """The part of the settings that changes the map's pixels (overlay does not)."""
        return maps.get(self.map_kind).render_key(self)


@dataclass(frozen=True)
class Reading:
    """Which output of each encoder the panes read: ``layer`` (``"last"``, or a block index;
    negative counts from the last block, so ``-4`` means the same depth fraction for
    encoders of any size) and whether the model's final norm is applied. Pixel baselines
    have one "layer" and ignore it. Hashable (keys caches)."""

    layer: str | int = "last"
    final_norm: bool = True

    def __post_init__(self) -> None:
        if self.layer != "last" and not (isinstance(self.layer, int) and not isinstance(self.layer, bool)):
            raise ValueError(f"layer must be 'last' or a whole number, not {self.layer!r}")

    @classmethod
    def parse(cls, text: str, final_norm: bool = True) -> "Reading":
        """From what a user types: ``"last"``, ``"8"``, ``"-4"`` (ValueError otherwise)."""
        text = str(text).strip().lower()
        if text in ("", "last"):
            return cls("last", final_norm)
        try:
            return cls(int(text.split()[0]), final_norm)
        except ValueError:
            raise ValueError(f"a layer is 'last' or a whole number such as 8 or -4, not {text!r}") from None

    @property
    def default(self) -> bool:
        """The encoders' own output: the last block with the final norm."""
        return self.layer == "last" and self.final_norm
