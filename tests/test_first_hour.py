"""The first hour of a new user: what the README says works, works, and the output is quiet.

Each test here failed before its fix (see issue "The first hour"): list parameters from the
command line, Ctrl-C on a sweep, an unguarded script calling ``wb.sweep``, ``make lab`` as root,
the Playground after ``compress``, the size line of an uncompressed run, the bit width of a
pruned 4-bit layer, and the noise lines of TensorFlow, absl and ipykernel.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

import workbench as wb
from tests.conftest import ROOT, run_cli

TINY = ROOT / "tests" / "data" / "tiny.ipynb"
OPTIMIZERS = ROOT / "notebooks" / "01_optimizers.ipynb"
PRUNING = ROOT / "notebooks" / "03_pruning.ipynb"

# What the commands may print: results, epoch lines and progress bars. Anything else
# (absl, oneDNN, the kernel's TCP warning, tracebacks) is noise.
ALLOWED = [re.compile(p) for p in (
    r"^epoch \d+/\d+ ", r"^run \S+ (completed|stopped|diverged|failed)", r"^packed: ",
    r"^compressed: ", r"^saved in ", r"^(keras|packed|tflite_\w+): ",
    r"^(completed|failed|interrupted)( in cell \d+)?: .*notebook\.ipynb", r"^  \w+: ",
    r"^\d+ of \d+ runs completed", r"^(Executing|sweep): +\d+%\|",
)]


def noise(*streams: str) -> list[str]:
    """The lines of the given outputs that no allow-list pattern accepts (tqdm's carriage
    returns split a bar into its updates)."""
    lines = [part.strip("\n") for text in streams for line in text.splitlines()
             for part in line.split("\r")]
    return [line for line in lines if line.strip() and not any(p.search(line) for p in ALLOWED)]


# --- broken as written ---

def test_json_values_for_list_parameters_from_the_command_line():
    from workbench.notebooks import check_parameters

    got = check_parameters(PRUNING, {"prune_ratios": "[0, 0.5, 0.9]", "epochs": "5"})
    assert got == {"prune_ratios": [0, 0.5, 0.9], "epochs": 5}
    with pytest.raises(wb.ConfigError, match=r"prune_ratios=.*JSON value of type list"):
        check_parameters(PRUNING, {"prune_ratios": "0,0.5"})
    with pytest.raises(wb.ConfigError, match="prune_ratios"):
        check_parameters(PRUNING, {"prune_ratios": "5"})  # JSON, but not a list
    assert check_parameters(TINY, {"name": "[1, 2]"}) == {"name": "[1, 2]"}  # str stays str
    help_text = run_cli("run-notebook", "--help").stdout
    assert "prune_ratios" in help_text and "JSON" in help_text


@pytest.mark.notebook
def test_run_notebook_takes_a_list_from_the_command_line_quietly(tmp_path):
    out = tmp_path / "pruning"
    r = run_cli("run-notebook", str(PRUNING), "-p", "epochs", "1", "-p", "prune_ratios",
                "[0, 0.9]", "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert json.loads((out / "params.json").read_text())["prune_ratios"] == [0, 0.9]
    assert noise(r.stdout, r.stderr) == []
    assert "Executing" in r.stderr  # progress while the notebook runs


def _kill_tree_with_sigint(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends: the whole group


@pytest.mark.notebook
@pytest.mark.parametrize("whole_group", [True, False], ids=["terminal", "parent-only"])
def test_ctrl_c_on_a_sweep_exits_130_and_leaves_a_true_results_csv(tmp_path, whole_group):
    out = tmp_path / "sweep"
    proc = subprocess.Popen(
        [sys.executable, "-m", "workbench", "sweep", str(TINY), "-o", str(out), "--grid",
         "x=1,2,3,4", "-p", "sleep", "120", "--workers", "2"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:  # both workers are inside a notebook
        if len(list(out.glob("*/notebook.ipynb"))) >= 2:
            break
        time.sleep(0.5)
    time.sleep(3)
    t0 = time.monotonic()
    if whole_group:
        _kill_tree_with_sigint(proc)
    else:
        proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    waited = time.monotonic() - t0
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "AttributeError" not in stderr
    assert waited < 30, waited  # running notebooks are stopped, not waited for (120 s)
    import pandas as pd

    df = pd.read_csv(out / "results.csv")
    assert len(df) == 4
    assert sorted(df.status) == ["cancelled", "cancelled", "interrupted", "interrupted"]
    assert "--resume" in " ".join(df.error.dropna())
    time.sleep(2)
    left = subprocess.run(["pgrep", "-f", str(out)], capture_output=True, text=True).stdout
    assert left.strip() == ""  # no worker or kernel keeps running


@pytest.mark.notebook
def test_an_unguarded_script_can_call_sweep(tmp_path):
    script = tmp_path / "sweep_script.py"
    script.write_text(
        "import workbench as wb\n"
        "print('script body', flush=True)\n"
        f"df = wb.sweep({str(TINY)!r}, {{'x': [1, 2]}}, 'out', workers=2, progress=False)\n"
        "print(list(df.status))\n")
    r = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("script body") == 1  # the workers did not re-run the script
    assert "['completed', 'completed']" in r.stdout


@pytest.mark.slow
def test_make_lab_starts_as_root(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("the --allow-root case needs root")
    proc = subprocess.Popen(["make", "lab"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True,
                            env={**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path)})
    try:
        deadline, seen = time.monotonic() + 120, ""
        while time.monotonic() < deadline and "http://127.0.0.1:" not in seen:
            line = proc.stdout.readline()
            if not line:
                break
            seen += line
        assert "Running as root is not recommended" not in seen, seen
        assert "http://127.0.0.1:" in seen, seen
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


@pytest.mark.keras
def test_playground_prune_and_retrain_after_compress_is_the_retrained_network():
    from workbench import teach

    pg = teach.Playground("moons", hidden_units=[8, 8], seed=0).train(30)
    assert pg.compress(quant_bits=2).compressed
    retrained = pg.prune_and_retrain(0.7, epochs=10)
    assert not retrained.compressed  # the 2-bit view is gone: the accuracy is the network's
    assert retrained.accuracy("test") == retrained.accuracy("test", compressed=False)


@pytest.mark.keras
def test_size_lines_say_what_happened(tmp_path):
    plain = run_cli("train", "--epochs", "1", "--runs-dir", str(tmp_path))
    assert plain.returncode == 0, plain.stderr
    assert "smaller" not in plain.stdout and "weights not compressed" in plain.stdout
    small = run_cli("train", "--epochs", "1", "--prune-ratio", "0.9", "--quant-bits", "4",
                    "--runs-dir", str(tmp_path))
    assert re.search(r"\d+\.\dx smaller than float32", small.stdout), small.stdout
    for r in (plain, small):
        assert noise(r.stdout, r.stderr) == []  # 0 lines of TensorFlow or absl


@pytest.mark.keras
def test_size_report_counts_the_grid_not_the_levels_pruning_left():
    import workbench.compress as C
    from workbench._tf import keras

    keras.utils.set_random_seed(0)
    m = keras.Sequential([keras.Input((64,)), keras.layers.Dense(32), keras.layers.Dense(10)])
    report = C.size_report(C.quantize(C.prune(m, 0.9), 4))
    assert (report["bits"] == 4).all(), report["bits"]
    assert (C.size_report(C.cluster(m, 8))["bits"] == 3).all()  # 8 centroids: 3 bits


# --- quiet ---

@pytest.mark.notebook
def test_a_sweep_prints_nothing_but_progress_and_results(tmp_path):
    r = run_cli("sweep", str(OPTIMIZERS), "-o", str(tmp_path / "sw"), "--grid", "seed=0,1",
                "-p", "epochs", "1", "-p", "optimizers", '["adam"]', "--workers", "2",
                timeout=600)
    assert r.returncode == 0, r.stderr
    assert noise(r.stdout, r.stderr) == []
    assert "2 of 2 runs completed" in r.stdout
    for nb_path in (tmp_path / "sw").glob("*/notebook.ipynb"):
        nb = json.loads(nb_path.read_text())
        stderr = [o.get("text", "") for c in nb["cells"] if c["cell_type"] == "code"
                  for o in c.get("outputs", []) if o.get("name") == "stderr"]
        joined = "".join("".join(t) if isinstance(t, list) else t for t in stderr)
        assert "absl" not in joined and "oneDNN" not in joined and "TCP" not in joined
        html = nb_path.with_suffix(".html").read_text()
        assert "absl::InitializeLog" not in html and "oneDNN custom" not in html
        assert "plotly.min.js" in html  # one plotly.js shared by the sweep's runs
    assert (tmp_path / "sw" / "_assets" / "plotly.min.js").exists()


@pytest.mark.keras
def test_verbose_brings_the_logs_back(tmp_path):
    r = run_cli("train", "--epochs", "1", "--runs-dir", str(tmp_path), "--verbose")
    assert r.returncode == 0
    assert "oneDNN" in r.stderr or "absl" in r.stderr


def test_quiet_import_keeps_real_errors(tmp_path):
    """The filter drops TensorFlow's four import notices and nothing else."""
    from workbench._tf import IMPORT_NOTICES

    notices = [b"WARNING: All log messages before absl::InitializeLog() is called are written "
               b"to STDERR", b"I0000 00:00:1796130176.619723   11707 port.cc:153] oneDNN "
               b"custom operations are on. You may see slightly different numerical results"]
    assert all(IMPORT_NOTICES.match(n) for n in notices)
    assert not IMPORT_NOTICES.match(b"E0000 00:00:1.2 1 cuda.cc:1] failed to load libcuda")
    assert not IMPORT_NOTICES.match(b"Traceback (most recent call last):")


def test_sweep_html_is_small_and_shares_its_scripts(tmp_path):
    """A sweep run's page links the sweep's one plotly.js and MathJax instead of inlining
    4.8 MB of them; a page on its own inlines them (it must render wherever it is copied)."""
    import nbformat

    from workbench.html_export import notebook_html

    fig = {"data": [{"type": "scatter", "x": [1, 2], "y": [3, 4]}], "layout": {}}
    out = nbformat.v4.new_output("display_data", data={
        "application/vnd.plotly.v1+json": fig, "text/plain": "Figure"})
    cell = nbformat.v4.new_code_cell("fig")
    cell.outputs = [out]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("$$e^x$$"), cell])
    shared = notebook_html(nb, tmp_path / "run" / "notebook.html", assets=tmp_path / "_assets")
    alone = notebook_html(nb, tmp_path / "alone.html")
    text = shared.read_text()
    assert shared.stat().st_size < 1_000_000 < alone.stat().st_size
    assert '<script src="../_assets/plotly.min.js">' in text
    assert '<script src="../_assets/mathjax-tex-svg.js">' in text
    assert not re.search(r"<(script|link)[^>]+(src|href)=\"https?:", text)  # no network
    assert (tmp_path / "_assets" / "mathjax-tex-svg.js").stat().st_size > 1_000_000
    assert "Plotly.newPlot" in text


def test_run_names_say_what_differs():
    from workbench.naming import run_names

    rows = [{"prune_ratio": 0.5, "quant_bits": None, "epochs": 4},
            {"prune_ratio": 0.9, "quant_bits": 4, "epochs": 4}]
    assert run_names(rows) == ["prune 0.5 · float32", "prune 0.9 · 4 bit"]
    assert run_names([{"seed": 0}, {"seed": 0}], fallback=["a1", "b2"]) == ["a1", "b2"]
    twins = run_names([{"seed": 0}, {"seed": 0}], keys=["seed"], fallback=["a1", "b2"])
    assert twins == ["seed 0 (a1)", "seed 0 (b2)"]


def test_panel_controls_are_labelled_for_people():
    from workbench.config import FIELDS
    from workbench.widgets.controls import make_control

    w = make_control(FIELDS["quant_bits_conv"], None)
    assert w.description == "Conv bits" and "quant_bits_conv" in w.tooltip
    assert all(spec.label for spec in FIELDS.values())


@pytest.mark.keras
def test_the_search_pareto_list_merges_repeated_trials(tmp_path):
    base = wb.ExperimentConfig(dataset="digits", model="logistic", epochs=1,
                               max_train_samples=200)
    res = wb.search(base, wb.SearchSpace({"optimizer": ["adam"]}), sampler="random", n_trials=3,
                    objectives=("test_accuracy:max", "size_bytes_packed:min"),
                    store=tmp_path / "runs", storage=None)
    assert len(res.table()) == 3  # the one point, proposed three times
    front = res.pareto()
    assert len(front) == 1 and int(front["duplicates"].iloc[0]) == 2


@pytest.mark.keras
def test_quiet_changes_no_number(tmp_path):
    """The quiet import only moves TensorFlow's notices: the same run, quiet and verbose, in
    fresh processes, gives a bit-identical history."""
    histories = []
    for verbose in ("0", "1"):
        runs = tmp_path / f"runs-{verbose}"
        r = run_cli("train", "--epochs", "2", "--seed", "3", "--runs-dir", str(runs),
                    env={"WORKBENCH_VERBOSE": verbose})
        assert r.returncode == 0, r.stderr
        import pandas as pd

        h = pd.read_csv(next(runs.glob("*/history.csv")))
        histories.append(h.drop(columns=[c for c in h.columns if "time" in c]))
    assert histories[0].equals(histories[1])
