"""Text in exports: characters the bundled font lacks are written in ASCII, never as boxes."""

from __future__ import annotations

import numpy as np

from jepa_studio.render.text import draw_text, printable, text_size


def test_missing_glyphs_get_ascii_stand_ins() -> None:
    assert printable("frames 12–13 · step → next") == "frames 12-13 · step -> next"  # "·" is in the font
    assert printable("plain ascii") == "plain ascii"
    assert printable("\u4e2d") == "?"  # no glyph, no stand-in


def test_drawn_text_matches_its_stand_in() -> None:
    canvas = np.zeros((30, 200, 3), np.uint8)
    dash = draw_text(canvas, "frames 12–13", (2, 2))
    hyphen = draw_text(canvas, "frames 12-13", (2, 2))
    np.testing.assert_array_equal(dash, hyphen)  # not the missing-glyph box
    assert text_size("12–13") == text_size("12-13")


def test_charts_write_greek_targets_legibly() -> None:
    """The probe chart's θ and ω were boxes: a legible draw writes their names."""
    from PIL import Image, ImageDraw

    from jepa_studio.render.text import font, legible

    def drawn(text: str) -> np.ndarray:
        img = Image.new("RGB", (160, 24), (255, 255, 255))
        legible(ImageDraw.Draw(img)).text((2, 2), text, fill=(0, 0, 0), font=font(12))
        return np.asarray(img)

    assert printable("θ (mean), ω") == "theta (mean), omega"
    np.testing.assert_array_equal(drawn("θ (tokens)"), drawn("theta (tokens)"))
    draw = legible(ImageDraw.Draw(Image.new("RGB", (4, 4))))
    assert draw.textlength("ω", font=font(12)) == draw.textlength("omega", font=font(12))


def test_long_legend_labels_keep_both_ends() -> None:
    from PIL import Image, ImageDraw

    from jepa_studio.render.chart import fit_text
    from jepa_studio.render.text import font, legible

    draw = legible(ImageDraw.Draw(Image.new("RGB", (4, 4))))
    label = "vjepa2 (/tmp/walk/a/very/long/folder/tinyvj) [random weights]: const. velocity"
    short = fit_text(draw, label, font(12), 200)
    assert draw.textlength(short, font=font(12)) <= 200
    assert short.startswith("vjepa2") and short.endswith("velocity") and "…" in short
    assert fit_text(draw, "pixels: copy", font(12), 200) == "pixels: copy"
