"""The side panel: map kind, PCA settings, overlay, clip window. Writes to the Session."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ... import maps
from ...state.session import Session
from ...state.view import Reading, ViewSettings
from ..shell.wheel import ignore_wheel_unless_focused

#: the layer combo box's suggestions (any whole number can be typed)
LAYER_CHOICES = ("last", "-2", "-4", "-8", "0", "4", "8", "12", "16")
BASIS_LABELS = {"frame": "per frame", "clip": "per clip", "session": "shared (session)"}


class ControlPanel(QWidget):
    """Widgets bound to ``session`` both ways (they follow its ``view`` and ``clip`` events)."""

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self._updating = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(10)

        map_box = QGroupBox("Map")
        form = QFormLayout(map_box)
        self.map_kind = QComboBox()
        for kind in maps.KINDS.values():
            self.map_kind.addItem(kind.label, kind.name)
        form.addRow("Show", self.map_kind)
        self.clusters = QSpinBox()
        self.clusters.setRange(2, 20)
        self.clusters.setToolTip("k of the k-means map: how many clusters the clip's patches fall into")
        form.addRow("Clusters", self.clusters)
        self.centred = QCheckBox("Centred similarity")
        self.centred.setToolTip("remove the clip's mean feature first, so raw-pixel panes stay readable (C)")
        form.addRow(self.centred)
        self.hint = QLabel("Click a patch in any pane to see its similarity.")
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: #8c8f94;")
        form.addRow(self.hint)
        layout.addWidget(map_box)

        pca = QGroupBox("PCA")
        form = QFormLayout(pca)
        self.basis = QComboBox()
        for key, text in BASIS_LABELS.items():
            self.basis.addItem(text, key)
        form.addRow("Basis", self.basis)
        row = QHBoxLayout()
        self.channels: list[QSpinBox] = []
        for name in "RGB":
            spin = QSpinBox()
            spin.setRange(1, 16)  # shown 1-based, as the CLI's --components 1,2,3; stored 0-based
            spin.setPrefix(f"{name} ")
            spin.setToolTip(f"principal component shown in {name} (1 = first)")
            self.channels.append(spin)
            row.addWidget(spin)
        form.addRow("R, G, B", row)
        self.foreground = QCheckBox("Foreground only")
        self.threshold = QSlider(Qt.Orientation.Horizontal)
        self.threshold.setRange(0, 100)
        self.threshold.setValue(50)
        self.threshold_label = QLabel("0.50")
        row = QHBoxLayout()
        row.addWidget(self.threshold)
        row.addWidget(self.threshold_label)
        form.addRow(self.foreground)
        form.addRow("Threshold", row)
        layout.addWidget(pca)

        overlay = QGroupBox("Overlay")
        form = QFormLayout(overlay)
        self.overlay = QCheckBox("Map over the frame")
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        form.addRow(self.overlay)
        form.addRow("Opacity", self.opacity)
        layout.addWidget(overlay)

        clip = QGroupBox("Clip window")
        form = QFormLayout(clip)
        self.frames_per_clip = QSpinBox()
        self.frames_per_clip.setRange(1, 128)
        self.frames_per_clip.setToolTip("frames the encoders see at once (V-JEPA 2: tubelets of 2)")
        self.stride = QSpinBox()
        self.stride.setRange(1, 32)
        self.stride.setToolTip("take every n-th frame")
        self.resolution = QSpinBox()
        self.resolution.setRange(0, 1024)
        self.resolution.setSingleStep(16)
        self.resolution.setSpecialValueText("encoder default")
        self.resolution.setSuffix(" px")
        self.resolution.setToolTip("short side of the encoders' input in pixels (0: each encoder's default)")
        form.addRow("Frames", self.frames_per_clip)
        form.addRow("Stride", self.stride)
        form.addRow("Resolution", self.resolution)
        layout.addWidget(clip)

        encoders = QGroupBox("Layer")
        form = QFormLayout(encoders)
        self.layer = QComboBox()
        self.layer.setEditable(True)
        self.layer.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        for text in LAYER_CHOICES:
            self.layer.addItem(text)
        self.layer.setToolTip(
            "which block's output the panes show: last, a block number (0: the patch embeddings), "
            "or a negative number counted from the last block (-4: four blocks before it, for every encoder)"
        )
        self.final_norm = QCheckBox("Final norm")
        self.final_norm.setToolTip("apply the model's final layer norm (DINOv3's raw last block is ~76x larger)")
        form.addRow("Block", self.layer)
        form.addRow(self.final_norm)
        layout.addWidget(encoders)
        layout.addStretch(1)
        ignore_wheel_unless_focused(self)

        self.refresh()
        self.map_kind.currentIndexChanged.connect(self._commit)
        self.basis.currentIndexChanged.connect(self._commit)
        for spin in self.channels:
            spin.valueChanged.connect(self._commit)
        self.foreground.toggled.connect(self._commit)
        self.centred.toggled.connect(self._commit)
        self.clusters.valueChanged.connect(self._commit)
        self.threshold.valueChanged.connect(self._commit)
        self.overlay.toggled.connect(self._commit)
        self.opacity.valueChanged.connect(self._commit)
        self.frames_per_clip.valueChanged.connect(self._commit_clip)
        self.stride.valueChanged.connect(self._commit_clip)
        self.resolution.editingFinished.connect(self._commit_resolution)
        self.layer.activated.connect(lambda _i: self._commit_reading())
        self.layer.lineEdit().editingFinished.connect(self._commit_reading)
        self.final_norm.toggled.connect(lambda _on: self._commit_reading())
        session.subscribe(self._on_state)

    def _on_state(self, name: str, value: object) -> None:
        if name in ("view", "clip", "resolution", "reading"):
            self.refresh()

    def refresh(self) -> None:
        """Show the session's current settings."""
        self._updating = True
        try:
            view: ViewSettings = self.session.view
            self.map_kind.setCurrentIndex(self.map_kind.findData(view.map_kind))
            self.basis.setCurrentIndex(self.basis.findData(view.basis))
            for spin, c in zip(self.channels, view.channels):
                spin.setValue(c + 1)
            self.foreground.setChecked(view.foreground_threshold is not None)
            if view.foreground_threshold is not None:
                self.threshold.setValue(int(round(view.foreground_threshold * 100)))
            self.threshold.setEnabled(view.foreground_threshold is not None)
            self.threshold_label.setText(f"{self.threshold.value() / 100:.2f}")
            self.overlay.setChecked(view.overlay)
            self.opacity.setValue(int(round(view.overlay_opacity * 100)))
            self.opacity.setEnabled(view.overlay)
            self.centred.setChecked(view.centred)
            self.clusters.setValue(view.clusters)
            self.clusters.setEnabled("clusters" in maps.get(view.map_kind).params)
            self.centred.setEnabled(maps.get(view.map_kind).needs_query)
            pca = maps.get(view.map_kind).uses_pca
            for w in (self.basis, *self.channels, self.foreground):
                w.setEnabled(pca)
            self.threshold.setEnabled(pca and view.foreground_threshold is not None)
            self.frames_per_clip.setValue(self.session.clip.frames_per_clip)
            self.stride.setValue(self.session.clip.stride)
            self.resolution.setValue(self.session.resolution or 0)
            reading = self.session.reading
            self.layer.setEditText(str(reading.layer))
            self.final_norm.setChecked(reading.final_norm)
        finally:
            self._updating = False

    def _commit(self) -> None:
        if self._updating:
            return
        self.session.update_view(
            map_kind=self.map_kind.currentData(),
            basis=self.basis.currentData(),
            channels=tuple(s.value() - 1 for s in self.channels),
            foreground_threshold=self.threshold.value() / 100 if self.foreground.isChecked() else None,
            overlay=self.overlay.isChecked(),
            overlay_opacity=self.opacity.value() / 100,
            centred=self.centred.isChecked(),
            clusters=self.clusters.value(),
        )

    def _commit_reading(self) -> None:
        if self._updating:
            return
        try:
            reading = Reading.parse(self.layer.currentText(), self.final_norm.isChecked())
        except ValueError:
            self.refresh()  # not a layer: show the session's again
            return
        self.session.set_reading(reading)

    def _commit_resolution(self) -> None:
        if not self._updating:
            self.session.set_resolution(self.resolution.value() or None)

    def _commit_clip(self) -> None:
        if not self._updating:
            self.session.set_clip(self.frames_per_clip.value(), self.stride.value())
