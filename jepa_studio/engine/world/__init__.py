"""World models in the studio window, computed on the engine's GPU lane. No Qt.

:class:`~.engine.WorldEngine` drives :mod:`jepa_studio.world` for the window: training in
slices that yield to the panes, reconstructions and rollouts at the playhead
(:mod:`.views`), decoded masked predictions, checkpoints with their sidecars
(:mod:`.checkpoints`) and the comparison (:mod:`.comparison`). Every latent comes from
:mod:`.data` in the run's latent mode. Results leave as the messages of :mod:`.messages`.
"""

from ...state.world import DataSpec, WorldSettings
from .checkpoints import SIDECAR, StudioWorld, checkpoint_folders, data_key, read_sidecar, write_sidecar
from .engine import WorldEngine
from .messages import (
    CompareDone,
    CompareProgress,
    MaskDecoded,
    Reconstruction,
    RolloutView,
    WorldProgress,
    WorldReady,
    WorldRunDone,
)

__all__ = [
    "SIDECAR",
    "CompareDone",
    "CompareProgress",
    "DataSpec",
    "MaskDecoded",
    "Reconstruction",
    "RolloutView",
    "StudioWorld",
    "WorldEngine",
    "WorldProgress",
    "WorldReady",
    "WorldRunDone",
    "WorldSettings",
    "checkpoint_folders",
    "data_key",
    "read_sidecar",
    "write_sidecar",
]
