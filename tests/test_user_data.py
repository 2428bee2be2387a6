"""Your data and your model on every surface: files, folders, callables and plug-ins in the
config, an honest record (``dataset`` as given + a fingerprint), and reloads that prove they
have the same data. Small real data (digits); the keras tier trains tiny models."""

from __future__ import annotations

import json
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

import workbench as wb
from tests.conftest import run_cli

TINY = dict(model="mlp", hidden_units=[16], epochs=1)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    wb.load_dataset.cache_clear()
    yield
    wb.load_dataset.cache_clear()


def _digits(n_train=200, n_test=60):
    ds = wb.load_dataset("digits")
    return ds.x_train[:n_train], ds.y_train[:n_train], ds.x_test[:n_test], ds.y_test[:n_test]


def _write_folder(root, split=True, n=60):
    from PIL import Image

    xtr, ytr, xte, yte = _digits(n, n // 3)
    parts = (("train", xtr, ytr), ("test", xte, yte)) if split else (("", xtr, ytr),)
    for name, xs, ys in parts:
        for i, (a, c) in enumerate(zip(xs, ys, strict=True)):
            d = root / name / f"digit_{c}"
            d.mkdir(parents=True, exist_ok=True)
            Image.fromarray((a[..., 0] * 255).round().astype("uint8")).save(d / f"{i}.png")
    return root


# --- the config names it ---

def test_dataset_takes_names_paths_and_callables_and_says_what_is_allowed():
    assert wb.ExperimentConfig(dataset="some/cells.npz").dataset == "some/cells.npz"
    assert wb.ExperimentConfig(dataset="lab.data:load_cells").dataset == "lab.data:load_cells"
    with pytest.raises(wb.ConfigError, match="did you mean 'digits'") as e:
        wb.ExperimentConfig(dataset="digts")
    assert e.value.field == "dataset" and ".npz" in str(e.value) and "folder" in str(e.value)
    with pytest.raises(wb.ConfigError, match="model=") as e:
        wb.ExperimentConfig(model="lenet")
    assert ".keras" in str(e.value)


def test_npz_both_layouts_and_a_fixed_stratified_split(tmp_path):
    xtr, ytr, xte, yte = _digits()
    np.savez(tmp_path / "four.npz", x_train=xtr, y_train=ytr, x_test=xte, y_test=yte)
    ds = wb.load_dataset(str(tmp_path / "four.npz"))
    assert np.array_equal(ds.x_test, xte) and ds.num_classes == 10
    np.savez(tmp_path / "xy.npz", x=np.concatenate([xtr, xte]), y=np.concatenate([ytr, yte]))
    a = wb.load_dataset(str(tmp_path / "xy.npz"), test_split=0.25)
    assert len(a.x_test) == 65 and np.bincount(a.y_test).min() >= 5  # stratified
    wb.load_dataset.cache_clear()
    b = wb.load_dataset(str(tmp_path / "xy.npz"), test_split=0.25)
    assert a.fingerprint == b.fingerprint  # the same split every time


def test_image_folder_with_and_without_its_own_split_and_the_cache(tmp_path, monkeypatch):
    root = _write_folder(tmp_path / "split")
    ds = wb.load_dataset(str(root))
    assert ds.x_train.shape == (60, 8, 8, 1) and len(ds.x_test) == 20
    assert ds.info.class_names[0] == "digit_0" and 0.0 <= ds.x_train.min() <= ds.x_train.max() <= 1
    first = ds.fingerprint
    # a second load in a new process reads the cache: decoding is not called again
    import workbench.data.files as files

    wb.load_dataset.cache_clear()
    monkeypatch.setattr(files, "_decode", lambda *a: (_ for _ in ()).throw(AssertionError()))
    assert wb.load_dataset(str(root)).fingerprint == first
    flat = _write_folder(tmp_path / "flat", split=False)
    monkeypatch.undo()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    ds2 = wb.load_dataset(str(flat), test_split=0.25, image_size=16, image_mode="rgb")
    assert ds2.input_shape == (16, 16, 3) and len(ds2.x_test) == 15
    assert any("resized to 16x16" in c for c in ds2.info.conversions)


def test_csv_and_parquet_with_text_labels_and_a_split_column(tmp_path):
    xtr, ytr, _, _ = _digits(120)
    df = pd.DataFrame(xtr.reshape(len(xtr), -1), columns=[f"p{i}" for i in range(64)])
    df["kind"] = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven",
                           "eight", "nine"])[ytr]
    df.to_csv(tmp_path / "t.csv", index=False)
    ds = wb.load_dataset(str(tmp_path / "t.csv"), label_column="kind")
    assert ds.input_shape == (64,) and ds.info.class_names[:2] == ("eight", "five")
    assert any("text labels" in c for c in ds.info.conversions)
    df["split"] = ["test" if i % 4 == 0 else "train" for i in range(len(df))]
    df.to_parquet(tmp_path / "t.parquet")
    pq = wb.load_dataset(str(tmp_path / "t.parquet"), label_column="kind")
    assert len(pq.x_test) == 30 and len(pq.x_train) == 90


def test_a_callable_data_set_and_a_registered_one(tmp_path, monkeypatch, request):
    (tmp_path / "labdata.py").write_text(textwrap.dedent("""
        import numpy as np
        def load():
            rng = np.random.default_rng(0)
            x = rng.normal(size=(90, 6)).astype("float32")
            return x, (x[:, 0] > 0).astype(int)
        def wrong():
            return "not arrays"
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    ds = wb.load_dataset("labdata:load")
    assert ds.input_shape == (6,) and len(ds.x_test) == 18
    with pytest.raises(wb.DataError, match="must return"):
        wb.load_dataset("labdata:wrong")
    with pytest.raises(wb.ConfigError, match="does not import"):
        wb.load_dataset("nolab.data:load")
    from workbench.data import DATASETS

    request.addfinalizer(lambda: DATASETS.pop("lab_blobs", None))  # gone after the test
    info = wb.register_dataset("lab_blobs", lambda: ds, description="lab blobs")
    assert info.num_classes == 2 and "lab_blobs" in wb.FIELDS["dataset"].choices
    assert wb.ExperimentConfig(dataset="lab_blobs").dataset == "lab_blobs"
    assert "lab_blobs" in wb.datasets() and wb.load_dataset("lab_blobs").spec == "lab_blobs"
    with pytest.raises(wb.DataError, match="loader raised ZeroDivisionError"):
        wb.register_dataset("lab_broken", lambda: 1 / 0)
    with pytest.raises(wb.ConfigError, match="taken"):
        wb.register_dataset("digits", lambda: ds)


def test_an_installed_plug_in_is_listed_and_a_broken_one_is_named(tmp_path):
    (tmp_path / "wbplug.py").write_text(textwrap.dedent("""
        import numpy as np
        def load():
            x = np.random.default_rng(1).normal(size=(40, 3)).astype("float32")
            return x, np.arange(40) % 2
        def broken():
            raise RuntimeError("the lab server is down")
        def model(input_shape, num_classes):
            import keras
            return keras.Sequential([keras.Input(input_shape), keras.layers.Dense(num_classes)])
    """))
    dist = tmp_path / "wbplug-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: wbplug\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(
        "[nn_workbench.datasets]\nplug_set = wbplug:load\nplug_broken = wbplug:broken\n"
        "[nn_workbench.models]\nplug_net = wbplug:model\n")
    env = {"PYTHONPATH": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    out = run_cli("datasets", env=env)
    assert out.returncode == 0, out.stderr
    assert "plug_set" in out.stdout and "the lab server is down" in out.stdout
    assert "plug_net" in run_cli("models", env=env).stdout
    helptext = run_cli("train", "--help", env=env).stdout
    assert "plug_set" in helptext


# --- bad input: a clear error naming the field and the file, nothing written ---

@pytest.mark.parametrize("make,needle", [
    (lambda p: str(p / "missing.npz"), "no such path"),
    (lambda p: (np.savez(p / "k.npz", a=np.zeros(3)), str(p / "k.npz"))[1], "it has 'a'"),
    (lambda p: (np.savez(p / "m.npz", x=np.zeros((5, 2)), y=np.zeros(4)), str(p / "m.npz"))[1],
     "5 samples but y has 4"),
    (lambda p: (np.savez(p / "n.npz", x=np.where(np.eye(10, 2) > 0, np.nan, 0.0),
                         y=np.arange(10) % 2), str(p / "n.npz"))[1], "holds 2 NaN or inf"),
    (lambda p: (np.savez(p / "f.npz", x=np.zeros((10, 2)), y=np.full(10, 0.5)),
                str(p / "f.npz"))[1], "not fractions"),
    (lambda p: (pd.DataFrame({"a": [1, 2, 3, 4], "colour": list("rgbr"), "label": [0, 1] * 2})
                .to_csv(p / "t.csv", index=False), str(p / "t.csv"))[1], "colour holds text"),
    (lambda p: (pd.DataFrame({"a": [1, 2]}).to_csv(p / "nolabel.csv", index=False),
                str(p / "nolabel.csv"))[1], "label column 'label'"),
])
def test_bad_files_are_named_and_nothing_is_written(tmp_path, make, needle):
    spec = make(tmp_path)
    with pytest.raises(wb.WorkbenchError, match=needle) as e:
        wb.run(wb.ExperimentConfig(dataset=spec, **TINY), store=tmp_path / "runs",
               verbose=False)
    assert e.value.field == "dataset" and spec in str(e.value)
    assert not (tmp_path / "runs").exists()


def test_bad_folders_and_images(tmp_path):
    from PIL import Image

    (tmp_path / "one" / "a").mkdir(parents=True)
    Image.new("L", (8, 8)).save(tmp_path / "one" / "a" / "x.png")
    with pytest.raises(wb.DataError, match="at least two classes"):
        wb.load_dataset(str(tmp_path / "one"))
    (tmp_path / "empty" / "a").mkdir(parents=True)
    with pytest.raises(wb.DataError, match="no images"):
        wb.load_dataset(str(tmp_path / "empty"))
    bad = tmp_path / "bad"
    for c in "ab":
        (bad / c).mkdir(parents=True)
        Image.new("L", (8, 8), 40).save(bad / c / "ok.png")
    good = (bad / "a" / "ok.png").read_bytes()
    (bad / "b" / "cut.png").write_bytes(good[: len(good) // 2])
    with pytest.raises(wb.DataError, match=r"1 of 3 images cannot be decoded.*cut\.png"):
        wb.load_dataset(str(bad))
    (bad / "b" / "cut.png").unlink()
    Image.new("1", (20000, 20000)).save(bad / "b" / "bomb.png")  # 400 M pixels, 48 kB
    with pytest.raises(wb.DataError, match=r"bomb\.png.*(DecompressionBomb|over the limit)"):
        wb.load_dataset(str(bad))


# --- an honest record, and reloads that prove it ---

@pytest.mark.keras
def test_own_arrays_end_to_end(tmp_path):
    data = _digits()
    runs = tmp_path / "runs"
    r = wb.run(wb.ExperimentConfig(**TINY), data=data, store=runs, verbose=False)
    assert r.config.dataset == "arrays"
    record = json.loads((r.run_dir / "data.json").read_text())
    assert record["n_train"] == 200 and record["num_classes"] == 10 and record["train_hash"]
    # WhatIf in the same session uses the arrays the run kept
    w = wb.compress.WhatIf(r)
    assert w.baseline["test_accuracy"] == pytest.approx(r.metrics["test_accuracy"], abs=1e-6)
    # in another process (a run id) it asks for the data, and checks what it is given
    with pytest.raises(wb.DataError, match="pass them with data="):
        wb.compress.WhatIf(r.run_id, store=runs)
    assert wb.compress.WhatIf(r.run_id, store=runs, data=data).baseline["test_accuracy"] == \
        pytest.approx(w.baseline["test_accuracy"])
    other = (data[0], data[1], data[2] + 0.01, data[3])
    with pytest.raises(wb.DataError, match="test split's contents changed"):
        wb.compress.WhatIf(r.run_id, store=runs, data=other)
    # init_from reloads nothing silently: without data it asks, with other data it refuses
    with pytest.raises(wb.DataError, match="pass them again"):
        wb.run(wb.ExperimentConfig(init_from=r.run_id, epochs=1), store=runs, verbose=False)
    with pytest.raises(wb.DataError, match="changed"):
        wb.run(wb.ExperimentConfig(init_from=r.run_id, epochs=1), data=other, store=runs,
               verbose=False)
    ft = wb.run(wb.ExperimentConfig(init_from=r.run_id, epochs=1), data=data, store=runs,
                verbose=False)
    assert ft.status == "completed" and ft.config.dataset == "arrays"
    assert len(wb.RunStore(runs)) == 2  # the refused runs wrote nothing


@pytest.mark.keras
def test_compress_view_fine_tunes_a_run_on_arrays(tmp_path):
    pytest.importorskip("ipywidgets")
    from workbench.widgets import CompressView

    data = _digits()
    r = wb.run(wb.ExperimentConfig(**TINY), data=data, store=tmp_path / "runs", verbose=False)
    view = CompressView(r, store=tmp_path / "runs")
    view.set(prune_ratio=0.5, quant_bits=8)
    assert view.fine_tune(epochs=1)
    ft = view.wait(120)
    assert ft is not None and ft.status == "completed" and ft.config.dataset == "arrays"
    assert ft.metrics["source_run"] == r.run_id


@pytest.mark.keras
def test_a_file_run_reloads_and_notices_a_changed_file(tmp_path):
    xtr, ytr, xte, yte = _digits()
    path = tmp_path / "d.npz"
    np.savez(path, x_train=xtr, y_train=ytr, x_test=xte, y_test=yte)
    runs = tmp_path / "runs"
    r = wb.run(wb.ExperimentConfig(dataset=str(path), **TINY), store=runs, verbose=False)
    assert r.config.dataset == str(path) and "d-mlp" in r.run_id
    assert wb.compress.WhatIf(r.run_id, store=runs).baseline["test_accuracy"] == \
        pytest.approx(r.metrics["test_accuracy"], abs=1e-6)
    np.savez(path, x_train=xtr[::-1], y_train=ytr[::-1], x_test=xte, y_test=yte)
    with pytest.raises(wb.DataError, match="train split's contents changed"):
        wb.compress.WhatIf(r.run_id, store=runs)
    with pytest.raises(wb.DataError, match="not the data init_from run"):
        wb.run(wb.ExperimentConfig(init_from=r.run_id, epochs=1), store=runs, verbose=False)
    with pytest.raises(wb.DataError, match="changed"):
        wb.RunStore(runs).load(r.run_id).load_data()


@pytest.mark.keras
def test_code_named_by_a_run_folder_is_not_imported_without_trust(tmp_path, monkeypatch):
    (tmp_path / "trustme.py").write_text(textwrap.dedent("""
        import numpy as np
        CALLS = []
        def load():
            CALLS.append(1)
            x = np.random.default_rng(0).normal(size=(80, 5)).astype("float32")
            return x, (x[:, 0] > 0).astype(int)
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    runs = tmp_path / "runs"
    r = wb.run(wb.ExperimentConfig(dataset="trustme:load", **TINY), store=runs, verbose=False)
    del sys.modules["trustme"]  # another process: the module is not loaded
    wb.load_dataset.cache_clear()
    loaded = wb.RunStore(runs).load(r.run_id)
    with pytest.raises(wb.ConfigError, match="not imported") as e:
        loaded.load_data()
    assert e.value.field == "dataset" and "trustme" not in sys.modules
    with pytest.raises(wb.ConfigError, match="trust=True"):
        wb.compress.WhatIf(r.run_id, store=runs)
    with pytest.raises(wb.ConfigError, match="not imported"):
        wb.run(wb.ExperimentConfig(init_from=r.run_id, epochs=0), store=runs, verbose=False)
    assert "trustme" not in sys.modules
    assert wb.compress.WhatIf(r.run_id, store=runs, trust=True).run_id == r.run_id
    ft = wb.run(wb.ExperimentConfig(init_from=r.run_id, epochs=0), store=runs,
                verbose=False, trust=True)
    assert ft.status == "completed"


@pytest.mark.keras
def test_init_from_refuses_a_model_field_you_set_even_to_the_default(tmp_path):
    runs = tmp_path / "runs"
    src = wb.run(wb.ExperimentConfig(model="logistic", epochs=1, max_train_samples=200),
                 store=runs, verbose=False)
    with pytest.raises(wb.ConfigError, match="logistic") as e:
        wb.run(wb.ExperimentConfig(init_from=src.run_id, model="mlp", epochs=0), store=runs,
               verbose=False)
    assert e.value.field == "model"
    r = wb.run(wb.ExperimentConfig(init_from=src.run_id, epochs=0), store=runs, verbose=False)
    assert r.config.model == "logistic"


@pytest.mark.keras
def test_model_from_a_keras_file_or_a_builder_gets_fresh_weights(tmp_path, monkeypatch):
    import keras

    net = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
                            keras.layers.Dense(12, activation="relu"),
                            keras.layers.Dense(10)], name="mine")
    net.save(tmp_path / "mine.keras")
    r = wb.run(wb.ExperimentConfig(model=str(tmp_path / "mine.keras"), epochs=1,
                                   max_train_samples=200), store=False, verbose=False)
    assert r.metrics["params"] == net.count_params()
    assert not np.array_equal(r.model.layers[-2].get_weights()[0], net.layers[-1].get_weights()[0])
    (tmp_path / "nets.py").write_text(textwrap.dedent("""
        import keras
        def small(input_shape, num_classes):
            return keras.Sequential([keras.Input(input_shape), keras.layers.Flatten(),
                                     keras.layers.Dense(num_classes)])
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    r2 = wb.run(wb.ExperimentConfig(model="nets:small", epochs=1, max_train_samples=200),
                store=False, verbose=False)
    assert r2.metrics["params"] == 650
    with pytest.raises(wb.ConfigError, match="no such file"):
        wb.run(wb.ExperimentConfig(model=str(tmp_path / "none.keras"), epochs=1), store=False)


@pytest.mark.keras
def test_the_cli_trains_on_a_file_and_checks_a_folder(tmp_path):
    xtr, ytr, xte, yte = _digits()
    np.savez(tmp_path / "d.npz", x_train=xtr, y_train=ytr, x_test=xte, y_test=yte)
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    out = run_cli("train", "--dataset", str(tmp_path / "d.npz"), "--epochs", "1",
                  "--hidden-units", "16", "--runs-dir", str(tmp_path / "runs"), "--quiet",
                  env=env)
    assert out.returncode == 0, out.stderr
    assert "completed" in out.stdout
    root = _write_folder(tmp_path / "imgs")
    check = run_cli("datasets", "--check", str(root), env=env)
    assert check.returncode == 0, check.stderr
    assert "train 60 samples, test 20 samples" in check.stdout and "digit_3" in check.stdout
    missing = run_cli("train", "--dataset", str(tmp_path / "nope.csv"), "--runs-dir",
                      str(tmp_path / "runs2"), env=env)
    assert missing.returncode == 2 and "no such path" in missing.stderr
    assert "Traceback" not in missing.stderr and not (tmp_path / "runs2").exists()
