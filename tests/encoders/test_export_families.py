"""`jepa-studio export` with every encoder family (tiny random models loaded from folders)."""

import numpy as np
import pytest
from PIL import Image

from jepa_studio.cli import main
from jepa_studio.encoders import load_encoder
from jepa_studio.export import PcaView, comparison_image, encoder_row_label
from jepa_studio.video import open_video, write_video

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def video_path(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "clip.mp4"
    write_video(path, (rng.integers(0, 256, (48, 64, 3), dtype=np.uint8) for _ in range(8)), fps=8)
    return path


@pytest.mark.parametrize("family", ["vjepa2", "dinov2", "dinov2-reg", "dinov3", "vit", "deit", "ijepa", "siglip"])
def test_export_with_each_family_labels_random_weights(family, save_tiny, video_path, tmp_path, capsys):
    folder = save_tiny(family)
    encoder = load_encoder(str(folder), preprocessing="full", resolution=32)
    with open_video(video_path) as video:
        feats = encoder.encode(video.clip(0, 4), [0, 1, 2, 3])
        label = encoder_row_label(feats)
        assert "RANDOM WEIGHTS" in label and not feats.pretrained
        assert feats.tubelet_size == (2 if family == "vjepa2" else 1)
        image = comparison_image(video, [encoder], [0, 1, 2, 3], PcaView(), cell_width=64)
    assert image.ndim == 3 and image.dtype == np.uint8
    # the encoder row is drawn in the warning colour used for random weights
    orange = (np.abs(image.astype(int) - np.array([255, 170, 60])).sum(-1) < 60).sum()
    assert orange > 20
    out = tmp_path / f"{family}.png"
    code = main(["export", str(video_path), "--encoders", f"pixels,{folder}", "--frames", "0:4", "--out", str(out)])
    assert code == 0 and Image.open(out).size[0] > 0
