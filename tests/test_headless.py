"""Headless notebooks, sweeps and reports: papermill runs of the real notebooks (notebook tier),
the parameter checks (fast), and the report in headless Chromium with the network blocked."""

from __future__ import annotations

import json
import os

import pytest

import workbench as wb
from tests.conftest import ROOT, run_cli
from workbench.notebooks import check_parameters, notebook_parameters

NOTEBOOKS = ROOT / "notebooks"
TINY = ROOT / "tests" / "data" / "tiny.ipynb"
QUICK = {
    "01_optimizers": {"epochs": 2, "optimizers": ["sgd", "adam"]},
    "02_lr_schedules": {"epochs": 2, "schedules": ["constant", "cosine"]},
    "03_pruning": {"epochs": 2, "prune_ratios": [0.0, 0.8]},
    "04_quantization": {"epochs": 2, "bits": [8, 2], "modes": ["ptq", "qat"]},
    "05_compression_pipeline": {"epochs": 2, "dense_epochs": 4},
    "06_distillation": {"epochs": 2},
    "08_compress_trained": {"epochs": 4, "ratios": [0.5, 0.9], "bits": [4]},
    "09_your_data": {"epochs": 2, "sweep": False},  # the README and test_scaleout sweep paths
    "20_mnist1d": {"quick": True},
    "21_deep_compression": {"quick": True},
    "22_to_prune_or_not": {"quick": True},
    "23_adam_and_its_ancestors": {"quick": True},
    "24_optimizer_benchmark": {"quick": True, "problem": "mnist1d"},
}

# the teaching notebooks, with quick parameters, and the claims each one makes
TEACHING = {
    "10_gradient_descent": {"frames": 10, "saddle_steps": 200},
    "11_loss_landscape": {"epochs": 4, "resolution": 9, "snapshot_every": 10},
    "12_playground": {"epochs": 30, "every": 10, "prune_ratios": [0.0, 0.5], "bits": [4, 2],
                      "retrain_epochs": 5},
    "13_compression_explained": {"epochs": 5, "sweep_bits": [8, 4, 2], "bits": [4, 2]},
}


# --- parameter checks: before any kernel starts (fast) ---

def test_every_notebook_has_documented_parameters():
    for path in sorted(NOTEBOOKS.glob("[012]*.ipynb")):
        params = notebook_parameters(path)
        assert params, path
        for p in params.values():
            assert p.help, f"{path.name}: parameter {p.name} has no help comment"
        if path.stem in QUICK or path.stem in TEACHING:
            assert "output_dir" in params


def test_every_notebook_is_valid_nbformat_with_cell_ids():
    import warnings

    import nbformat

    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a missing cell id is only a warning, printed
            nb = nbformat.read(str(path), as_version=4)  # by papermill on every run
            nbformat.validate(nb)
        assert all(c.get("id") for c in nb.cells), path.name


def test_parameters_cells_are_written_from_the_field_specs():
    import importlib.util

    import nbformat

    spec = importlib.util.spec_from_file_location("sync", ROOT / "scripts" / "sync_parameters.py")
    sync = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sync)
    generated = []
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        nb = nbformat.read(str(path), as_version=4)
        want = sync.expected_source(nb, path.stem)
        if want is None:
            continue
        cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        assert cell.source == want, f"{path.name}: run scripts/sync_parameters.py"
        generated.append(path.stem)
    assert {"00_workbench", "01_optimizers", "03_pruning", "05_compression_pipeline",
            "07_search"} <= set(generated)


def test_unknown_parameter_lists_the_valid_ones():
    nb = NOTEBOOKS / "05_compression_pipeline.ipynb"
    with pytest.raises(wb.UnknownFieldError) as e:
        check_parameters(nb, {"prune_ration": 0.5})
    assert "did you mean 'prune_ratio'" in str(e.value) and "quant_bits" in str(e.value)


@pytest.mark.parametrize("params,field", [
    ({"epochs": "abc"}, "epochs"), ({"prune_ratio": 1.5}, "prune_ratio"),
    ({"quant_bits": 9}, "quant_bits"), ({"distill": "maybe"}, "distill")])
def test_wrong_types_and_values(params, field):
    with pytest.raises(wb.ConfigError) as e:
        check_parameters(NOTEBOOKS / "05_compression_pipeline.ipynb", params)
    assert e.value.field == field


def test_command_line_strings_are_parsed_and_strings_stay_strings():
    out = check_parameters(NOTEBOOKS / "05_compression_pipeline.ipynb",
                           {"epochs": "3", "quant_bits": "None", "distill": "false"})
    assert out == {"epochs": 3, "quant_bits": None, "distill": False}
    code = "__import__('os').system('touch pwned')"
    assert check_parameters(TINY, {"name": code}) == {"name": code}


def test_missing_notebook_and_no_parameters_cell(tmp_path):
    with pytest.raises(wb.WorkbenchError, match="does not exist"):
        wb.run_notebook(tmp_path / "nope.ipynb", {}, tmp_path / "out")
    with pytest.raises(wb.WorkbenchError, match="no cell tagged 'parameters'"):
        wb.run_notebook(ROOT / "tests" / "data" / "no_parameters.ipynb", {}, tmp_path / "o")
    assert not (tmp_path / "out").exists()


def test_cli_bad_parameter_exits_2_naming_it(tmp_path):
    r = run_cli("run-notebook", str(TINY), "-p", "xx", "1", "-o", str(tmp_path / "o"))
    assert r.returncode == 2 and "'xx' is not a parameter" in r.stderr
    r = run_cli("sweep", str(TINY), "--grid", "x=1,abc", "-o", str(tmp_path / "s"))
    assert r.returncode == 2 and "x=" in r.stderr


# --- real kernels ---

@pytest.mark.notebook
@pytest.mark.parametrize("name", sorted(QUICK))
def test_notebook_runs_headless(name, tmp_path):
    r = wb.run_notebook(NOTEBOOKS / f"{name}.ipynb", QUICK[name], tmp_path / name)
    assert r.status == "completed", r.error
    assert 0 <= r.results["test_accuracy"] <= 1
    html = (tmp_path / name / "notebook.html").read_text()
    assert "plotly" in html and "import workbench as wb" not in html  # code inputs hidden
    assert json.loads((tmp_path / name / "status.json").read_text())["status"] == "completed"


@pytest.mark.notebook
@pytest.mark.parametrize("name", sorted(TEACHING))
def test_teaching_notebook_runs_headless_and_its_claims_hold(name, tmp_path):
    r = wb.run_notebook(NOTEBOOKS / f"{name}.ipynb", TEACHING[name], tmp_path / name)
    assert r.status == "completed", r.error
    res = r.results
    html = (tmp_path / name / "notebook.html").read_text()
    assert "plotly" in html and "What you will see" in html and "Question to think about" in html
    if name == "10_gradient_descent":
        assert res["rosenbrock_steps_momentum"] < (res["rosenbrock_steps_sgd"] or 10 ** 9)
        assert res["rosenbrock_steps_nesterov"] < (res["rosenbrock_steps_sgd"] or 10 ** 9)
        assert res["bowl_loss_adam"] < res["bowl_loss_sgd"] / 100 and res["bowl_zigzags_sgd"] > 50
        assert res["saddle_loss_momentum"] < res["saddle_loss_gd"]
        # section 4's claim, as its figure shows it: the decaying step averages the noise away
        assert res["stochastic_tail_loss_decaying"] < res["stochastic_tail_loss_constant"] / 2
        assert html.count("Plotly.addFrames") >= 5  # every path figure is animated in the HTML
    elif name == "11_loss_landscape":
        assert res["grid_centre_loss"] == res["origin_loss"]
        assert res["origin_loss"] == pytest.approx(res["evaluate_loss"], rel=1e-5)
    elif name == "12_playground":
        assert res["test_accuracy"] >= 0.95
        assert res["quantized_max_distinct"]["2"] <= 4 and res["quantized_max_distinct"]["4"] <= 16
        assert res["retrained_sparsity"] == pytest.approx(0.7, abs=0.02)
        assert res["retrained_accuracy"] > res["one_shot_pruned_accuracy"]
    else:
        assert res["max_distinct"]["4"] <= 16 and res["max_distinct"]["2"] <= 4
        assert res["sparsity"] == pytest.approx(0.8, abs=0.01)


@pytest.mark.notebook
def test_the_report_groups_a_seeded_sweep_as_mean_and_std(tmp_path):
    out = tmp_path / "bench"
    r = run_cli("sweep", str(ROOT / "tests" / "data" / "seeded.ipynb"), "-o", str(out),
                "--grid", "x=1,2", "--grid", "seed=0,1,2", "--workers", "2", "--report")
    assert r.returncode == 0, r.stderr
    page = (out / "index.html").read_text()
    assert "Mean ± standard deviation over 3 seeds, by setting" in page
    # x=1: 0.60, 0.61, 0.62 -> 61% ± 1%; x=2 ranks first at 71% ± 1%
    assert "61.00% ± 1.00%" in page and "71.00% ± 1.00%" in page
    table = page.split("by setting</h2>", 1)[1].split("</table>", 1)[0]
    assert table.index("71.00%") < table.index("61.00%")  # ranked: best first
    assert "mean ± std over seeds" in page  # the parameter chart is of the means
    # a benchmark over several problems ranks within each (here x stands for the problem)
    within = wb.report(out, rank_within=["x"]).read_text().split("by setting</h2>", 1)[1]
    assert "Rank (per x)" in within
    assert [c.split("</td>")[0] for c in within.split("<tr><td>")[1:3]] == ["1", "1"]
    with pytest.raises(wb.ConfigError, match="rank_within='nope'"):
        wb.report(out, rank_within=["nope"])


@pytest.mark.notebook
def test_failures_are_reported_and_strings_never_run(tmp_path):
    code = "__import__('os').system('touch pwned')"
    r = wb.run_notebook(TINY, {"name": code}, tmp_path / "ok")
    assert r.status == "completed" and r.results["name"] == code
    assert not (tmp_path / "ok" / "pwned").exists()
    r = wb.run_notebook(TINY, {"fail": True, "x": 7}, tmp_path / "raise")
    # the cell index is in the executed notebook (papermill injects a cell after parameters)
    assert r.status == "failed" and "asked to fail (x=7)" in r.error and r.cell == 3
    assert (tmp_path / "raise" / "notebook.ipynb").exists()  # the annotated notebook is kept
    r = wb.run_notebook(TINY, {"crash": True}, tmp_path / "crash")
    assert r.status == "failed" and r.error


@pytest.mark.notebook
def test_sweep_with_a_failure_then_resume(tmp_path):
    out = tmp_path / "sweep"
    flag = tmp_path / "flag"
    runs = [{"x": 1}, {"x": 2}, {"x": 3}, {"x": 4, "need_file": str(flag)}]
    df = wb.sweep(TINY, runs=runs, output_dir=out, workers=2, progress=False)
    assert sorted(df.status) == ["completed"] * 3 + ["failed"]
    bad = df[df.status == "failed"].iloc[0]
    assert "FileNotFoundError" in bad.error and bad.cell == 3
    assert (out / "results.csv").exists() and len(list(out.glob("*/notebook.ipynb"))) == 4
    stamps = {p.parent.name: p.stat().st_mtime_ns for p in out.glob("*/status.json")}
    flag.write_text("now it exists")  # the transient cause is gone: resume reruns only it
    df2 = wb.sweep(TINY, runs=runs, output_dir=out, workers=2, progress=False)
    assert sorted(df2.status) == ["completed"] * 4
    again = {p.parent.name: p.stat().st_mtime_ns for p in out.glob("*/status.json")}
    assert sorted(again[k] == v for k, v in stamps.items()) == [False, True, True, True]
    df3 = wb.sweep(TINY, runs=runs, output_dir=out, workers=2, progress=False, resume=False)
    final = {p.parent.name: p.stat().st_mtime_ns for p in out.glob("*/status.json")}
    assert all(final[k] != v for k, v in again.items()) and len(df3) == 4


@pytest.mark.notebook
def test_sweep_on_a_dask_local_cluster(tmp_path):
    df = wb.sweep(TINY, {"x": [1, 2]}, tmp_path / "dask", workers=2, executor="dask",
                  progress=False)
    assert list(df.status) == ["completed", "completed"]
    assert sorted(df.test_accuracy) == [0.1, 0.2]


@pytest.mark.notebook
@pytest.mark.browser
@pytest.mark.system
def test_report_renders_offline_in_chromium(tmp_path):
    from tests.browser import CHROMIUM
    from tests.conftest import require_system

    require_system(CHROMIUM.exists(), "Debian's chromium")
    out = tmp_path / "sweep"
    evil = "<script>window.pwned=1</script>"
    wb.sweep(TINY, {"x": [1, 2, 3], "name": [evil]}, out, workers=2, progress=False)
    page_path = wb.report(out, title="report <b>test</b>")
    text = page_path.read_text()
    assert evil not in text and "&lt;script&gt;" in text
    assert text.count("plotly.js v") <= 2  # plotly.js inlined once (its banner)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM),
                                    args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        from tests.browser import offline

        external = offline(page, ("file://",))
        page.goto(page_path.as_uri())
        page.wait_for_selector(".js-plotly-plot", timeout=30_000)
        n = page.evaluate("document.querySelectorAll('.js-plotly-plot').length")
        assert n >= 2, n  # the Pareto chart and the x-against-accuracy chart
        assert page.evaluate("window.pwned") is None
        from tests.browser import CLIPPED_TITLES_JS

        for width in (1000, 1400):
            page.set_viewport_size({"width": width, "height": 900})
            page.wait_for_timeout(1000)  # responsive charts redraw after the resize event
            assert page.evaluate(CLIPPED_TITLES_JS) == [], width  # titles and axes whole
            wide = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
            assert not wide, width  # the runs table scrolls inside its box, not the page
        page.screenshot(path=str(ROOT / "test-artifacts" / "report.png"), full_page=True)
        browser.close()
    assert external == []
    assert os.path.exists(out / "results.csv")


@pytest.mark.notebook
def test_live_telemetry_notebook_ends_with_a_static_figure_in_the_html(tmp_path):
    """Without a frontend the LivePlot's display becomes a static go.Figure, which the HTML
    export renders offline (plotly.js inlined)."""
    r = wb.run_notebook(NOTEBOOKS / "live_telemetry.ipynb", {"epochs": 2, "background": False},
                        tmp_path / "live")
    assert r.status == "completed", r.error
    nb = json.loads((tmp_path / "live" / "notebook.ipynb").read_text())
    mimes = [set(o.get("data", {})) for c in nb["cells"] if c["cell_type"] == "code"
             for o in c["outputs"]]
    assert any("application/vnd.plotly.v1+json" in m for m in mimes)
    assert not any("application/vnd.jupyter.widget-view+json" in m for m in mimes)
    html = (tmp_path / "live" / "notebook.html").read_text()
    assert "Plotly.newPlot" in html or "plotly.js" in html.lower()


def test_report_opens_with_a_summary_and_shows_the_dense_run(tmp_path):
    rows = [({"prune_ratio": 0.5}, 0.965, 20_000), ({"prune_ratio": 0.9}, 0.962, 9_000),
            ({"prune_ratio": 0.95}, 0.90, 6_000)]
    for i, (params, acc, size) in enumerate(rows):
        d = tmp_path / f"run{i}"
        d.mkdir()
        (d / "params.json").write_text(json.dumps(params))
        (d / "status.json").write_text(json.dumps({"status": "completed"}))
        (d / "results.json").write_text(json.dumps({
            "test_accuracy": acc, "size_bytes_packed": size, "compression_ratio": 200_000 / size,
            "baseline_accuracy": 0.97, "size_bytes_float32": 200_000}))
    page = wb.report(tmp_path).read_text()
    summary = page[page.index("Summary"): page.index("</ul>")]
    assert "reference (dense run): test accuracy <b>97.00%</b>" in summary
    assert "smallest within 1 pt of the reference: <b>prune 0.9</b>" in summary
    assert "-0.80 pt" in summary and "9.0 KB packed" in summary
    assert "dense run (float32)" in page
    front = page[page.index("Pareto front ("): page.index("</table>")]  # the summary's table
    assert front.count("<tr>") == 1 + 3  # header + every run (each is smaller or better)
    assert "Packed size (KB)" in page and "Pruning ratio (fraction of weights)" in page
