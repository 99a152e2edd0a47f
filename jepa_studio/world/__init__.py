"""World models over encoder latents: decoder, transition model, training, rollouts, comparison.

Qt-free; the GUI and the ``jepa-studio compare`` command drive the same functions:

- :class:`~.model.WorldModel` (``create(features, ...)``), :func:`~.model.prepare_sequence`
- :func:`~.training.train_decoder`, :func:`~.training.train_transition`
  (``progress(step, total, loss)``, a ``threading.Event`` to cancel, periodic checkpoints,
  resume; the live loss history is ``world.state[part].losses``)
- :func:`~.rollout.rollout`, :func:`~.rollout.decode_rollout`
- :func:`~.checkpoints.save_world`, :func:`~.checkpoints.load_world`
- :func:`~.compare.compare_encoders` -> :class:`~.compare.ComparisonResult`;
  :func:`~.report.write_report`
"""
