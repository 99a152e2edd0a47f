"""The surprise timeline without Qt: which encoder and method, and the request they make."""

from __future__ import annotations

from dataclasses import dataclass

from .events import Observable, Options
from .requests import SurpriseRequest
from .session import Session

#: methods a user can pick ("" chooses: the predictor when the encoder has one, else copy)
METHOD_CHOICES = ("", "predictor", "copy", "velocity")


@dataclass(frozen=True)
class SurpriseOptions:
    """encoder: "" picks the first V-JEPA 2 of the session's encoders, else the first;
    method: one of :data:`METHOD_CHOICES`; k: steps predicted at once; context: steps of
    context (predictor); stride: score every n-th step (long videos); show_pane: a pane with
    the per-patch surprise of the playhead's step."""

    encoder: str = ""
    method: str = ""
    k: int = 1
    context: int = 7
    stride: int = 1
    show_pane: bool = True

    def __post_init__(self) -> None:
        if self.method not in METHOD_CHOICES:
            raise ValueError(f"method must be one of {METHOD_CHOICES}, not {self.method!r}")
        if self.k < 1 or self.context < 1 or self.stride < 1:
            raise ValueError("k, context and stride must be at least 1")


class SurpriseState(Observable):
    """The surprise timeline's options for the session's video."""

    def __init__(self, session: Session, options: SurpriseOptions | None = None) -> None:
        super().__init__()
        self.session = session
        self.options: Options[SurpriseOptions] = Options(options or SurpriseOptions())

    @property
    def encoder(self) -> str | None:
        """The chosen encoder when the session shows it, else the first V-JEPA 2, else the first."""
        names = self.session.encoders
        if self.options.encoder in names:
            return self.options.encoder
        preferred = [n for n in names if "vjepa" in n.lower()]
        return (preferred or list(names) or [None])[0]

    def request(self, video_key: str) -> SurpriseRequest | None:
        """The whole video's surprise for the chosen encoder (None without a video or encoder)."""
        s, o = self.session, self.options.value
        encoder = self.encoder
        if s.video is None or encoder is None:
            return None
        return SurpriseRequest(video_key, encoder, s.n_frames, o.method or None, o.k, o.context, o.stride,
                               s.device, s.resolution)
