"""The control panel driven through its programmatic twins on digits (keras tier), and the
flagship notebook's parameters cell kept in step with the config fields (fast)."""

from __future__ import annotations

import ast
import json
import time

import pytest

import workbench as wb
from tests.conftest import ROOT
from workbench.config import FIELDS, GROUPS

NOTEBOOK = ROOT / "notebooks" / "00_workbench.ipynb"
QUICK = dict(dataset="digits", model="mlp", hidden_units=[16], epochs=2)


def test_notebook_parameters_are_the_config_fields():
    nb = json.loads(NOTEBOOK.read_text())
    cell = next(c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))
    tree = ast.parse("".join(cell["source"]))
    params = {n.target.id: ast.literal_eval(n.value) for n in tree.body
              if isinstance(n, ast.AnnAssign)}
    assert set(params) == set(FIELDS) | {"autorun"}
    default = wb.ExperimentConfig().to_dict()
    assert {k: v for k, v in params.items() if k != "autorun"} == default


def test_controls_are_generated_from_field_metadata(tmp_path):
    panel = wb.widgets.ControlPanel(store=tmp_path / "runs")
    assert set(panel.controls) == set(FIELDS)
    assert list(panel.tabs.titles) == [g.capitalize() for g in GROUPS]
    assert type(panel.controls["optimizer"]).__name__ == "Dropdown"
    assert type(panel.controls["learning_rate"]).__name__ == "FloatLogSlider"
    assert type(panel.controls["prune_ratio"]).__name__ == "FloatSlider"
    assert type(panel.controls["quant_bits"]).__name__ == "Dropdown"
    # the learning rate follows the optimizer's default until the user moves it
    panel.set(optimizer="sgd")
    assert panel.controls["learning_rate"].value == pytest.approx(0.1)
    assert panel.config.learning_rate is None
    panel.set(learning_rate=0.02)
    panel.set(optimizer="adam")
    assert panel.config.learning_rate == pytest.approx(0.02)


def test_the_data_set_recipe_fills_the_controls_left_untouched(tmp_path):
    panel = wb.widgets.ControlPanel(store=tmp_path / "runs")
    panel.controls["epochs"].value = 5  # moved by the user: theirs from now on
    panel.controls["dataset"].value = "mnist1d"
    cfg = panel.config
    assert (cfg.epochs, cfg.batch_size, cfg.lr_schedule) == (5, 100, "cosine")
    assert cfg.lr == pytest.approx(0.01) and cfg.learning_rate is None
    assert panel.controls["batch_size"].value == 100
    assert panel.controls["lr_schedule"].value == "cosine"
    assert panel.controls["learning_rate"].value == pytest.approx(0.01)
    panel.controls["dataset"].value = "digits"
    cfg = panel.config
    assert (cfg.epochs, cfg.batch_size, cfg.lr_schedule, cfg.lr) == (5, 32, "constant", 1e-3)
    assert panel.controls["batch_size"].value == 32
    # notebook 00 passes every field explicitly: a control holding what its data set recommends
    # still follows the data set, a value of the user's own does not
    explicit = wb.ExperimentConfig.from_dict({**wb.ExperimentConfig().to_dict(), "batch_size": 64})
    panel = wb.widgets.ControlPanel(explicit, store=tmp_path / "runs")
    panel.set(dataset="mnist1d")
    assert (panel.config.epochs, panel.config.batch_size) == (60, 64)


def test_invalid_input_is_shown_and_disables_run(tmp_path):
    panel = wb.widgets.ControlPanel(store=tmp_path / "runs")
    before = panel.config
    with pytest.raises(wb.ConfigError, match="quant_bits"):
        panel.set(quant_mode="qat")  # qat needs quant_bits: nothing changes
    assert panel.config == before and not panel.run_button.disabled
    panel.controls["hidden_units"].value = "64,abc"  # typed by a user
    assert panel.run_button.disabled and "hidden_units" in panel.message.value
    assert "hidden_units" in panel.run_button.tooltip
    assert panel.run() is False and "cannot run" in panel.status_html.value
    panel.controls["hidden_units"].value = "64"
    assert not panel.run_button.disabled and panel.config.hidden_units == (64,)
    panel.controls["warmup_epochs"].value = 50  # a cross-field rule: warmup < epochs
    assert panel.run_button.disabled and "warmup_epochs" in panel.message.value


def test_the_preflight_sees_per_layer_pruning_alone(tmp_path):
    panel = wb.widgets.ControlPanel(wb.ExperimentConfig(prune_layer_ratios={"dense_1": 0.9}),
                                    store=False)
    assert panel.config.prunes and "compression off" not in panel.plan_html.value
    assert "dense_1" in panel.plan_html.value and "unstructured 0.9" in panel.plan_html.value


def test_a_data_path_in_the_panel_is_checked_and_shown(tmp_path):
    import numpy as np

    x = np.random.default_rng(0).normal(size=(40, 3)).astype("float32")
    np.savez(tmp_path / "d.npz", x=x, y=np.arange(40) % 2)
    panel = wb.widgets.ControlPanel(store=False)
    panel.controls["dataset"].text.value = str(tmp_path / "missing.npz")
    assert panel.run_button.disabled and "no such path" in panel.message.value
    panel.controls["dataset"].text.value = str(tmp_path / "d.npz")
    assert not panel.run_button.disabled and panel.config.dataset == str(tmp_path / "d.npz")
    assert "32 train / 8 test" in panel.data_html.value


def test_teaching_mode_fields_and_locked(tmp_path):
    panel = wb.widgets.ControlPanel(fields=["optimizer", "learning_rate", "epochs"],
                                    locked={"dataset": "moons", "model": "mlp"},
                                    store=False)
    assert set(panel.controls) == {"optimizer", "learning_rate", "epochs"}
    assert panel.config.dataset == "moons"
    with pytest.raises(wb.ConfigError, match="locked"):
        panel.set(dataset="digits")
    with pytest.raises(wb.ConfigError, match="hidden"):
        panel.set(batch_size=8)
    with pytest.raises(wb.UnknownFieldError):
        wb.widgets.ControlPanel(fields=["optimiser"], store=False)


@pytest.mark.keras
def test_run_wait_status_history_and_table_row(tmp_path):
    store = wb.RunStore(tmp_path / "runs")
    panel = wb.widgets.ControlPanel(wb.ExperimentConfig(**QUICK), store=store)
    panel.set(optimizer="nesterov", prune_ratio=0.5)
    assert "prune" in panel.plan_html.value and "dense_1" in panel.plan_html.value
    assert panel.run() is True
    assert panel.run() is False and "already in progress" in panel.status_html.value
    panel.set(epochs=3)  # during a run: applies to the next one, and says so
    assert "next run" in panel.message.value
    r = panel.wait(120)
    assert r.status == "completed" and len(r.history) == 2 and r.config.epochs == 2
    assert r.config.optimizer == "nesterov" and r.metrics["sparsity"] == pytest.approx(0.5, 0.01)
    assert "completed" in panel.status_html.value and r.run_id in panel.status_html.value
    assert r.run_id in panel.compare.table_html.value and r.run_id in store
    assert panel.progress.value == panel.progress.max
    # the comparison: clicking a run shows its commands, and loads it back
    panel.compare.show(r.run_id)
    assert "workbench train" in panel.compare.detail.value
    assert "papermill notebooks/00_workbench.ipynb" in panel.compare.detail.value
    panel.set(optimizer="adam")
    panel.compare._load_selected()
    assert panel.config.optimizer == "nesterov"
    assert panel.stop() is False and "nothing to stop" in panel.status_html.value


@pytest.mark.keras
def test_stop_mid_run_is_stopped_within_one_call(tmp_path):
    panel = wb.widgets.ControlPanel(wb.ExperimentConfig(**{**QUICK, "epochs": 200}),
                                    store=tmp_path / "runs")
    panel.run()
    deadline = time.monotonic() + 60
    while panel.last_step < 20 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert panel.stop() is True
    r = panel.wait(60)
    assert r.status == "stopped" and r.metrics["epochs_completed"] < 200
    # batches started after Stop: 0, or one call's worth if Stop came while its callbacks ran
    assert r.metrics["steps_per_execution"] > 1
    assert panel.batches_after_stop <= r.metrics["steps_per_execution"]
    assert panel.stop_latency is not None
    assert "stopped" in panel.status_html.value


@pytest.mark.keras
def test_failed_and_diverged_runs_leave_the_panel_usable(tmp_path):
    import numpy as np

    rng = np.random.default_rng(0)
    x = (rng.normal(size=(256, 4)) * 1e4).astype("float32")
    y = rng.integers(0, 2, 256)
    cfg = wb.ExperimentConfig(optimizer="sgd", learning_rate=10.0, epochs=5, batch_size=16)
    panel = wb.widgets.ControlPanel(cfg, store=tmp_path / "runs", data=(x, y, x, y))
    panel.run()
    r = panel.wait(120)
    assert r.status == "diverged" and "lower the learning rate" in panel.status_html.value
    # a failure from inside training: a teacher that does not exist is caught before training
    panel.set(learning_rate=0.05, distill_teacher="no-such-run")
    panel.run()
    panel.wait(60)
    assert "distill_teacher" in panel.status_html.value
    assert any("distill_teacher" in o.get("text", "") for o in panel.output.outputs)
    panel.set(distill_teacher=None)
    assert panel.run() is True and panel.wait(120).status == "completed"


@pytest.mark.notebook
def test_notebook_runs_headless_under_papermill(tmp_path):
    """papermill runs the default config (with quick overrides) and the static dashboard."""
    import papermill as pm

    out = tmp_path / "out.ipynb"
    pm.execute_notebook(str(NOTEBOOK), str(out), cwd=str(tmp_path), kernel_name="python3",
                        parameters={"epochs": 2, "prune_ratio": 0.5, "quant_bits": 4},
                        progress_bar=False)
    nb = json.loads(out.read_text())
    text = "".join(o.get("text", "") if isinstance(o.get("text"), str) else "".join(o.get(
        "text", [])) for c in nb["cells"] if c["cell_type"] == "code" for o in c["outputs"])
    assert "completed: test accuracy" in text and "bytes packed" in text
    mimes = {m for c in nb["cells"] if c["cell_type"] == "code" for o in c["outputs"]
             for m in o.get("data", {})}
    assert "application/vnd.plotly.v1+json" in mimes  # the static dashboard
    assert (tmp_path / "runs").is_dir() and len(wb.RunStore(tmp_path / "runs")) == 1


@pytest.mark.keras
def test_compare_view_over_a_store(tmp_path):
    store = wb.RunStore(tmp_path / "runs")
    for ratio in (0.0, 0.8):
        wb.run(wb.ExperimentConfig(**QUICK, prune_ratio=ratio), store=store, verbose=False)
    view = wb.widgets.compare(store)
    df = view.table()
    assert len(df) == 2 and "size_bytes_packed" in df
    ids = df["run_id"].tolist()
    assert all(i in view.table_html.value for i in ids)
    # the Pareto chart holds both runs; clicking a point shows that run
    shown = [c for t in view.pareto_fig.data for c in (t.customdata or [])]
    assert sorted(shown) == sorted(ids)
    view.show(ids[1])
    assert ids[1] in view.detail.value and "--prune-ratio" in view.detail.value
    view.select.value = tuple(ids)
    assert len(view.overlay_fig.data) == 2
