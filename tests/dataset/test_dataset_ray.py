"""The Ray engine on a local Ray with 2 CPUs (started once): a worker failing mid-video, a rerun
that resumes it from the shards kept, and files equal bit for bit to the local engine's.
The stages' logic is tested without Ray (fast) in test_dataset_ray_stages.py."""

from __future__ import annotations

import pytest
import torch

import dataset_helpers
from dataset_helpers import VIDEOS, FaultyRequest, tiny_request
from jepa_studio.dataset import extract_dataset
from jepa_studio.encoders.features_io import load_features, read_metadata

pytest.importorskip("ray")

GOOD = [*VIDEOS, "seq"]
LONG = "b/deeper/long.webm"


def by_name(rows) -> dict[str, dict]:
    return {row["name"]: row for row in rows}


def test_ray_fails_a_video_alone_resumes_it_and_writes_what_the_local_engine_writes(
        tmp_path, dataset, tiny_vjepa2, ray_cluster) -> None:
    ray_cluster.cloudpickle.register_pickle_by_value(dataset_helpers)  # the workers cannot import tests/
    out, marker = tmp_path / "ray", tmp_path / "fail-now"
    marker.touch()

    def faulty(frame: int) -> FaultyRequest:
        return FaultyRequest(str(tiny_vjepa2), device="cpu", resolution=32, window=4, frame=frame, marker=str(marker))

    # 8-frame clip ranges: long.webm (23 frames) is 3 ranges; the encoder fails the last (frame 20)
    rows = by_name(extract_dataset([dataset], faulty(20), out, engine="ray", clip_frames=8))
    assert rows[LONG]["status"] == "failed" and "RuntimeError: injected failure at frame 20" in rows[LONG]["error"]
    assert {rows[n]["status"] for n in GOOD if n != LONG} == {"done"}
    assert rows["broken.mp4"]["status"] == "failed" and "broken.mp4" in rows["broken.mp4"]["error"]
    assert not (out / f"{LONG}.safetensors").exists()
    kept = sorted(p.relative_to(out / ".shards").as_posix() for p in (out / ".shards").rglob("*.safetensors"))
    assert kept == [f"{LONG}/0-8-1.safetensors", f"{LONG}/8-16-1.safetensors"]  # the other videos' are joined
    before = {n: (out / f"{n}.safetensors").stat().st_mtime_ns for n in GOOD if n != LONG}

    # the rerun's encoder fails any window holding frame 0: long.webm completes only from the shards kept
    rows = by_name(extract_dataset([dataset], faulty(0), out, engine="ray", clip_frames=8))
    assert rows[LONG]["status"] == "done" and {rows[n]["status"] for n in before} == {"skipped"}
    assert {n: (out / f"{n}.safetensors").stat().st_mtime_ns for n in before} == before  # nothing rewritten
    assert not (out / ".shards").exists() and not list(out.rglob("*.part"))

    local = by_name(extract_dataset([dataset], tiny_request(tiny_vjepa2), tmp_path / "local"))
    for name in GOOD:
        a, b = out / f"{name}.safetensors", tmp_path / "local" / f"{name}.safetensors"
        fa, fb = load_features(a), load_features(b)
        assert torch.equal(fa.tokens, fb.tokens), name  # bit for bit
        assert fa.frame_indices == fb.frame_indices and read_metadata(a) == read_metadata(b)
        same = ("frames", "steps", "encoder", "checkpoint", "preprocessing", "input_size", "window", "dtype", "size")
        assert {k: rows[name][k] for k in same} == {k: local[name][k] for k in same}
