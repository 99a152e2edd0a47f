"""Any layer, with or without the final norm, against transformers' own ``output_hidden_states``
for tiny saved models of every family; the choice is carried in PatchFeatures and labels."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from jepa_studio.analysis.masked_prediction import encoder_masked_prediction, reusable_encoding
from jepa_studio.analysis.masking import PixelMask
from jepa_studio.encoders.registry import load_encoder
from jepa_studio.errors import EncoderError

#: each family's final norm module, and the input side (2 x 2 patches, the generic models'
#: own image size, so transformers needs no position interpolation)
NORM = {"dinov2": "layernorm", "dinov2-reg": "layernorm", "dinov3": "norm", "vit": "layernorm",
        "deit": "layernorm", "ijepa": "layernorm", "siglip": "post_layernorm"}
SIDE = {"dinov2": 28, "dinov2-reg": 28}
#: (layer, final_norm) settings; the tiny models have 2 blocks, so hidden_states has 3 entries
SETTINGS = [(0, False), (0, True), (1, False), (1, True), ("last", False), ("last", True), (-2, True), ("2", False)]


pytestmark = pytest.mark.usefixtures("one_thread")


def _index(layer) -> int:
    return {"last": 2, -2: 1, "2": 2}.get(layer, layer)


@pytest.mark.parametrize("family", list(NORM))
def test_image_encoder_layers_equal_hidden_states(family, save_tiny, tiny_model, frames) -> None:
    side = SIDE.get(family, 32)
    enc = load_encoder(str(save_tiny(family)), device="cpu", resolution=side)
    clip = frames(2, side, side, seed=1)
    reference = tiny_model(family)  # the same seeded weights, built here
    with torch.no_grad():
        out = reference(pixel_values=enc.prepare(clip).pixels, output_hidden_states=True)
    assert len(out.hidden_states) == 3
    torch.testing.assert_close(getattr(reference, NORM[family])(out.hidden_states[-1]), out.last_hidden_state)
    p = enc.num_prefix
    for layer, normed in SETTINGS:
        enc.layer, enc.final_norm = layer, normed
        feats = enc.encode(clip)
        want = out.hidden_states[_index(layer)]
        if normed:
            with torch.no_grad():
                want = getattr(reference, NORM[family])(want)
        torch.testing.assert_close(feats.tokens, want[:, p:].reshape(2, 2, 2, 32), atol=1e-5, rtol=1e-5)
        assert feats.layer == ("last" if _index(layer) == 2 else _index(layer)) and feats.normed == normed


def test_vjepa2_layers_equal_hidden_states(save_tiny, tiny_model, frames) -> None:
    enc = load_encoder(str(save_tiny("vjepa2")), device="cpu", resolution=32)
    clip = frames(4, 32, 32, seed=2)  # the model's own square 2 x 2 grid: transformers' positions are right
    reference = tiny_model("vjepa2")
    x = enc.prepare(clip).pixels[None]
    with torch.no_grad():
        out = reference(x, skip_predictor=True, output_hidden_states=True)
    assert len(out.hidden_states) == 3
    for layer, normed in SETTINGS:
        enc.layer, enc.final_norm = layer, normed
        want = out.hidden_states[_index(layer)]
        if normed:
            with torch.no_grad():
                want = reference.encoder.layernorm(want)
        torch.testing.assert_close(enc.encode(clip).tokens, want.reshape(2, 2, 2, 32), atol=1e-5, rtol=1e-5)
    enc.layer, enc.final_norm = "last", True
    torch.testing.assert_close(enc.encode(clip).tokens, out.last_hidden_state.reshape(2, 2, 2, 32), atol=1e-5, rtol=1e-5)


def test_layer_settings_through_load_encoder_and_labels(save_tiny, frames) -> None:
    folder = save_tiny("dinov3")
    default = load_encoder(str(folder), device="cpu", resolution=32).encode(frames(1, 32, 32))
    assert default.layer == "last" and default.normed and default.label == f"dinov3 ({folder}) [random weights]"
    pre = load_encoder(str(folder), device="cpu", resolution=32, final_norm=False).encode(frames(1, 32, 32))
    assert not torch.allclose(pre.tokens, default.tokens)
    assert pre.label == f"dinov3 ({folder}) [no final norm] [random weights]"
    mid = load_encoder(str(folder), device="cpu", resolution=32, layer=1, final_norm=False).encode(frames(1, 32, 32))
    assert mid.layer == 1 and mid.label.endswith("[layer 1, no final norm] [random weights]")
    from jepa_studio.export import encoder_row_label

    assert "layer 1, no final norm" in encoder_row_label(mid).splitlines()
    last = load_encoder(str(folder), device="cpu", layer=2)  # the last block by its index
    assert last.layer == "last" and last.layer_tag == ""


def test_bad_layers_are_refused(save_tiny) -> None:
    folder = str(save_tiny("vjepa2"))
    for layer in (3, -4, "top", 1.5, True):
        with pytest.raises(EncoderError, match=rf"has no layer {layer!r}: choose 0 \(the patch embeddings\) to 2"):
            load_encoder(folder, device="cpu", layer=layer)
    with pytest.raises(EncoderError, match="no layers or final norm"):
        load_encoder("pixels", layer=3)
    enc = load_encoder(folder, device="cpu")
    with pytest.raises(EncoderError, match="has no layer 7"):
        enc.layer = 7
    assert enc.layer == "last"


def test_masked_prediction_reads_the_final_output_whatever_the_layer(save_tiny, frames) -> None:
    folder = str(save_tiny("vjepa2"))
    clip = frames(4, 32, 32, seed=3)
    pixels = np.zeros((32, 32), bool)
    pixels[:16, :16] = True
    mask = PixelMask(pixels)
    default = load_encoder(folder, device="cpu", resolution=32)
    early = load_encoder(folder, device="cpu", resolution=32, layer=1, final_norm=False)
    a = encoder_masked_prediction(default, clip, mask)
    b = encoder_masked_prediction(early, clip, mask)
    torch.testing.assert_close(a.true.predicted, b.true.predicted, rtol=0, atol=0)
    torch.testing.assert_close(a.true.target, b.true.target, rtol=0, atol=0)
    # another layer's features cannot stand for the predictor's targets; the default's can
    hidden = a.true.hidden.shape
    assert reusable_encoding(early.encode(clip), hidden, 4, early.window) is None
    feats = default.encode(clip)
    assert reusable_encoding(feats, hidden, 4, default.window) is feats.tokens
    assert reusable_encoding(feats, hidden, 4, 2) is None  # more frames than one window


def test_layer_count_defaults_to_the_config_class(save_tiny) -> None:
    # config.json files written by older transformers leave out values equal to the class
    # defaults (DINOv2: 12 blocks); the layer check must not read a missing count as 0
    import json

    folder = save_tiny("dinov2", num_hidden_layers=12)
    config = json.loads((folder / "config.json").read_text())
    del config["num_hidden_layers"]
    (folder / "config.json").write_text(json.dumps(config))
    assert load_encoder(str(folder), device="cpu", layer=8).layer == 8
    with pytest.raises(EncoderError, match="has no layer 13: choose 0 .* to 12"):
        load_encoder(str(folder), device="cpu", layer=13)
