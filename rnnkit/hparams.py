"""A run's config as TensorBoard hparams, so runs compare in the HParams tab.

Every leaf of ``config.json`` (``model.units``, ``train.learning_rate``...)
becomes one hyperparameter of the run's session in ``RUN/tb``; the scalars
the run logs under ``tb/train`` and ``tb/validation`` are its metrics, so
the tab lists each run's final losses beside its settings.
"""

from __future__ import annotations

import json
from pathlib import Path


def flat(config: dict, prefix: str = "") -> dict[str, bool | int | float | str]:
    """``{"model.units": 256, ...}``: what TensorBoard's hparams take (lists as text)."""
    out: dict[str, bool | int | float | str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flat(value, f"{name}."))
        elif isinstance(value, (bool, int, float, str)):
            out[name] = value
        else:  # None, lists
            out[name] = json.dumps(value)
    return out


def write_hparams(run_dir: Path) -> None:
    """The session start of ``run_dir``'s hparams, from its ``config.json`` (when there is one)."""
    import tensorflow as tf
    from tensorboard.plugins.hparams import api as hp

    path = run_dir / "config.json"
    if not path.is_file():
        return
    writer = tf.summary.create_file_writer(str(run_dir / "tb"))
    with writer.as_default():
        hp.hparams(flat(json.loads(path.read_text())), trial_id=run_dir.name)
    writer.flush()
    writer.close()
