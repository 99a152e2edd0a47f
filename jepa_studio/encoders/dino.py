"""The DINO families: DINOv2, DINOv2 with registers and DINOv3.

``last_hidden_state`` [B, 1 + R + h*w, D] holds the CLS token, then R register tokens
(R = 0 for DINOv2, ``config.num_register_tokens`` for DINOv2 with registers (4) and
DINOv3 (4)), then the patch tokens in row-major order.

Any input size works: DINOv2 interpolates its learned position embeddings (bicubic) to the
h x w grid, DINOv3 uses RoPE on normalised patch coordinates, so non-square full-frame
inputs are fine (tests check the token layout on a non-square grid).
"""

from __future__ import annotations

from .family import resize_preprocessing
from .image_encoder import ImageEncoder, ImageFamily
from .preprocess import Preprocessing

#: ``BitImageProcessor`` of the DINOv2 checkpoints: short side 256, bicubic, centre crop 224
DINOV2_PREP = Preprocessing(mode="crop", short_side=256, crop_size=224, interpolation="bicubic")
#: ``DINOv3ViTImageProcessor`` resizes to 224 x 224 (squashing non-square frames); we keep the
#: aspect and centre-crop instead, which is identical on square frames and keeps geometry.
DINOV3_PREP = resize_preprocessing(224)

#: the class of the DINO encoders (an :class:`~.image_encoder.ImageEncoder`; the name is kept)
DinoEncoder = ImageEncoder


DINOV2 = ImageFamily(
    name="dinov2", model_types=("dinov2",), model_class_name="Dinov2Model", config_class_name="Dinov2Config",
    title="DINOv2", trained_size=lambda config: DINOV2_PREP,
)
DINOV2_REG = ImageFamily(
    name="dinov2-reg", model_types=("dinov2_with_registers",), model_class_name="Dinov2WithRegistersModel",
    config_class_name="Dinov2WithRegistersConfig", title="DINOv2 with registers", trained_size=lambda config: DINOV2_PREP,
)
DINOV3 = ImageFamily(
    name="dinov3", model_types=("dinov3_vit",), model_class_name="DINOv3ViTModel", config_class_name="DINOv3ViTConfig",
    title="DINOv3", norm="norm", trained_size=lambda config: DINOV3_PREP,
)

FAMILIES = (DINOV2, DINOV2_REG, DINOV3)
