"""The Ray engine's pieces without a Ray cluster (fast): the reader's clip ranges, the encoder's
shards, joining them, sharing the cluster, errors, and keeping Ray's log lines off stderr."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from dataset_helpers import tiny_request
from jepa_studio.dataset import EncoderRequest, extract_dataset
from jepa_studio.dataset.inputs import VideoItem
from jepa_studio.dataset.progress import DatasetProgress
from jepa_studio.dataset.ray_engine import ClipEncoder, ClipReader, plan_resources, rebuild_error, run_ray
from jepa_studio.dataset.settings import ExtractSettings, source_stat
from jepa_studio.dataset.shards import assemble_shards, clip_ranges, shard_path
from jepa_studio.dataset.stderr_filter import drop_ray_log_lines
from jepa_studio.encoders.features_io import load_features, read_metadata
from jepa_studio.errors import EncoderError, UsageError
from jepa_studio.video import open_video

LONG = "b/deeper/long.webm"


def job_batch(dataset, out, name: str) -> dict[str, np.ndarray]:
    source = dataset / name
    size, mtime = source_stat(source)
    item = VideoItem(source, name)
    return {"job": np.array([0]), "source": np.array([str(source)], dtype=object), "name": np.array([name], dtype=object),
            "output": np.array([str(item.output(out))], dtype=object), "size": np.array([size]),
            "mtime_ns": np.array([mtime])}


def test_clip_ranges_are_whole_windows_of_the_selection() -> None:
    assert clip_ranges(range(0, 23), 8) == [range(0, 8), range(8, 16), range(16, 23)]
    assert clip_ranges(range(0, 100, 3), 64) == [range(0, 100, 3)]  # one range: the selection itself
    parts = clip_ranges(range(1, 30, 2), 4)
    assert [i for p in parts for i in p] == list(range(1, 30, 2)) and all(len(p) == 4 for p in parts[:-1])


def test_reader_encoder_and_join_give_the_local_file(tmp_path, dataset, tiny_vjepa2) -> None:
    settings = ExtractSettings(tiny_request(tiny_vjepa2))
    out = tmp_path / "out"
    rows = list(ClipReader(settings, str(out), 8)(job_batch(dataset, out, LONG)))
    assert [(r["status"][0], r["start"][0], r["stop"][0], r["ranges"][0]) for r in rows] == [
        ("todo", 0, 8, 3), ("todo", 8, 16, 3), ("todo", 16, 23, 3)]
    with open_video(dataset / LONG) as video:
        decoded = np.stack([video[i] for i in range(len(video))])
    assert np.array_equal(np.concatenate([r["frames"][0] for r in rows]), decoded)
    encoder = ClipEncoder(settings, str(out), 8, use_gpu=False, threads=torch.get_num_threads())
    done = [encoder(row) for row in rows]
    assert [(d["status"][0], d["frames"][0], d["selection"][0]) for d in done] == [("done", 8, "0:23:1")] * 2 + [
        ("done", 7, "0:23:1")]
    shards = [shard_path(out, LONG, part) for part in clip_ranges(range(23), 8)]
    assert all(s.is_file() for s in shards) and read_metadata(shards[1])["frames"] == [8, 16, 1]
    # a rerun of the reader passes complete shards on without decoding them
    again = list(ClipReader(settings, str(out), 8)(job_batch(dataset, out, LONG)))
    assert [r["status"][0] for r in again] == ["cached"] * 3 and again[0]["frames"].shape == (1, 1, 1, 1, 3)
    target = dataset.parent / "joined.safetensors"
    assert assemble_shards([str(s) for s in shards], str(target), [0, 23, 1]) == 12
    assert not any(s.exists() for s in shards) and not (out / ".shards").exists()
    local = extract_dataset([dataset / LONG], settings.encoder, tmp_path / "local")
    reference = tmp_path / "local" / "long.webm.safetensors"
    assert local[0]["status"] == "done"
    assert torch.equal(load_features(target).tokens, load_features(reference).tokens)
    assert {k: v for k, v in read_metadata(target).items() if k != "video"} == \
           {k: v for k, v in read_metadata(reference).items() if k != "video"}


def test_failures_become_rows(tmp_path, dataset, tiny_vjepa2) -> None:
    settings = ExtractSettings(tiny_request(tiny_vjepa2))
    broken = list(ClipReader(settings, str(tmp_path), 8)(job_batch(dataset, tmp_path, "broken.mp4")))
    assert len(broken) == 1 and broken[0]["status"][0] == "failed" and broken[0]["ranges"][0] == 0
    assert "broken.mp4" in broken[0]["error"][0]
    passed = ClipEncoder(settings, str(tmp_path), 8, use_gpu=False, threads=1)(broken[0])
    assert passed["status"][0] == "failed" and passed["error"][0] == broken[0]["error"][0]
    # an encoder that cannot load fails every row as "fatal", with its error's kind and message
    missing = ExtractSettings(tiny_request(tmp_path / "no-such-model"))
    fatal = ClipEncoder(missing, str(tmp_path), 8, use_gpu=False, threads=1)(broken[0])
    assert fatal["status"][0] == "fatal"
    error = rebuild_error(fatal["error"][0])
    assert type(error) is EncoderError and "no-such-model" in str(error)
    with pytest.raises(UsageError, match="multiple of the 4-frame window"):
        raise rebuild_error(ClipEncoder(settings, str(tmp_path), 6, use_gpu=False, threads=1)(broken[0])["error"][0])


def test_sharing_the_cluster() -> None:
    settings = ExtractSettings(EncoderRequest("m", device="cpu"))
    gpu = ExtractSettings(EncoderRequest("m"))  # no device asked for: GPUs where there are some
    r = plan_resources({"CPU": 16, "GPU": 4}, gpu, None)
    assert (r.actors, r.use_gpu, r.encode_cpus, r.decoders) == (4, True, 1, 11)
    r = plan_resources({"CPU": 16, "GPU": 4}, settings, None)  # asked for the CPU: no GPU actors
    assert (r.actors, r.use_gpu, r.encode_cpus, r.decoders) == (1, False, 15, 1)
    r = plan_resources({"CPU": 2}, gpu, None)
    assert (r.actors, r.use_gpu, r.encode_cpus, r.decoders) == (1, False, 1, 1)
    with pytest.raises(UsageError, match="--actors must be at least 1"):
        run_ray([], gpu, Path("."), print, DatasetProgress(0, enabled=False), actors=0)
    with pytest.raises(UsageError, match="multiple of the 16-frame window, not 20"):
        run_ray([], gpu, Path("."), print, DatasetProgress(0, enabled=False), clip_frames=20)


def test_ray_log_lines_are_dropped_from_stderr_and_the_rest_passes(capfd) -> None:
    with drop_ray_log_lines():
        os.write(2, b"[2026-11-30 10:15:00,429 E 6463 6463] core_worker.cc:2465: Actor with class name\n")
        os.write(2, b"\rframes: 16frame")  # a progress bar's update: no newline
        os.write(2, b"\njepa-studio: failed: a.mp4: bad\n[2026-11-30 10:15:01,0")
        os.write(2, b"01 W 1 2] more noise\n")
    assert capfd.readouterr().err == "\rframes: 16frame\njepa-studio: failed: a.mp4: bad\n"
