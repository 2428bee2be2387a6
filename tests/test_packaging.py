"""Packaging promises: fast TF-free import, the CLI help, environment.yml == pyproject."""

from __future__ import annotations

import subprocess
import sys
import tomllib

import yaml

from tests.conftest import ROOT, run_cli


def test_import_workbench_does_not_import_tensorflow():
    code = ("import sys, workbench as wb; wb.ExperimentConfig(); wb.schedule_preview("
            "wb.ExperimentConfig()); wb.datasets(); wb.models(); wb.RunStore('x').table();"
            "heavy = ('tensorflow', 'keras', 'plotly', 'ipywidgets');"
            "bad = [m for m in heavy if m in sys.modules];"
            "print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr


def test_teach_module_imports_without_tensorflow():
    code = ("import sys; from workbench import teach; teach.surface('bowl');"
            "print([m for m in ('tensorflow', 'keras') if m in sys.modules])")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0 and r.stdout.strip() == "[]", r.stdout + r.stderr


def test_cli_help_does_not_import_tensorflow():
    code = ("import sys; from workbench.cli import main\n"
            "try:\n    main(['train', '--help'])\nexcept SystemExit:\n    pass\n"
            "sys.exit(1 if 'tensorflow' in sys.modules else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert "--learning-rate" in r.stdout and "--hidden-units" in r.stdout


def test_environment_yml_mirrors_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = set(project["dependencies"]) | set(project["optional-dependencies"]["dev"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    listed = {d for d in pip_section if d != "-e ."}
    assert listed == wanted, {"only in pyproject": wanted - listed,
                              "only in environment.yml": listed - wanted}
    assert "python=3.11" in env["dependencies"]


def test_every_cli_command_has_help():
    from workbench.cli import _COMMANDS

    for cmd in _COMMANDS:
        r = run_cli(cmd, "--help")
        assert r.returncode == 0 and f"usage: workbench {cmd}" in r.stdout, cmd


def test_the_public_names_are_the_eager_and_the_lazy_ones():
    import types

    import workbench as wb

    lazy = set(wb._LAZY_ATTRS) | set(wb._LAZY_MODULES)
    eager = {n for n, v in vars(wb).items() if not n.startswith("_") and n not in lazy
             and not isinstance(v, types.ModuleType) and n not in ("annotations",
                                                                    "TYPE_CHECKING", "Any")}
    assert set(wb.__all__) == eager | {"__version__"} | lazy
    for name in wb.__all__:
        assert getattr(wb, name) is not None, name
