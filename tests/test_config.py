"""ExperimentConfig: validation, messages, round trips (fast tier: no TensorFlow)."""

from __future__ import annotations

import json
import pickle

import pytest

import workbench as wb
from workbench.config import FIELDS, GROUPS, fields_in_group


def test_defaults_are_valid_and_every_field_has_metadata():
    cfg = wb.ExperimentConfig()
    assert cfg.dataset == "digits"
    for name, spec in FIELDS.items():
        assert spec.group in GROUPS, name
        assert spec.help.strip(), name
        assert spec.check(getattr(cfg, name)) == getattr(cfg, name)
    required = {"dataset", "model", "hidden_units", "activation", "optimizer", "learning_rate",
                "momentum", "weight_decay", "lr_schedule", "warmup_epochs", "batch_size",
                "epochs", "validation_split", "max_train_samples", "seed", "strategy",
                "run_name"}
    assert required <= set(FIELDS)
    assert {s.name for s in fields_in_group("data")} >= {"dataset", "validation_split"}


def test_a_data_set_recipe_fills_only_the_fields_left_unset():
    plain = wb.ExperimentConfig(dataset="mnist1d", model="small_cnn")
    assert (plain.batch_size, plain.epochs, plain.lr_schedule) == (100, 60, "cosine")
    assert plain.learning_rate is None and plain.lr == pytest.approx(0.01)
    assert plain.recommended == {"batch_size": 100, "epochs": 60, "lr_schedule": "cosine",
                                 "learning_rate": pytest.approx(0.01)}
    # set explicitly, even to the usual default: kept
    mine = wb.ExperimentConfig(dataset="mnist1d", epochs=10, batch_size=32, learning_rate=1e-3)
    assert (mine.epochs, mine.batch_size, mine.lr, mine.lr_schedule) == (10, 32, 1e-3, "cosine")
    assert mine.recommended == {"lr_schedule": "cosine"}
    assert wb.ExperimentConfig.from_dict({"dataset": "mnist1d", "epochs": 10}).epochs == 10
    # a data set without a recipe: the usual defaults
    usual = wb.ExperimentConfig()
    assert (usual.batch_size, usual.epochs, usual.lr_schedule, usual.lr) == (32, 10, "constant",
                                                                             1e-3)
    assert usual.recommended == {} and usual.unset == {"batch_size", "epochs", "lr_schedule"}
    # replace re-resolves what was left unset for the new data set, and keeps what was set
    back = plain.replace(dataset="digits", epochs=3)
    assert (back.batch_size, back.epochs, back.lr_schedule, back.lr) == (32, 3, "constant", 1e-3)
    assert plain.replace(seed=1).epochs == 60
    assert usual.replace(dataset="mnist1d").batch_size == 100
    # a saved config holds the resolved values, so it reruns exactly, anywhere
    again = wb.ExperimentConfig.from_json(plain.to_json())
    assert again == plain and again.unset == frozenset()
    assert again.replace(dataset="digits").epochs == 60
    # the SGD family diverges at Adam's 10x: it gets 3x its usual rate
    assert wb.ExperimentConfig(dataset="mnist1d", optimizer="momentum").lr == pytest.approx(0.15)
    assert wb.ExperimentConfig(dataset="digits", optimizer="momentum").lr == pytest.approx(0.05)
    # sweeps and Dask ship configs pickled: what was unset stays unset
    assert pickle.loads(pickle.dumps(plain)).replace(dataset="digits").epochs == 10


@pytest.mark.parametrize("field,value,needle", [
    ("dataset", "cifar10", "dataset='cifar10' is not one of: digits"),
    ("model", "resnet", "model='resnet' is not one of:"),
    ("optimizer", "adamm", "(did you mean 'adam'?)"),
    ("lr_schedule", "cosin", "(did you mean 'cosine'?)"),
    ("activation", "rellu", "(did you mean 'relu'?)"),
    ("learning_rate", 0.0, "learning_rate=0.0 is not a number > 0"),
    ("learning_rate", -1e-3, "learning_rate=-0.001"),
    ("epochs", 0, "epochs=0 is not an integer >= 1"),
    ("epochs", 2.5, "epochs=2.5"),
    ("validation_split", 1.0, "validation_split=1.0 is not a number >= 0 and < 1"),
    ("validation_split", -0.1, "validation_split=-0.1"),
    ("hidden_units", [128, 0], "hidden_units=[128, 0] is not a non-empty list of integers"),
    ("hidden_units", [], "hidden_units=[]"),
    ("hidden_units", "128,64", "hidden_units='128,64'"),
    ("hidden_units", [64.5], "hidden_units=[64.5]"),
    ("batch_size", -1, "batch_size=-1 is not an integer >= 0"),
    ("momentum", 1.0, "momentum=1.0"),
    ("strategy", "tpu", "strategy='tpu' is not one of: default, mirrored"),
    ("max_train_samples", 0, "max_train_samples=0 is not an integer >= 1, or None"),
    ("seed", True, "seed=True"),
])
def test_bad_values_name_field_value_and_allowed(field, value, needle):
    with pytest.raises(wb.ConfigError) as err:
        wb.ExperimentConfig(**{field: value})
    assert err.value.field == field
    assert needle in str(err.value)
    assert isinstance(err.value, wb.WorkbenchError)


def test_cross_field_rules_name_the_field():
    with pytest.raises(wb.ConfigError, match=r"warmup_epochs=3 is not .* < epochs \(3\)") as e:
        wb.ExperimentConfig(epochs=3, warmup_epochs=3)
    assert e.value.field == "warmup_epochs"
    with pytest.raises(wb.ConfigError, match="plateau"):
        wb.ExperimentConfig(lr_schedule="plateau", warmup_epochs=1, epochs=5)


def test_unknown_keys_are_rejected_listing_valid_ones():
    with pytest.raises(wb.UnknownFieldError) as e:
        wb.ExperimentConfig.from_dict({"learnign_rate": 0.1})
    msg = str(e.value)
    assert "did you mean 'learning_rate'" in msg and "valid fields: dataset" in msg
    with pytest.raises(wb.UnknownFieldError):
        wb.ExperimentConfig().replace(epoch=3)
    with pytest.raises(wb.ConfigError, match="mapping"):
        wb.ExperimentConfig.from_dict([1, 2])


def test_round_trips_and_immutability(tmp_path):
    cfg = wb.ExperimentConfig(hidden_units=[32, 16], optimizer="nesterov", learning_rate=0.05,
                              max_train_samples=500, run_name="a b/c")
    assert wb.ExperimentConfig.from_dict(cfg.to_dict()) == cfg
    assert wb.ExperimentConfig.from_json(cfg.to_json()) == cfg
    assert wb.ExperimentConfig.from_yaml(cfg.to_yaml()) == cfg
    assert json.loads(cfg.to_json())["hidden_units"] == [32, 16]
    for suffix in (".json", ".yaml", ".yml"):
        p = tmp_path / f"c{suffix}"
        cfg.save(p)
        assert wb.ExperimentConfig.load(p) == cfg
    assert hash(cfg) == hash(wb.ExperimentConfig.from_dict(cfg.to_dict()))
    with pytest.raises(AttributeError):
        cfg.epochs = 3  # type: ignore[misc]
    assert cfg.replace(epochs=2).epochs == 2 and cfg.epochs == 10
    assert wb.ExperimentConfig(epochs=2.0).epochs == 2  # integral float from JSON is fine
    assert wb.ExperimentConfig(learning_rate=1).learning_rate == 1.0


def test_learning_rate_none_means_the_optimizers_recommended_rate():
    assert wb.ExperimentConfig(optimizer="adam").lr == 1e-3
    assert wb.ExperimentConfig(optimizer="nesterov").lr == 0.05
    assert wb.ExperimentConfig(optimizer="adam", learning_rate=0.3).lr == 0.3


@pytest.mark.parametrize("text,err", [("{bad json", "malformed JSON"),
                                      ("dataset: [unclosed", "malformed YAML"),
                                      ("[1, 2]", "mapping")])
def test_malformed_config_files(tmp_path, text, err):
    p = tmp_path / ("c.yaml" if "YAML" in err else "c.json")
    p.write_text(text)
    with pytest.raises(wb.ConfigError, match=err):
        wb.ExperimentConfig.load(p)
    with pytest.raises(wb.ConfigError, match="does not exist"):
        wb.ExperimentConfig.load(tmp_path / "nope.json")


def test_fieldspec_parse_from_text():
    assert FIELDS["hidden_units"].parse("128,64") == [128, 64]
    assert FIELDS["max_train_samples"].parse("none") is None
    assert FIELDS["learning_rate"].parse("1e-3") == 1e-3
    with pytest.raises(wb.ConfigError, match="epochs='abc' is not an integer"):
        FIELDS["epochs"].parse("abc")
    assert FIELDS["learning_rate"].flag == "--learning-rate"
