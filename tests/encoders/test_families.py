"""The encoder-family registry and the predictor protocol masked prediction reaches families through."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from jepa_studio.encoders.base import Encoder
from jepa_studio.encoders.families import FAMILIES, family_for_model_type, family_of_model, supported_model_types
from jepa_studio.encoders.predictor import TokenPredictor, has_predictor, predictor_of
from jepa_studio.encoders.preprocess import Preprocessing
from jepa_studio.errors import EncoderError, UsageError
from tests.tiny_models import TINY


def test_every_family_is_registered_with_real_transformers_classes(tiny_model) -> None:
    assert list(FAMILIES) == ["vjepa2", "dinov2", "dinov2-reg", "dinov3", "vit", "deit", "ijepa", "siglip"]
    assert len(supported_model_types()) == len(set(supported_model_types()))
    prep = Preprocessing(short_side=32)
    for name, family in FAMILIES.items():
        model = tiny_model(name)
        assert isinstance(model, family.model_class()) and isinstance(model.config, family.config_class())
        assert family_of_model(model) is family and family_for_model_type(model.config.model_type) is family
        encoder = family.make_encoder(model, window=2, name=name, checkpoint="here", pretrained=False,
                                      device=torch.device("cpu"), dtype=torch.float32, preprocessing=prep,
                                      trained_preprocessing=prep)
        assert isinstance(encoder, Encoder) and encoder.tubelet_size == family.tubelet_size
        assert encoder.window == 2 and encoder.weights_note == "random weights"
    assert set(TINY) == set(FAMILIES)
    assert family_for_model_type("bert") is None and family_of_model(SimpleNamespace()) is None


def test_window_rules() -> None:
    FAMILIES["dinov2"].check_window(3)
    FAMILIES["vjepa2"].check_window(4)
    with pytest.raises(EncoderError, match="positive even number of frames, not 3"):
        FAMILIES["vjepa2"].check_window(3)
    with pytest.raises(EncoderError, match="positive number of frames, not 0"):
        FAMILIES["vit"].check_window(0)


def test_predictor_of_and_its_two_messages(tiny_model) -> None:
    vjepa = tiny_model("vjepa2")
    encoder = SimpleNamespace(name="vjepa2-tiny", pretrained=False, model=vjepa)
    predictor = predictor_of(encoder)
    assert isinstance(predictor, TokenPredictor) and predictor_of(predictor) is predictor
    assert predictor_of(vjepa).model is vjepa and has_predictor(encoder) and has_predictor(vjepa)
    x = torch.randn(1, 4, 3, 32, 48)
    assert predictor.token_grid(x) == (2, 2, 3)
    assert predictor.encode_tokens(x, torch.tensor([0, 5, 11])).shape == (1, 3, 32)
    dino = SimpleNamespace(name="dinov2-small", model=tiny_model("dinov2"))
    assert not has_predictor(dino)
    with pytest.raises(UsageError, match="dinov2-small has no predictor: .* inpainting instead"):
        predictor_of(dino)
    vjepa.predictor = None  # what loading does when the checkpoint holds no predictor weights
    assert has_predictor(encoder)  # a V-JEPA 2, whose masked prediction says why it cannot run
    with pytest.raises(UsageError, match=r"vjepa2-tiny \[random weights\]: its checkpoint holds no predictor "
                                         r"weights; masked prediction needs the full V-JEPA 2 checkpoint"):
        predictor_of(encoder)
