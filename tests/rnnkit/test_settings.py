"""A setting is written once: a config field gives its option, its checks and its --set."""

import dataclasses
import json

import click
import pytest
from click.testing import CliRunner

from apps.textgen import config as textgen_config
from apps.textgen.cli import APP as TEXTGEN
from rnnkit import configs, fields
from rnnkit.app import app_group
from rnnkit.errors import InputError
from rnnkit.fields import Config, setting


@dataclasses.dataclass(frozen=True)
class KnobModel(textgen_config.ModelConfig):
    # The one new line: a field with its help, its check and a flag.
    knob_width: int = setting(3, "How wide the knob is.", flag=True, min=2)


@dataclasses.dataclass(frozen=True)
class KnobConfig(textgen_config.TextgenConfig):
    model: KnobModel = KnobModel()


@pytest.fixture(scope="module")
def group():
    presets = {
        name: KnobConfig(data=p.data, model=KnobModel(**dataclasses.asdict(p.model)), train=p.train)
        for name, p in TEXTGEN.presets.items()
    }
    return app_group(dataclasses.replace(TEXTGEN, presets=presets))


def invoke(group, *args):
    return CliRunner().invoke(group, list(args), catch_exceptions=False)


def shown(group, *args):
    result = invoke(group, "train", "--preset", "tiny", *args, "--show-config")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_a_new_field_has_its_option_checks_and_set(group):
    help_text = invoke(group, "train", "--help").output
    assert "--knob-width" in help_text and "How wide the knob is." in help_text
    assert shown(group)["model"]["knob_width"] == 3
    assert shown(group, "--knob-width", "5")["model"]["knob_width"] == 5
    assert shown(group, "--set", "model.knob_width=7")["model"]["knob_width"] == 7
    # The flag's type says what the field's check says, and so does --set.
    result = invoke(group, "train", "--knob-width", "1")
    assert result.exit_code == 2 and "Invalid value for '--knob-width'" in result.output
    result = invoke(group, "train", "--set", "model.knob_width=1")
    assert result.exit_code == 2
    assert "Error: `knob_width` must be an integer >= 2. Received: knob_width=1" in result.output
    with pytest.raises(ValueError, match="knob_width"):
        KnobModel(knob_width=0)


def test_set_reaches_fields_without_a_flag_and_names_close_matches(group):
    config = shown(group, "--set", "train.warmup_steps=7", "--set", "train.clip_norm=none")
    assert config["train"]["warmup_steps"] == 7 and config["train"]["clip_norm"] is None
    # --set comes after the flags.
    assert shown(group, "--units", "40", "--set", "model.units=48")["model"]["units"] == 48
    for args, message in [
        (
            ["--set", "model.unit=4"],
            "Error: --set: unknown setting 'model.unit': did you mean model.units?",
        ),
        (["--set", "units=4"], "did you mean model.units?"),
        (["--set", "model.units=x"], "Error: --set model.units: 'x' is not an integer"),
        (["--set", "model.locked=maybe"], "'maybe' is not a boolean"),
        (["--set", "model.units"], "--set takes KEY=VALUE"),
        (["--set", "train.schedule=linear"], "`schedule` must be one of ('constant', 'cosine')"),
    ]:
        result = invoke(group, "train", *args)
        assert result.exit_code == 2, result.output
        assert message in result.output
        assert "Traceback" not in result.output


def test_show_config_is_the_config_train_would_use(group):
    config = shown(group, "--cell", "gru", "--no-locked-dropout", "--seed", "4")
    rebuilt = configs.config_from_dict(KnobConfig, config)
    assert rebuilt.model.cell == "gru" and rebuilt.seed == 4 and not rebuilt.model.locked
    assert rebuilt.train == TEXTGEN.presets["tiny"].train


@dataclasses.dataclass(frozen=True)
class Small(Config):
    count: int | None = setting(None, "A count.", min=1)
    rate: float = setting(0.1, "A rate.", min=0, max=1, max_open=True)
    sizes: tuple[int, ...] = setting((1, 2), "Sizes.")
    mode: str = setting("a", "A mode.", choices=("a", "b"))


def test_fields_check_every_value_when_a_config_is_made():
    assert Small(count=None).count is None
    assert Small(sizes=[3, 4]).sizes == (3, 4)  # from config.json
    for kwargs, message in [
        ({"count": 0}, "`count` must be a positive integer. Received: count=0"),
        ({"count": 2.5}, "`count` must be a positive integer"),
        ({"rate": 1.0}, r"`rate` must be in \[0, 1\). Received: rate=1.0"),
        ({"rate": "x"}, "`rate` must be a number"),
        ({"mode": "c"}, r"`mode` must be one of \('a', 'b'\)"),
    ]:
        with pytest.raises(ValueError, match=message):
            Small(**kwargs)


def test_parse_settings_parses_by_the_field_type():
    changes = configs.parse_settings(
        Small, ["count=3", "rate=0.5", "sizes=24, 168", "mode=b", "count=none"]
    )
    assert changes == {"count": None, "rate": 0.5, "sizes": (24, 168), "mode": "b"}
    with pytest.raises(InputError, match="'24,x' is not a list of integers"):
        configs.parse_settings(Small, ["sizes=24,x"])
    assert [leaf.path for leaf in fields.leaves(KnobConfig)][:2] == ["data.source", "data.data_dir"]


def test_field_options_follow_the_field_spec():
    from rnnkit.options import field_options

    options = field_options(KnobConfig)
    units = options["model.units"]
    assert isinstance(units.type, click.IntRange) and units.type.min == 1
    assert options["model.locked"].opts == ["--locked-dropout"]
    assert options["model.locked"].secondary_opts == ["--no-locked-dropout"]
    assert isinstance(options["model.cell"].type, click.Choice)
    assert "model.embedding_dim" not in options  # no flag: --set only


def test_a_model_config_round_trips_through_keras_get_config():
    from apps.textgen.model import CharRNN, build_model

    config = textgen_config.ModelConfig(layers=1, units=8, embedding_dim=4, weight_dropout=0.2)
    model = build_model(config, 30)
    saved = json.loads(json.dumps(model.get_config()))
    again = CharRNN.from_config(saved)
    assert again.model_config == config and again.vocab_size == 30
    assert again.rnn_0.cell.units == 8
