"""The comparison end to end on tiny pendulum runs: nothing trained sees held-out frames, every
encoder is scored on the same frames over the same windows, the baselines are what they say,
and the report says it."""

from __future__ import annotations

import json
import math
import threading

import numpy as np
import pytest
import torch
from PIL import Image

from jepa_studio.errors import UsageError
from jepa_studio.world.checkpoints import load_world
from jepa_studio.world.compare import CompareSettings, compare_encoders
from jepa_studio.world.latent_cache import LatentCache
from jepa_studio.world.metrics import psnr
from jepa_studio.render.chart import Series, line_chart
from jepa_studio.world.report import format_table, write_report

TINY = dict(
    history=2, horizon=2, frameskip=2, decoder_steps=6, transition_steps=6, batch_size=4,
    short_side=32, width=16, depth=1, heads=2, decoder_hidden=8, max_windows=6,
)


@pytest.fixture(scope="module")
def result(episodes, tmp_path_factory):
    torch.set_num_threads(1)
    stages, partial, notes = [], [], []
    res = compare_encoders(
        episodes, ["pixels", "pixels-tubelet"], CompareSettings(**TINY),
        progress=lambda stage, s, t, l: stages.append(stage), source="pendulum test",
        checkpoint_dir=tmp_path_factory.mktemp("ck"),
        on_result=lambda r: partial.append([e.info.name for e in r.encoders]), notify=notes.append,
    )
    res.stages, res.partial, res.notes_seen = stages, partial, notes
    return res


def _frame(episodes, clip: int, index: int) -> torch.Tensor:
    return torch.from_numpy(episodes[clip].frames[index]).permute(2, 0, 1).float() / 255


def test_every_table_entry_is_finite_with_baselines(result):
    assert [e.info.name for e in result.encoders] == ["pixels", "pixels-tubelet"]
    assert result.has_actions and not result.cancelled
    for e in result.encoders:
        assert [r.horizon for r in e.rows] == [1, 2]
        assert [(r.first_frame_ahead, r.frames_ahead) for r in e.rows] == [(1, 2), (3, 4)]
        assert [r.seconds_ahead for r in e.rows] == pytest.approx([0.1, 0.2])  # the pendulum runs at 20 fps
        for r in e.rows:
            for key, value in r.__dict__.items():
                assert math.isfinite(value), key
        assert len(e.decoder_losses) == 6 and len(e.transition_losses) == 6
        assert e.weights_note == "no weights (pixel baseline)" and e.latents == "causal"
    assert "pixels-tubelet: transition" in result.stages


def test_evaluation_predicts_held_out_frames_only(result, episodes):
    plan = result.plan
    assert plan.group == 2 and plan.skip == 1 and len(plan.windows) == 6
    for w in plan.windows:
        first_held_out, last = plan.held_out_frames(w.clip)
        assert first_held_out == 18 and last == 23  # 12 steps of 2 frames, the last quarter held out
        assert all(first_held_out <= f <= last for t in w.targets for f in t)
        assert w.context[-1] == w.targets[0][0] - 1  # the targets follow the context


def test_per_frame_and_tubelet_encoders_are_scored_on_the_same_frames(result):
    pixels, tubelet = result.encoders
    expected = [list(w.targets) for w in result.plan.windows]
    assert pixels.scored == tubelet.scored == expected
    # the same frames in and out, and the same information: stacked pixel pairs are tubelets
    assert pixels.rows == tubelet.rows
    assert any("stacked 2 frames" in note for note in result.notes)


def test_the_copy_baseline_repeats_the_last_context_frame(result, episodes):
    """PSNR of "nothing moves", recomputed by hand from the listed windows."""
    for j, row in enumerate(result.encoders[0].rows):
        values = []
        for w in result.plan.windows:
            last = _frame(episodes, w.clip, w.last_context_frame)
            values += [float(psnr(last, _frame(episodes, w.clip, f))) for f in w.targets[j]]
        assert row.psnr_copy == pytest.approx(np.mean(values), abs=1e-4)


def test_latent_statistics_and_baselines_by_hand(result, episodes):
    """The latent variance comes from training steps only; constant velocity extrapolates."""
    e = result.encoders[1]
    world = load_world(e.checkpoint)
    from jepa_studio.encoders.registry import load_encoder
    from jepa_studio.encoders.preprocess import Preprocessing

    enc = load_encoder("pixels-tubelet")
    enc.preprocessing = Preprocessing(short_side=32)
    tokens = [enc.encode(ep.frames).tokens for ep in episodes]
    train = torch.cat([t[:9] for t in tokens]).reshape(-1, tokens[0].shape[-1]).double()
    assert world.stats.variance == pytest.approx(float(train.var(0, unbiased=False).mean()), rel=1e-5)
    for j, row in enumerate(e.rows):
        errs = []
        for w in result.plan.windows:
            z = tokens[w.clip].double()
            c = w.start + 1  # history 2: context steps start, start + 1
            vel = z[c] + (j + 1) * (z[c] - z[c - 1])
            errs.append(float(((vel - z[c + 1 + j]) ** 2).mean()) / world.stats.variance)
        assert row.nmse_velocity == pytest.approx(np.mean(errs), rel=1e-3)


def test_results_are_handed_over_after_each_encoder_with_an_estimate_first(result):
    assert result.partial == [["pixels"], ["pixels", "pixels-tubelet"]]
    assert len(result.notes_seen) == 1 and result.notes_seen[0].startswith("about ")


def test_nothing_trained_sees_the_held_out_frames(episodes, tmp_path, tiny_vjepa2):
    """Edit every held-out frame: the trained models and their statistics are bit for bit
    the same (a tiny V-JEPA 2 from a folder included); in window mode they are not."""
    from jepa_studio.video.pendulum import PendulumEpisode

    def edited(ep: PendulumEpisode) -> PendulumEpisode:
        frames = ep.frames.copy()
        frames[18:] = np.random.default_rng(1).integers(0, 256, frames[18:].shape, dtype=np.uint8)
        return PendulumEpisode(frames, ep.actions, ep.states)

    settings = CompareSettings(**{**TINY, "probes": False})
    names = ["pixels", str(tiny_vjepa2)]

    def weights(data, folder, mode="causal"):
        s = CompareSettings(**{**settings.to_json(), "latents": mode})
        res = compare_encoders(data, names, s, checkpoint_dir=tmp_path / folder)
        out = {}
        for e in res.encoders:
            w = load_world(e.checkpoint)
            out[e.info.name] = [w.stats.mean, w.stats.std] + list(w.decoder.state_dict().values()) + list(
                w.transition.state_dict().values()
            )
        return out, res

    a, res = weights(episodes, "a")
    b, _ = weights([edited(ep) for ep in episodes], "b")
    assert set(a) == {"pixels", "vjepa2"} and res.encoders[1].info.latents == "causal"
    for name in a:
        assert all(torch.equal(x, y) for x, y in zip(a[name], b[name])), name
    a, res = weights(episodes, "c", "window")
    b, _ = weights([edited(ep) for ep in episodes], "d", "window")
    assert all(torch.equal(x, y) for x, y in zip(a["pixels"], b["pixels"]))
    assert not all(torch.equal(x, y) for x, y in zip(a["vjepa2"], b["vjepa2"]))
    assert "sees up to" in res.encoders[1].latents and "sees up to" in format_table(res)
    # named so in every row, legend and image row, not only in the notes
    vj = res.encoders[1]
    assert all("[window: sees up to" in row["encoder"] for row in res.table() if row["encoder"].startswith("vjepa2"))
    assert "[window: sees up to" in vj.verdict()
    assert "no future frames" in res.encoders[0].latents  # pixels never mix frames, in any mode


def test_precomputed_latents_and_loaded_encoders_give_the_same_result(episodes, result):
    from jepa_studio.encoders.registry import load_encoder
    from jepa_studio.encoders.preprocess import Preprocessing
    from jepa_studio.world.latents import encode_latents

    enc = load_encoder("pixels-tubelet")
    enc.preprocessing = Preprocessing(short_side=32)
    cache = LatentCache()
    settings = CompareSettings(**TINY)
    loaded = compare_encoders(episodes, [enc], settings, cache=cache)
    # three episodes of pixels-tubelet, and of pixels for the probes' baseline: all encoded once
    assert loaded.encoders[0].rows == result.encoders[1].rows and len(cache) == 6 and cache.misses == 6
    again = compare_encoders(episodes, [enc], settings, cache=cache)
    assert cache.hits == 6 and cache.misses == 6 and again.encoders[0].rows == loaded.encoders[0].rows
    assert [p.label for p, baseline in again.probes() if baseline] == ["pixels"]
    latents = {"tub": [encode_latents(enc, ep.frames) for ep in episodes]}
    given = compare_encoders(episodes, ["tub"], settings, latents=latents)
    assert given.encoders[0].rows == loaded.encoders[0].rows
    with pytest.raises(UsageError, match="do not cover"):
        compare_encoders(episodes, ["tub"], settings, latents={"tub": [encode_latents(enc, ep.frames[:20]) for ep in episodes]})


def test_pendulum_probes_beside_the_pixel_baselines(result):
    probes = result.probes()
    assert [p.label for p, _ in probes] == ["pixels", "pixels-tubelet"]
    for p, _ in probes:
        for key in (("θ", "mean"), ("θ", "tokens"), ("ω", "mean"), ("ω", "tokens")):
            assert key in p.summary


def test_report_files(result, tmp_path):
    paths = write_report(result, tmp_path)
    data = json.loads(paths["json"].read_text())
    assert data["encoders"][1]["random_weights"] is False and len(data["encoders"][1]["horizons"]) == 2
    assert data["plan"]["frames_ahead"] == [[1, 2], [3, 4]] and len(data["plan"]["windows"]) == 6
    assert data["encoders"][0]["latents"] == "causal" and "verdict" in data["encoders"][0]
    assert data["encoders"][0]["probes"]["summary"]
    table = paths["table"].read_text()
    assert table.count("| pixels") == 4 + 2 and "nothing moves" in table and "constant velocity" in table
    assert "the same context" in table and "Training budget: 6 decoder and 6 transition steps" in table
    assert "probe R²" in table and "ω (tokens)" in table
    for key in ("plot_psnr", "plot_ssim", "plot_cosine", "plot_nmse", "plot_loss_transition", "rollouts", "plot_probes"):
        img = np.asarray(Image.open(paths[key]))
        assert img.ndim == 3 and img.shape[0] > 100 and img.std() > 10
    assert "PSNR model" in format_table(result, markdown=False)


def test_the_verdict_says_where_the_model_loses(result):
    e = result.encoders[0]
    losing = e.losing()
    if losing:  # six steps of training: it may lose; the verdict must say where, in words
        assert "does NOT beat" in e.verdict()
    rows = list(e.rows)
    best = {"cosine_model": 1.0, "nmse_model": 0.0, "psnr_model": 99.0, "ssim_model": 1.0}
    e.rows = [r.__class__(**{**r.__dict__, **best}) for r in rows]
    assert e.losing() == {}
    assert e.verdict() == (
        'pixels: the world model beats "nothing moves" at every horizon in latent cosine, latent nMSE, PSNR, SSIM; '
        'it beats "constant velocity" at every horizon in latent cosine, latent nMSE, PSNR, SSIM.'
    )
    e.rows = [r.__class__(**{**r.__dict__, **best, "psnr_model": r.psnr_copy - 1}) for r in rows]
    assert e.losing() == {"psnr copy": [1, 2]}
    assert 'but does NOT beat it in PSNR at horizon(s) 1, 2; it beats "constant velocity"' in e.verdict()
    e.rows = rows


def test_line_chart_draws_lines_in_their_colours():
    img = line_chart([Series("a", [0, 1, 2], [0, 1, 4], (255, 0, 0)), Series("b", [0, 2], [1, 1], (0, 0, 255), "dashed")], "t", "x", "y")
    red = np.all(img == (255, 0, 0), axis=-1).sum()
    blue = np.all(img == (0, 0, 255), axis=-1).sum()
    assert red > 200 and blue > 100


def test_bad_settings_and_cancel(episodes):
    with pytest.raises(UsageError, match="multiple of pixels-tubelet"):
        compare_encoders(episodes, ["pixels-tubelet"], CompareSettings(**{**TINY, "frameskip": 3}))
    with pytest.raises(UsageError, match="horizon must be at least 1"):
        CompareSettings(horizon=0)
    with pytest.raises(UsageError, match="unknown latent mode"):
        CompareSettings(latents="future")
    with pytest.raises(UsageError, match="too few for a rollout"):
        compare_encoders(episodes, ["pixels"], CompareSettings(**{**TINY, "horizon": 12}))
    cancel = threading.Event()
    cancel.set()
    res = compare_encoders(episodes, ["pixels"], CompareSettings(**TINY), cancel=cancel)
    assert res.cancelled and res.encoders == []
