"""World models over encoder latents: decoder, transition model, training, rollouts, comparison.

Qt-free; the GUI and the ``jepa-studio compare`` command drive the same functions:

- :func:`~.latents.encode_latents` (``"causal"``, ``"per-frame"`` or the labelled
  ``"window"`` reference): the one way to get latents for a world model
- :class:`~.model.WorldModel` (``create(features, ...)``), :func:`~.model.prepare_sequence`
- :func:`~.training.train_decoder`, :func:`~.training.train_transition`
  (``progress(step, total, loss)``, a ``threading.Event`` to cancel, periodic checkpoints,
  resume; the live loss history is ``world.state[part].losses``)
- :func:`~.rollout.rollout`, :func:`~.rollout.decode_rollout`
- :func:`~.checkpoints.save_world`, :func:`~.checkpoints.load_world` (validated before
  anything is built)
- :func:`~.compare.compare_encoders` -> :class:`~.compare.ComparisonResult` with its
  :class:`~.plan.StepPlan` (the frames every encoder shares) and baselines
  (:mod:`.evaluation`); :func:`~.report.write_report`
- :func:`~.probes.probe` (ridge probes of the simulator's state from one step's latent),
  :func:`~.report.probe_chart`
- :data:`~.settings.DEFAULTS`: the settings the CLI and the window share
"""
