"""rnnkit.configs and rnnkit.runs: configs to JSON and back, run directories, atomic files."""

import dataclasses
import json
import os
import stat

import pytest

from rnnkit import configs, errors, runs
from rnnkit.configs import TrainConfig
from rnnkit.files import write_json


@dataclasses.dataclass(frozen=True)
class Data:
    source: str = "embedded"
    sizes: tuple = (1, 2)


@dataclasses.dataclass(frozen=True)
class Config:
    data: Data = Data()
    train: TrainConfig = TrainConfig()
    seed: int = 0


def test_configs_round_trip_through_json():
    config = configs.replace(Config(), "train.epochs", 3)
    config = configs.replace(config, "data.sizes", (4,))
    assert config.train.epochs == 3 and config.data.sizes == (4,)
    back = configs.config_from_dict(Config, json.loads(json.dumps(configs.config_to_dict(config))))
    assert back == config
    with pytest.raises(errors.InputError, match=r"unknown config fields for Data: \['colour'\]"):
        configs.config_from_dict(Config, {"data": {"colour": 1}})
    with pytest.raises(ValueError, match="`epochs` must be a positive integer"):
        configs.replace(config, "train.epochs", 0)


@dataclasses.dataclass(frozen=True)
class Model:
    encoder: str = "small"
    channels: int = 1

    def __post_init__(self):
        if self.encoder == "big" and self.channels != 3:
            raise ValueError("the big encoder needs channels=3")


@dataclasses.dataclass(frozen=True)
class Paired:
    model: Model = Model()
    train: TrainConfig = TrainConfig()


def test_replace_all_checks_related_fields_together():
    # One field at a time, the first change fails the check that relates them.
    with pytest.raises(ValueError, match="needs channels=3"):
        configs.replace(Paired(), "model.encoder", "big")
    for order in (["model.encoder", "model.channels"], ["model.channels", "model.encoder"]):
        values = {"model.encoder": "big", "model.channels": 3, "train.epochs": 2}
        config = configs.replace_all(Paired(), {k: values[k] for k in [*order, "train.epochs"]})
        assert config.model == Model("big", 3) and config.train.epochs == 2
    with pytest.raises(ValueError, match="needs channels=3"):
        configs.replace_all(Paired(), {"model.encoder": "big", "model.channels": 1})


def test_new_run_dirs_never_collide(tmp_path, monkeypatch):
    monkeypatch.delenv(runs.RUN_ID_ENV, raising=False)
    first = runs.new_run_dir("demo", tmp_path)
    first.mkdir(parents=True)
    second = runs.new_run_dir("demo", tmp_path)
    assert first.parent == second.parent == tmp_path / "demo" and first != second
    # Every worker of one launch gets the launch's run id.
    monkeypatch.setenv(runs.RUN_ID_ENV, "launch-1")
    assert runs.new_run_dir("demo", tmp_path) == tmp_path / "demo" / "launch-1"


def test_json_is_written_whole_and_readable(tmp_path):
    path = tmp_path / "metrics.json"
    write_json(path, {"a": 1})
    assert json.loads(path.read_text()) == {"a": 1}
    assert stat.S_IMODE(os.stat(path).st_mode) & 0o044 == 0o044  # not mkstemp's 0600
    with pytest.raises(TypeError):
        write_json(path, {"a": object()})
    assert json.loads(path.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]
