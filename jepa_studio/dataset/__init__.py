"""Dataset-scale extraction: features of many videos into one folder, locally or on Ray.

>>> from jepa_studio import extract_dataset
>>> rows = extract_dataset(["videos/"], "vjepa2-vitl", "features/")              # doctest: +SKIP
>>> rows = extract_dataset(["videos/"], "vjepa2-vitl", "features/", engine="ray")  # doctest: +SKIP

Modules: :mod:`.inputs` (which videos, their names), :mod:`.settings` (what a run asks for,
what counts as done), :mod:`.stream` (one video streamed to one file), :mod:`.local` and
:mod:`.ray_engine` (the engines), :mod:`.shards` (long videos in clip ranges),
:mod:`.manifest`, :mod:`.output_dir` (lock, stale partial files), :mod:`.progress`, and
:mod:`.run` (:func:`extract_dataset`). Ray is imported only by the Ray engine.
"""

from .run import extract_dataset
from .settings import EncoderRequest, ExtractSettings

__all__ = ["EncoderRequest", "ExtractSettings", "extract_dataset"]
