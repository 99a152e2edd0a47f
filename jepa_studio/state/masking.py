"""Masking without Qt: the options of the masked-prediction panes, the mask document of the
open video, mask mode, and the request they make.

The masking panel binds its widgets to :class:`MaskingState`; the CLI and tests drive the
same object. Listeners hear ``("mode", on)``, ``("document", doc)`` and
``("request", id)`` (the id of the latest request sent to the engine, so other features can
tell a current masked view from a stale one); option changes are heard on
``state.options`` (an :class:`~.events.Options`).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..analysis.inpaint import FILLS
from ..analysis.masking import PixelMask, TokenGrid, preset_mask
from ..encoders.base import group_frame_indices
from .events import Observable, Options
from .mask import MaskDocument
from .requests import MaskRequest
from .session import Session


@dataclass(frozen=True)
class MaskingOptions:
    """How the masked panes are computed.

    encoder: the encoder whose prediction is shown ("" picks the first V-JEPA 2 of the
        session's encoders, else the first); leaky: also show V-JEPA 2's leaky variant;
    fill: how encoders without a predictor fill hidden pixels; threshold: a token is hidden
        when more than this fraction of its pixels is masked; future_steps: k of the
        "future" preset;
    show_full, show_predicted, show_error: which masked panes show in mask mode;
    show_encoders: keep the encoder panes in mask mode (off: the frame gets their room to
        paint in).
    """

    encoder: str = ""
    leaky: bool = True
    fill: str = "blur"
    threshold: float = 0.0
    future_steps: int = 1
    show_full: bool = True
    show_predicted: bool = True
    show_error: bool = True
    show_encoders: bool = False

    def pane_keys(self, variants: int) -> list[str]:
        """The masked panes to show when the view has ``variants`` variants (2: with the
        leaky one): keys of ``full``, ``predicted``, ``error``, ``leaky_predicted``, ``leaky_error``."""
        keys = [k for k, on in (("full", self.show_full), ("predicted", self.show_predicted),
                                ("error", self.show_error)) if on]
        if variants > 1:
            keys += [f"leaky_{k}" for k in ("predicted", "error") if k in keys]
        return keys

    def __post_init__(self) -> None:
        if self.fill not in FILLS:
            raise ValueError(f"fill must be one of {FILLS}, not {self.fill!r}")
        if not 0.0 <= self.threshold < 1.0:
            raise ValueError(f"the token threshold must be in [0, 1), not {self.threshold}")
        if self.future_steps < 1:
            raise ValueError("future_steps must be at least 1")


class MaskingState(Observable):
    """Masking of the session's open video (see the module docstring).

    Parameters
    ----------
    session: the window's session (video, playhead, clip window, encoders, view).
    """

    def __init__(self, session: Session, options: MaskingOptions | None = None) -> None:
        super().__init__()
        self.session = session
        self.options: Options[MaskingOptions] = Options(options or MaskingOptions())
        self.document = MaskDocument(1, 1)
        self.mode = False
        #: the id of the latest masked-prediction request sent to the engine
        self.latest = 0
        #: source frames per time step of the chosen encoder (known once its grid is)
        self.tubelet_size = 2
        #: the chosen encoder's token grid, once known (presets are drawn in its tokens)
        self.grid: TokenGrid | None = None

    def set_mode(self, on: bool) -> None:
        """Mask mode on (painting, masked panes) or off."""
        if bool(on) != self.mode:
            self.mode = bool(on)
            self._emit("mode", self.mode)

    def set_document(self, document: MaskDocument) -> None:
        """A new document (another video, a restored mask)."""
        self.document = document
        self._emit("document", document)

    @property
    def hides_encoder_panes(self) -> bool:
        """True while mask mode gives the encoder panes' room to the frame."""
        return self.mode and not self.options.show_encoders

    def set_latest(self, request_id: int) -> None:
        self.latest = int(request_id)
        self._emit("request", self.latest)

    @property
    def encoder(self) -> str | None:
        """The encoder whose masked prediction is shown: the chosen one when the session shows
        it, else the first V-JEPA 2, else the first encoder; None without encoders."""
        names = self.session.encoders
        if self.options.encoder in names:
            return self.options.encoder
        preferred = [n for n in names if "vjepa" in n.lower()]
        return (preferred or list(names) or [None])[0]

    def request(self, video_key: str) -> MaskRequest | None:
        """The request for the clip around the playhead (None without a video, an encoder,
        or a mask of the video's size)."""
        s = self.session
        encoder = self.encoder
        if s.video is None or encoder is None or self.document.size != (s.video.size[1], s.video.size[0]):
            return None
        o = self.options.value
        return MaskRequest(
            video_key=video_key,
            frames=s.clip_frames(),
            encoder=encoder,
            mask=self.document.to_pixel_mask(),
            device=s.device,
            resolution=s.resolution,
            fill=o.fill,
            threshold=o.threshold,
            leaky=o.leaky,
            channels=s.view.channels,
        )

    def clip_steps(self) -> tuple[tuple[int, ...], ...]:
        """The time steps of the clip around the playhead (the source frames each covers)."""
        return group_frame_indices(self.session.clip_frames(), self.tubelet_size)

    def preset(self, name: str) -> PixelMask:
        """The preset mask ``name`` for the clip around the playhead (UsageError when it cannot be)."""
        return preset_mask(
            name, self.document.size, self.session.clip_frames(),
            future_steps=self.options.future_steps, tubelet_size=self.tubelet_size, grid=self.grid,
        )

    def apply_preset(self, name: str) -> None:
        """Replace the mask with preset ``name`` (one undo step) and turn mask mode on."""
        mask = self.preset(name)
        self.document.set_mask(mask.pixels, mask.frames)
        self.set_mode(True)
