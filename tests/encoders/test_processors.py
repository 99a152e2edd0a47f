"""Our "crop" preprocessing against the checkpoints' own transformers processors.

The hub is unreachable, so each processor is constructed locally with the parameters the
checkpoints' processor configs use:

- V-JEPA 2 (``VJEPA2VideoProcessor``): short side to int(crop * 256 / 224) (292 for 256,
  438 for 384), bilinear, centre crop, ImageNet mean/std;
- DINOv2 (``BitImageProcessor``): short side 256, bicubic, centre crop 224, ImageNet;
- DINOv3 (``DINOv3ViTImageProcessor``): resize to 224 x 224, bilinear, no crop (we keep
  the aspect and centre-crop instead: identical on square frames), ImageNet or SAT-493M.

Without torchvision (CI) the PIL backend of ``BitImageProcessor`` runs the same steps
(resize shortest edge or to a size, centre crop, rescale, normalise); with torchvision the
real V-JEPA 2 / DINOv3 classes are compared too.

Tolerance: the processors round the resized image to uint8 (up to half a grey level),
while we keep floats; torch's antialiased resampling uses PIL's filters. So each value may
differ by up to one grey level / 255 / the smallest std (0.224 for ImageNet: 0.0175).
We allow 1.15 levels for the maximum (0.020 for ImageNet) and 0.4 levels for the mean
(rounding errors average about a quarter level). Smooth test images: bicubic overshoot on pure noise is clamped differently by
PIL's two uint8 passes, which is not a difference that matters on video frames.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from transformers.image_utils import PILImageResampling
from transformers.models.bit.image_processing_pil_bit import BitImageProcessorPil

from jepa_studio.encoders.preprocess import IMAGENET_MEAN, IMAGENET_STD, preprocess_frames
from jepa_studio.encoders.registry import CHECKPOINTS, SAT493M_MEAN, SAT493M_STD



def tolerances(std) -> tuple[float, float]:
    """(max, mean) allowed differences: 1.15 and 0.4 grey levels in normalised units."""
    return 1.15 / 255 / min(std), 0.4 / 255 / min(std)


def smooth_image(h: int, w: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    small = torch.from_numpy(rng.uniform(0, 255, (1, 3, h // 8 + 1, w // 8 + 1)).astype(np.float32))
    big = F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)[0].permute(1, 2, 0)
    return big.clamp(0, 255).round().to(torch.uint8).numpy()


def pil_processor(size: dict, crop: int | None, resample: PILImageResampling, mean=IMAGENET_MEAN, std=IMAGENET_STD):
    return BitImageProcessorPil(
        size=size, crop_size={"height": crop, "width": crop} if crop else None, do_center_crop=crop is not None,
        resample=resample, image_mean=list(mean), image_std=list(std), do_convert_rgb=True,
    )


def compare(name: str, processor, image: np.ndarray) -> None:
    info = CHECKPOINTS[name]
    ref = torch.as_tensor(np.asarray(processor(image, return_tensors="np")["pixel_values"][0]))
    ours, _ = preprocess_frames(image[None], info.patch_size, info.trained_preprocessing)
    assert ours.shape[1:] == ref.shape
    diff = (ours[0] - ref).abs()
    max_tol, mean_tol = tolerances(info.trained_preprocessing.std)
    assert diff.max() < max_tol and diff.mean() < mean_tol, (name, image.shape, diff.max(), diff.mean())


SIZES = [(300, 400), (480, 640), (360, 360), (720, 1280), (400, 300)]


@pytest.mark.parametrize("h,w", SIZES)
def test_vjepa2_256(h, w) -> None:
    compare("vjepa2-vitl", pil_processor({"shortest_edge": 292}, 256, PILImageResampling.BILINEAR), smooth_image(h, w, 0))


@pytest.mark.parametrize("h,w", [(300, 400), (480, 640), (360, 360)])
def test_vjepa2_384(h, w) -> None:
    compare("vjepa2-vitg-384", pil_processor({"shortest_edge": 438}, 384, PILImageResampling.BILINEAR), smooth_image(h, w, 1))


def test_vjepa2_384_long_side_rounding() -> None:
    compare("vjepa2-vitg-384", pil_processor({"shortest_edge": 438}, 384, PILImageResampling.BILINEAR), smooth_image(720, 1280, 1))


@pytest.mark.parametrize("name", ["dinov2-small", "dinov2-reg-large"])
@pytest.mark.parametrize("h,w", SIZES)
def test_dinov2(name, h, w) -> None:
    compare(name, pil_processor({"shortest_edge": 256}, 224, PILImageResampling.BICUBIC), smooth_image(h, w, 2))


@pytest.mark.parametrize("name,mean,std", [("dinov3-vitb16", IMAGENET_MEAN, IMAGENET_STD),
                                           ("dinov3-vitl16-sat", SAT493M_MEAN, SAT493M_STD)])
@pytest.mark.parametrize("side", [224, 360, 500])
def test_dinov3_square_frames(name, mean, std, side) -> None:
    proc = pil_processor({"height": 224, "width": 224}, None, PILImageResampling.BILINEAR, mean, std)
    compare(name, proc, smooth_image(side, side, 3))


def test_real_torchvision_processors() -> None:
    pytest.importorskip("torchvision")
    from transformers import DINOv3ViTImageProcessor, VJEPA2VideoProcessor

    video = np.stack([smooth_image(300, 400, 4), smooth_image(300, 400, 5)])
    ref = VJEPA2VideoProcessor(crop_size=256)(list(video[None]), return_tensors="pt")["pixel_values_videos"][0]
    ours, _ = preprocess_frames(video, 16, CHECKPOINTS["vjepa2-vitl"].trained_preprocessing)
    assert ours.shape == ref.shape and (ours - ref).abs().max() < tolerances(IMAGENET_STD)[0]
    image = smooth_image(320, 320, 6)
    ref = DINOv3ViTImageProcessor()(image, return_tensors="pt")["pixel_values"][0]
    ours, _ = preprocess_frames(image[None], 16, CHECKPOINTS["dinov3-vits16"].trained_preprocessing)
    assert ours.shape[1:] == ref.shape and (ours[0] - ref).abs().max() < tolerances(IMAGENET_STD)[0]
