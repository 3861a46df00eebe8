"""Configs as data: the training config every app shares; to and from JSON; changed by path."""

from __future__ import annotations

import dataclasses
import json
import typing
from collections.abc import Iterable, Mapping
from typing import Any

from rnnkit import fields
from rnnkit.errors import InputError
from rnnkit.fields import setting


@dataclasses.dataclass(frozen=True)
class TrainConfig(fields.Config):
    """How to train: the same for every app (``rnnkit.training.fit``)."""

    epochs: int = setting(10, "Number of epochs.", flag=True, min=1)
    batch_size: int = setting(64, "Global batch size (split across replicas).", flag=True, min=1)
    learning_rate: float = setting(2e-3, "Peak LR.", flag=True, min=0, min_open=True)
    schedule: str = setting(
        "cosine",
        "Learning rate after the warmup: cosine decay, or constant.",
        choices=("constant", "cosine"),
    )
    warmup_steps: int = setting(0, "Steps of linear warmup from 0 to the peak LR.", min=0)
    clip_norm: float | None = setting(
        1.0, "Clip the gradients' global norm to this (None: no clipping).", min=0, min_open=True
    )
    steps_per_epoch: int | None = setting(
        None, "Steps an epoch (None: one pass over the training data).", min=1
    )
    validation_steps: int | None = setting(
        None, "Validation batches each epoch (None: all of them).", min=1
    )
    checkpoint_every: int = setting(200, "Steps between checkpoints.", min=1)
    keep_checkpoints: int = setting(3, "Checkpoints kept (besides the best one).", min=1)
    patience: int | None = setting(
        None,
        "Stop after this many epochs without a better validation score (None: never).",
        min=1,
    )
    log_every: int = setting(10, "Steps between TensorBoard scalars.", min=1)
    weight_decay: float = setting(
        0.0, "Decoupled weight decay (AdamW, not on biases); 0: Adam.", flag=True, min=0
    )
    ema: float = setting(
        0.0,
        "Keep an exponential moving average of the weights with this momentum (0.99: about "
        "the last 100 steps; 0: off). Validation, samples, the best checkpoint and the "
        "trained model use the averaged weights.",
        min=0,
        max=1,
        max_open=True,
    )


@dataclasses.dataclass(frozen=True)
class AppConfig(fields.Config):
    """The fields of every app's config; an app's class gives ``data`` and ``model`` their types.

    (A subclass's field keeps its place, so the configs read data, model, train, seed.)
    """

    data: Any = None
    model: Any = None
    train: TrainConfig = TrainConfig()
    seed: int = setting(0, "Random seed (weights, data order, dropout).", flag=True)


# The training schedules the presets of every app start from: tiny (seconds,
# for tests), quick (the demo) and full; a preset changes what it needs,
# e.g. ``TINY_TRAIN.replace(batch_size=8)``.
TINY_TRAIN = TrainConfig(
    epochs=2, batch_size=16, learning_rate=3e-3, checkpoint_every=4, log_every=2
)
QUICK_TRAIN = TrainConfig(epochs=12, batch_size=32, learning_rate=3e-3, log_every=10)
FULL_TRAIN = TrainConfig(
    batch_size=32,
    learning_rate=2e-3,
    warmup_steps=100,
    checkpoint_every=500,
    log_every=20,
    patience=4,
)


def config_to_dict(config) -> dict:
    return dataclasses.asdict(config)


def config_from_dict(cls: type, data: Mapping) -> Any:
    """Rebuilds a (nested) frozen config dataclass from ``config_to_dict``'s output."""
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise InputError(f"unknown config fields for {cls.__name__}: {sorted(unknown)}")
    kwargs = {}
    for name, value in data.items():
        kind = hints[name]
        if dataclasses.is_dataclass(kind) and isinstance(value, Mapping):
            value = config_from_dict(kind, value)
        elif isinstance(value, list):
            value = tuple(value)
        kwargs[name] = value
    return cls(**kwargs)


def replace(config, path: str, value) -> Any:
    """``replace(config, "train.epochs", 3)``: a copy with one nested field changed."""
    return replace_all(config, {path: value})


def replace_all(config, changes: Mapping[str, Any]) -> Any:
    """A copy with several nested fields changed at once (``{"model.units": 8, ...}``).

    Each dataclass is rebuilt once with all of its changes, so checks that
    relate two fields see both new values, whatever the order of the changes.
    """
    nested: dict[str, dict[str, Any]] = {}
    direct = {}
    for path, value in changes.items():
        head, _, rest = path.partition(".")
        if rest:
            nested.setdefault(head, {})[rest] = value
        else:
            direct[head] = value
    for head, inner in nested.items():
        direct[head] = replace_all(getattr(config, head), inner)
    return dataclasses.replace(config, **direct)


def parse_settings(cls: type, settings: Iterable[str]) -> dict[str, Any]:
    """``["model.units=384", ...]`` (``--set``) -> ``{"model.units": 384, ...}``, parsed.

    Raises ``InputError`` naming a malformed item, an unknown field (with the
    close matches) or a value of the wrong type.
    """
    changes = {}
    for item in settings:
        key, eq, text = item.partition("=")
        key = key.strip()
        if not eq or not key:
            raise InputError(f"--set takes KEY=VALUE (e.g. model.units=384). Received: {item!r}")
        try:
            leaf = fields.find(cls, key)
        except ValueError as e:
            raise InputError(f"--set: {e}") from None
        try:
            changes[leaf.path] = fields.parse(leaf, text)
        except ValueError as e:
            raise InputError(f"--set {key}: {e}") from None
    return changes


def configure(config, changes: Mapping[str, Any]) -> Any:
    """``replace_all``, with a check that fails raised as ``InputError`` (one line, exit 2)."""
    try:
        return replace_all(config, changes)
    except (ValueError, TypeError) as e:
        raise InputError(str(e)) from None


def config_differences(config: Any, saved: Mapping[str, Any]) -> list[str]:
    """The dotted names of the fields where ``config`` and a saved config.json differ."""

    def flat(tree, prefix=""):
        if isinstance(tree, Mapping):
            out = {}
            for key, value in tree.items():
                out.update(flat(value, f"{prefix}{key}."))
            return out
        return {prefix[:-1]: tree}

    ours = flat(json.loads(json.dumps(config_to_dict(config))))
    theirs = flat(saved)
    return sorted(k for k in ours.keys() | theirs.keys() if ours.get(k) != theirs.get(k))


class ConfiguredModel:
    """Mixin for a Keras model whose first constructor argument is its config dataclass.

    ``get_config`` holds the config as a dict plus the attributes named in
    ``config_args`` (the constructor's other arguments); ``from_config``
    rebuilds the dataclass, so a model's settings are written once, as
    fields of ``config_class``. The model keeps its config as ``model_config``.
    """

    config_class: type
    config_args: tuple[str, ...] = ()

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "config": dataclasses.asdict(self.model_config),
            **{name: _plain(getattr(self, name)) for name in self.config_args},
        }

    @classmethod
    def from_config(cls, config: Mapping):
        config = dict(config)
        model_config = config_from_dict(cls.config_class, config.pop("config"))
        return cls(model_config, **config)


def _plain(value):
    return list(value) if isinstance(value, tuple) else value
