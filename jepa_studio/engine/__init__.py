"""Background work without Qt: lanes (latest-wins worker threads), the studio engine, maps."""

from .lane import CancelToken, Cancelled, Lane
from .messages import (
    ErrorReport,
    FrameReady,
    PaneError,
    PaneImage,
    Progress,
    Status,
    TaskDone,
    VideoOpened,
)
from ..state.requests import ViewRequest
from ..state.requests import make_request
from .studio import StudioEngine

__all__ = [
    "CancelToken",
    "Cancelled",
    "ErrorReport",
    "FrameReady",
    "Lane",
    "PaneError",
    "PaneImage",
    "Progress",
    "Status",
    "StudioEngine",
    "TaskDone",
    "VideoOpened",
    "ViewRequest",
    "make_request",
]
