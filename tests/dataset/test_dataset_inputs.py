"""Which videos a dataset run finds, and the collision-free names of their features files."""

from __future__ import annotations

from pathlib import Path

import pytest

from jepa_studio.dataset.inputs import find_videos
from jepa_studio.errors import UsageError, VideoError


def touch(root: Path, *names: str) -> None:
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"x")


def names(items) -> list[str]:
    return [item.name for item in items]


def test_a_folder_is_searched_recursively_for_videos_and_image_folders(tmp_path) -> None:
    data = tmp_path / "data"
    touch(data, "a/clip.mp4", "b/clip.mp4", "b/clip.mkv", "b/notes.txt", "frames/2.png", "frames/10.png",
          "frames/inner/x.MOV", ".cache/skip.mp4", "c/.hidden.mp4", "out/old.mp4")
    items = find_videos([data], out_dir=data / "out")
    assert names(items) == ["a/clip.mp4", "b/clip.mkv", "b/clip.mp4", "frames", "frames/inner/x.MOV"]
    assert all(item.source.is_absolute() for item in items)
    outputs = [item.output(tmp_path / "o") for item in items]
    assert len(set(outputs)) == len(outputs)  # two clip.mp4, clip.mp4 beside clip.mkv: all distinct
    assert outputs[0] == tmp_path / "o" / "a" / "clip.mp4.safetensors"


def test_files_image_folders_and_repeats(tmp_path) -> None:
    touch(tmp_path, "x/one.mp4", "seq/0.jpg", "seq/1.jpg")
    items = find_videos([tmp_path / "x" / "one.mp4", tmp_path / "seq", tmp_path / "x"])
    assert names(items) == ["one.mp4", "seq"]  # the folder x adds nothing new
    assert items[1].source == (tmp_path / "seq").resolve()


def test_a_list_file_names_paths_relative_to_itself(tmp_path) -> None:
    touch(tmp_path, "d/k400/run/1.mp4", "d/k400/jump/1.mp4", "d/ssv2/7.webm", "d/frames/0.png")
    (tmp_path / "d" / "list.txt").write_text(
        "# train split\nk400/run/1.mp4\n\n  k400/jump/1.mp4  \n%s\nframes\nmissing/2.mp4\n" % (tmp_path / "d" / "ssv2")
    )
    items = find_videos([tmp_path / "d" / "list.txt"])
    assert names(items) == ["k400/run/1.mp4", "k400/jump/1.mp4", "ssv2/7.webm", "frames", "missing/2.mp4"]
    assert not items[-1].source.exists()  # it fails alone, later, in the manifest


def test_bad_inputs_are_one_clear_error(tmp_path) -> None:
    touch(tmp_path, "p/clip.mp4", "q/clip.mp4", "empty/readme.md")
    with pytest.raises(UsageError, match="would both be written as clip.mp4.safetensors"):
        find_videos([tmp_path / "p", tmp_path / "q"])
    with pytest.raises(VideoError, match="No such file or folder"):
        find_videos([tmp_path / "nope"])
    with pytest.raises(UsageError, match="no videos"):
        find_videos([tmp_path / "empty"])
    (tmp_path / "blank.txt").write_text("# nothing\n")
    with pytest.raises(UsageError, match="names no video"):
        find_videos([tmp_path / "blank.txt"])
    with pytest.raises(UsageError, match="no input"):
        find_videos([])
