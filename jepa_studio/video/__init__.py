"""Video in and out: frame-accurate reading (files and image folders) and writing.

>>> from jepa_studio.video import open_video
>>> with open_video("clip.mp4") as video:          # doctest: +SKIP
...     frame = video[10]                            # uint8 [H, W, 3]
...     clip = video.clip(0, 16, stride=2)           # uint8 [16, H, W, 3]
"""

from jepa_studio.video.info import VideoInfo
from jepa_studio.video.reader import Video, open_video
from jepa_studio.video.writer import save_image, write_video

__all__ = ["Video", "VideoInfo", "open_video", "save_image", "write_video"]
