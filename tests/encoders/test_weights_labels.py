"""Honest labels: what is known about the weights, from the encoder to its features and exports.

A known hub checkpoint is "pretrained (HUB_ID)", a folder "weights from FOLDER" (even
without the random-init marker we do not know it was trained), random weights "random
weights"; nothing is ever called "pretrained weights" just because it loaded.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from jepa_studio.encoders import loading
from jepa_studio.encoders.base import (
    NO_WEIGHTS,
    RANDOM_WEIGHTS,
    PatchFeatures,
    encoder_label,
    short_weights_note,
)
from jepa_studio.encoders.registry import load_encoder
from jepa_studio.export import encoder_row_label

HUB = "facebook/dinov3-vits16-pretrain-lvd1689m"


def _features(enc) -> PatchFeatures:
    return enc.encode(np.zeros((1, 32, 32, 3), np.uint8))


def test_each_source_is_labelled_by_what_is_known(monkeypatch, save_tiny) -> None:
    plain = save_tiny("dinov3", marker=False, name="plain")
    marked = save_tiny("dinov3", marker=True, name="marked")
    monkeypatch.setattr(loading, "snapshot_download", lambda repo_id, **kw: str(plain))
    cases = {
        "dinov3-vits16": f"pretrained ({HUB})",  # a registry name: a known hub checkpoint
        HUB: f"pretrained ({HUB})",  # its hub id
        "someone/some-dinov3": "weights from someone/some-dinov3",  # a hub id we know nothing about
        str(plain): f"weights from {plain}",  # a folder, no marker: not known to be trained
        str(marked): RANDOM_WEIGHTS,  # a folder marked random
    }
    for name, note in cases.items():
        enc = load_encoder(name, device="cpu", resolution=32)
        feats = _features(enc)
        assert enc.weights_note == feats.weights_note == note, name
        assert enc.pretrained == feats.pretrained == (note != RANDOM_WEIGHTS)
        row = encoder_row_label(feats)
        assert "pretrained weights" not in row
        assert ("RANDOM WEIGHTS" in row) == (note == RANDOM_WEIGHTS)
        assert feats.label.endswith("[random weights]") == (note == RANDOM_WEIGHTS)
        assert encoder_label(enc).endswith("[random weights]") == (note == RANDOM_WEIGHTS)
    folder_row = encoder_row_label(_features(load_encoder(str(plain), device="cpu", resolution=32))).splitlines()
    assert folder_row[1] == "weights from" and folder_row[2].startswith("...") and folder_row[2].endswith("/plain")
    hub_row = encoder_row_label(_features(load_encoder("dinov3-vits16", device="cpu", resolution=32))).splitlines()
    assert hub_row[:3] == ["dinov3-vits16", "pretrained", "...v3-vits16-pretrain-lvd1689m"]
    # building random weights here, from a known name or a folder
    assert load_encoder(str(plain), device="cpu", random_weights=True).weights_note == RANDOM_WEIGHTS
    assert load_encoder("dinov3-vits16", device="cpu", random_weights=True).weights_note == RANDOM_WEIGHTS


def test_pixel_baselines_have_no_weights() -> None:
    enc = load_encoder("pixels", resolution=32)
    feats = _features(enc)
    assert enc.weights_note == feats.weights_note == NO_WEIGHTS and feats.label == "pixels"
    assert encoder_row_label(feats).splitlines()[1] == NO_WEIGHTS


def test_features_derive_a_note_that_never_hides_random_weights() -> None:
    def make(checkpoint: str, pretrained: bool, note: str = "") -> PatchFeatures:
        return PatchFeatures(torch.zeros(1, 1, 1, 2), ((0,),), "enc", checkpoint, pretrained, 16, 1, (16, 16),
                             (0, 0, 16, 16), weights_note=note)

    assert make("/models/run", True).weights_note == "weights from /models/run"
    assert make("facebook/x", True, "pretrained (facebook/x)").weights_note == "pretrained (facebook/x)"
    assert make("facebook/x", False, "pretrained (facebook/x)").weights_note == RANDOM_WEIGHTS
    assert make("-", True).weights_note == NO_WEIGHTS


@pytest.mark.parametrize("note,short", [
    ("pretrained (facebook/dinov2-small)", "pretrained\nfacebook/dinov2-small"),
    ("weights from /home/me/checkpoints/run-42/step-1000", "weights from\n...heckpoints/run-42/step-1000"),
    ("weights from /a", "weights from /a"),
    (RANDOM_WEIGHTS, RANDOM_WEIGHTS),
])
def test_short_weights_note_keeps_the_kind_and_the_end(note: str, short: str) -> None:
    assert short_weights_note(note, 30) == short
