"""``extract_dataset`` with the local engine: files equal to one-video extraction, a manifest,
failures recorded, reruns that rewrite nothing, and no half file after an interruption."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from dataset_helpers import VIDEOS, FaultyRequest, tiny_request
from jepa_studio.dataset import extract_dataset
from jepa_studio.dataset.manifest import COLUMNS, read_manifest
from jepa_studio.dataset.output_dir import OutputDir
from jepa_studio.encoders.features_io import load_features, read_metadata
from jepa_studio.encoders.registry import load_encoder
from jepa_studio.errors import UsageError
from jepa_studio.video import open_video

EXPECTED = [*VIDEOS, "seq"]  # names of the good videos, in input order (the folder is walked in order)


def mtimes(out: Path) -> dict[str, int]:
    return {p.relative_to(out).as_posix(): p.stat().st_mtime_ns for p in out.rglob("*.safetensors")}


def by_name(rows) -> dict[str, dict]:
    return {row["name"]: row for row in rows}


def reference_tokens(model: Path, source: Path) -> torch.Tensor:
    """The video encoded by the encoder directly, all frames at once (in 4-frame windows)."""
    enc = load_encoder(str(model), device="cpu", resolution=32, window=4)
    with open_video(source) as video:
        return enc.encode(np.stack([video[i] for i in range(len(video))])).tokens


def test_a_folder_of_videos_to_one_file_each_and_a_manifest(tmp_path, dataset, tiny_vjepa2) -> None:
    out = tmp_path / "out"
    rows = extract_dataset([dataset], tiny_request(tiny_vjepa2), out)
    rows_by = by_name(rows)
    assert sorted(rows_by) == sorted([*EXPECTED, "broken.mp4"])
    assert {rows_by[n]["status"] for n in EXPECTED} == {"done"}
    broken = rows_by["broken.mp4"]
    assert broken["status"] == "failed" and "broken.mp4" in broken["error"] and broken["output"] == ""
    for name in EXPECTED:
        got = load_features(out / f"{name}.safetensors")
        torch.testing.assert_close(got.tokens, reference_tokens(tiny_vjepa2, dataset / name), atol=1e-5, rtol=1e-5)
        row = rows_by[name]
        n = VIDEOS.get(name, 5)
        assert (row["frames"], row["steps"], row["output"]) == (n, -(-n // 2), f"{name}.safetensors")
        assert row["size"] == (dataset / name).stat().st_size if name != "seq" else row["size"] > 0
        assert (row["encoder"], row["pretrained"], row["store_dtype"], row["window"]) == ("vjepa2", False, "float32", 4)
        meta = read_metadata(out / f"{name}.safetensors")
        assert meta["video"] == str(dataset / name) and meta["source_mtime_ns"] == (dataset / name).stat().st_mtime_ns \
            if name != "seq" else meta["video"].endswith("seq")
    # the manifest on disk says the same, one row per video, every column
    on_disk = read_manifest(out / "manifest.csv")
    assert [r["name"] for r in on_disk] == [r["name"] for r in rows] and list(on_disk[0]) == list(COLUMNS)
    assert by_name(on_disk)["broken.mp4"]["status"] == "failed"
    assert not list(out.rglob("*.part"))


def test_a_rerun_rewrites_nothing_and_redoes_what_changed(tmp_path, dataset, tiny_vjepa2) -> None:
    out = tmp_path / "out"
    request = tiny_request(tiny_vjepa2)
    extract_dataset([dataset], request, out)
    before = mtimes(out)
    rows = by_name(extract_dataset([dataset], request, out))
    assert mtimes(out) == before
    assert {rows[n]["status"] for n in EXPECTED} == {"skipped"} and rows["broken.mp4"]["status"] == "failed"
    assert rows["a/clip.mp4"]["frames"] == VIDEOS["a/clip.mp4"]  # a skipped row still says what the file holds
    # a changed source is redone, the others are not
    src = dataset / "b" / "clip.mp4"
    os.utime(src, ns=(src.stat().st_atime_ns, src.stat().st_mtime_ns + 10**9))
    rows = by_name(extract_dataset([dataset], request, out))
    after = mtimes(out)
    assert [n for n in EXPECTED if rows[n]["status"] == "done"] == ["b/clip.mp4"]
    assert {k for k in before if after[k] != before[k]} == {"b/clip.mp4.safetensors"}
    # other settings (float16 storage) redo every video, into files half the size
    rows = by_name(extract_dataset([dataset], request, out, store_dtype="float16"))
    assert {rows[n]["status"] for n in EXPECTED} == {"done"} and rows["seq"]["store_dtype"] == "float16"
    half = load_features(out / "a/clip.mp4.safetensors")
    assert half.tokens.dtype == torch.float16


def test_an_interrupted_run_leaves_no_file_that_counts_as_done(tmp_path, dataset, tiny_vjepa2) -> None:
    out = tmp_path / "out"
    marker = tmp_path / "fail-now"
    marker.touch()
    faulty = FaultyRequest(str(tiny_vjepa2), device="cpu", resolution=32, window=4, frame=20, marker=str(marker),
                           fault="interrupt")
    with pytest.raises(KeyboardInterrupt):  # Ctrl+C in the last window of long.webm
        extract_dataset([dataset], faulty, out)
    assert not (out / "b/deeper/long.webm.safetensors").exists() and not list(out.rglob("*.part"))
    manifest = by_name(read_manifest(out / "manifest.csv"))
    assert manifest["b/deeper/long.webm"]["status"] == "pending" and manifest["a/clip.mp4"]["status"] == "done"
    # a killed process leaves a sparse .part file; a file truncated on disk is not complete either
    (out / "b/deeper/long.webm.safetensors.part").write_bytes(b"\0" * 4096)
    clip = out / "a/clip.mp4.safetensors"
    clip.write_bytes(clip.read_bytes()[:-100])
    marker.unlink()
    rows = by_name(extract_dataset([dataset], faulty, out))
    assert rows["b/deeper/long.webm"]["status"] == rows["a/clip.mp4"]["status"] == "done"
    assert rows["b/clip.mp4"]["status"] == "skipped" and not list(out.rglob("*.part"))
    clean = tmp_path / "clean"
    extract_dataset([dataset], tiny_request(tiny_vjepa2), clean)
    for name in EXPECTED:
        assert torch.equal(load_features(out / f"{name}.safetensors").tokens,
                           load_features(clean / f"{name}.safetensors").tokens)


def test_failing_videos_are_recorded_and_the_others_go_on(tmp_path, dataset, tiny_vjepa2) -> None:
    marker = tmp_path / "fail-now"
    marker.touch()
    for fault, message in (("error", "RuntimeError: injected failure at frame 20"),
                           ("nan", "produced non-finite features for frames 20-22")):
        faulty = FaultyRequest(str(tiny_vjepa2), device="cpu", resolution=32, window=4, frame=20,
                               marker=str(marker), fault=fault)
        rows = by_name(extract_dataset([dataset], faulty, tmp_path / fault))
        assert rows["b/deeper/long.webm"]["status"] == "failed" and message in rows["b/deeper/long.webm"]["error"]
        assert [n for n in EXPECTED if rows[n]["status"] == "done"] == [n for n in EXPECTED if n != "b/deeper/long.webm"]
        assert not (tmp_path / fault / "b/deeper/long.webm.safetensors").exists()


def test_one_run_at_a_time_per_folder(tmp_path) -> None:
    with OutputDir(tmp_path / "out"):
        with pytest.raises(UsageError, match="another extract is writing"):
            with OutputDir(tmp_path / "out"):
                pass
    with OutputDir(tmp_path / "out"):  # released
        pass


def run_cli(*argv: str) -> int:
    from jepa_studio.cli import extract

    parser = argparse.ArgumentParser(prog="jepa-studio")
    extract.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["extract", *argv])
    return args.run(args)


def test_the_command_line(tmp_path, dataset, capsys) -> None:
    out = tmp_path / "feats"
    common = ["--encoder", "pixels-tubelet", "--resolution", "32", "--out", str(out)]
    assert run_cli(str(dataset), *common, "--half") == 1  # broken.mp4 failed
    captured = capsys.readouterr()
    assert captured.out.strip().splitlines()[-1] == (
        f"5 videos: 4 succeeded, 0 skipped, 1 failed (manifest: {out / 'manifest.csv'})")
    assert "jepa-studio: failed: broken.mp4: " in captured.err
    assert load_features(out / "seq.safetensors").tokens.dtype == torch.float16
    (dataset / "broken.mp4").unlink()
    assert run_cli(str(dataset), *common, "--store-dtype", "float16") == 0
    assert "4 videos: 0 succeeded, 4 skipped, 0 failed" in capsys.readouterr().out
    listing = tmp_path / "list.txt"
    listing.write_text("in/a/clip.mp4\nin/seq\n")
    assert run_cli(str(listing), *common[:-1], str(tmp_path / "from-list")) == 0
    assert sorted(p.name for p in (tmp_path / "from-list").rglob("*.safetensors")) == ["clip.mp4.safetensors", "seq.safetensors"]
    with pytest.raises(UsageError, match="contradicts"):
        run_cli(str(dataset), *common, "--half", "--store-dtype", "bfloat16")
    with pytest.raises(UsageError, match="one video"):
        run_cli(str(dataset), str(dataset), "--encoder", "pixels", "--out", str(tmp_path / "x.safetensors"))
    with pytest.raises(UsageError, match="a folder"):
        run_cli(str(dataset / "a" / "clip.mp4"), "--encoder", "pixels", "--out", str(tmp_path / "x.npy"))
