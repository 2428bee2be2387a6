"""The ``workbench`` command line. Every ``train`` flag is generated from the config fields.

Exit codes: 0 ok; 1 the run failed or diverged; 2 bad input (the message names the field);
130 interrupted. ``workbench --help`` does not import TensorFlow.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from workbench.config import (
    FIELDS,
    GROUPS,
    RECIPE_FIELDS,
    ExperimentConfig,
    FieldSpec,
    load_config_file,
)
from workbench.exceptions import RunFailed, WorkbenchError
from workbench.hpsearch import DEFAULT_OBJECTIVES, SAMPLERS
from workbench.search_storage import DEFAULT_STORAGE, STORAGE_ENV


class _Parser(argparse.ArgumentParser):
    """argparse that suggests the closest flag for a mistyped one."""

    def error(self, message: str) -> NoReturn:
        if "unrecognized arguments:" in message:
            flags = _all_flags(self)
            for bad in message.split(":", 1)[1].split():
                close = difflib.get_close_matches(bad.split("=")[0], flags, n=1)
                if close:
                    message += f" (did you mean {close[0]}?)"
                    break
        self.exit(2, f"{self.prog}: error: {message}\n")


def _all_flags(parser: argparse.ArgumentParser) -> list[str]:
    flags = []
    for action in parser._actions:
        flags.extend(action.option_strings)
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                flags.extend(_all_flags(sub))
    return flags


def _metavar(spec: FieldSpec) -> str:
    if spec.kind == "str_list":
        return "NAME,..."
    if spec.kind == "int_list":
        return "INT,..."
    if spec.kind == "ratio_map":
        return "LAYER=RATIO,..."
    if spec.metavar:
        return spec.metavar
    return "NAME" if spec.kind == "str" and spec.choices else spec.kind.upper()


def _add_config_flags(p: argparse.ArgumentParser) -> None:
    for group in GROUPS:
        specs = [s for s in FIELDS.values() if s.group == group]
        if not specs:
            continue
        g = p.add_argument_group(f"{group} settings")
        for spec in specs:
            default = list(spec.default) if isinstance(spec.default, tuple) else spec.default
            g.add_argument(spec.flag, dest=spec.name, default=argparse.SUPPRESS,
                           metavar=_metavar(spec),
                           help=(f"{spec.title}: {spec.help} Allowed: {spec.describe_allowed()}."
                                 + ("" if spec.name in RECIPE_FIELDS else f" Default: {default}.")
                                 ).replace("%", "%%"))  # a recipe field's help says its default


_P_VALUES = ("A VALUE for a parameter that is not a string is JSON: -p prune_ratios "
             "'[0, 0.5, 0.9]', -p init_from null, -p layers '{\"dense_1\": 0.9}'; config "
             "fields also take their flag syntax (-p hidden_units 128,64).")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``workbench`` command."""
    p = _Parser(prog="workbench", description="Train, compress and compare Keras 3 models.")
    from workbench._version import __version__

    p.add_argument("--version", action="version", version=f"nn-workbench {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    t = sub.add_parser("train", help="run one experiment",
                       description="Run one experiment. Flags override --config values.")
    t.add_argument("--config", metavar="FILE", help="JSON or YAML file of config fields")
    t.add_argument("--runs-dir", default="runs", metavar="DIR",
                   help="run store folder (default: runs)")
    t.add_argument("--quiet", action="store_true", help="no per-epoch lines")
    t.add_argument("--trust", action="store_true",
                   help="import a package.module:function data set that --init-from's run "
                   "names (code read from a run folder is not imported otherwise)")
    t.add_argument("--workers", type=int, default=1, metavar="N",
                   help="train one model on N local processes (127.0.0.1) with "
                        "strategy=multi_worker; rank 0 prints and records the run")
    _add_config_flags(t)

    r = sub.add_parser("runs", help="list the runs in a store")
    r.add_argument("--runs-dir", default="runs", metavar="DIR")
    r.add_argument("--all-columns", action="store_true", help="show every config field")

    d = sub.add_parser("datasets", help="list data sets and whether they load offline here",
                       description="List the named data sets (built-in, registered, plug-ins), "
                       "or --check one: its splits, shape, classes, a few samples and what "
                       "loading converted.")
    d.add_argument("--check", metavar="DATA", default=None,
                   help="a name, a .npz/.csv/.parquet file, an image folder or module:function")
    for name in ("test_split", "image_size", "image_mode", "label_column"):
        spec = FIELDS[name]
        d.add_argument(spec.flag, dest=name, default=argparse.SUPPRESS, metavar=_metavar(spec),
                       help=f"{spec.help} Allowed: {spec.describe_allowed()}."
                       .replace("%", "%%"))
    sub.add_parser("models", help="list model architectures")

    n = sub.add_parser("run-notebook", help="run a parameterized notebook headless",
                       description="Run a notebook with checked parameters; writes the executed "
                       "notebook, its HTML (inputs hidden) and its results into -o DIR.")
    n.add_argument("notebook")
    n.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                   metavar=("NAME", "VALUE"), help=f"a parameter (repeatable). {_P_VALUES}")
    n.add_argument("-o", "--output-dir", required=True, metavar="DIR")
    n.add_argument("--timeout", type=float, default=None, help="seconds per cell")

    w = sub.add_parser("sweep", help="run a notebook over a parameter grid, in parallel",
                       description="Every combination of the --grid values runs headless in "
                       "its own folder under -o DIR; results.csv collects them.")
    w.add_argument("notebook")
    w.add_argument("--grid", action="append", default=[], metavar="NAME=V1,V2,...",
                   help="values of one parameter (repeatable); lists as [1,2];[3]")
    w.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                   metavar=("NAME", "VALUE"),
                   help=f"a fixed parameter for every run (repeatable). {_P_VALUES}")
    w.add_argument("-o", "--output-dir", required=True, metavar="DIR")
    w.add_argument("--workers", type=int, default=2)
    w.add_argument("--executor", choices=("local", "dask"), default="local")
    w.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="a Dask scheduler (tcp://host:8786); default: $WORKBENCH_SCHEDULER, "
                        "else a local cluster. Its workers need no shared disk")
    w.add_argument("--max-return-mb", type=float, default=200.0, metavar="MB",
                   help="with --executor dask: the most one run folder may send back "
                        "(default: 200)")
    w.add_argument("--max-data-mb", type=float, default=500.0, metavar="MB",
                   help="with --executor dask: the most a --dataset/--model file or folder may "
                        "weigh; it travels to the workers (default: 500)")
    w.add_argument("--resume", action=argparse.BooleanOptionalAction, default=True,
                   help="skip runs already completed in DIR (default: on)")
    w.add_argument("--timeout", type=float, default=None, help="seconds per cell")
    w.add_argument("--report", action="store_true", help="write DIR/index.html afterwards")
    w.add_argument("--rank-within", action="append", default=None, metavar="NAME",
                   help="with --report: rank the settings within each value of this parameter "
                   "(e.g. problem; default: dataset when it is swept)")

    s = sub.add_parser("search", help=f"search config fields with Optuna ({', '.join(SAMPLERS)})",
                       description="Every trial is a run in --runs-dir; the same --storage and "
                       "--study resume a search (several processes may share one).")
    s.add_argument("--space", required=True, metavar="FILE",
                   help="YAML: field: [values] or field: {uniform|loguniform|int: [lo, hi]}")
    s.add_argument("--sampler", default="tpe", choices=list(SAMPLERS), metavar="NAME",
                   help="; ".join(f"{n}: {i.description}" for n, i in SAMPLERS.items())
                   + " (default: tpe)")
    s.add_argument("--trials", type=int, default=20)
    s.add_argument("--timeout", type=float, default=None, help="seconds for this call")
    s.add_argument("--objective", action="append", default=None, metavar="METRIC:max|min",
                   help="repeatable (default: " + " and ".join(DEFAULT_OBJECTIVES) + ")")
    s.add_argument("--storage", default=None, metavar="URL",
                   help="an Optuna storage URL, or none for an in-memory study (no resume). "
                   f"Default: ${STORAGE_ENV} if set (keeps a password out of ps), else "
                   f"{DEFAULT_STORAGE}")
    s.add_argument("--study", default=None, metavar="NAME")
    s.add_argument("--sampler-seed", type=int, default=0, help="seed of the sampler")
    s.add_argument("--config", metavar="FILE", help="base config (JSON or YAML)")
    s.add_argument("--runs-dir", default="runs", metavar="DIR")
    _add_config_flags(s)

    rep = sub.add_parser("report", help="write a sweep folder's self-contained HTML report")
    rep.add_argument("output_dir", metavar="DIR")
    rep.add_argument("--title", default=None)
    rep.add_argument("--seed", default="seed", metavar="NAME",
                     help="the parameter that is the seed axis: with several values, runs are "
                     "grouped by the other swept parameters, as mean ± std (default: seed)")
    rep.add_argument("--rank-within", action="append", default=None, metavar="NAME",
                     help="rank the settings within each value of this parameter (repeatable; "
                     "e.g. problem; default: dataset when it is swept)")
    for command in sub.choices.values():
        command.add_argument("--verbose", action="store_true",
                             help="show TensorFlow's and the kernels' own log lines (also: "
                             "WORKBENCH_VERBOSE=1)")
    return p


def _config_from_args(ns: argparse.Namespace) -> ExperimentConfig:
    values: dict[str, Any] = {}
    if ns.config:
        values.update(load_config_file(ns.config))
    for name, spec in FIELDS.items():
        if name in ns:
            values[name] = spec.parse(getattr(ns, name))
    cfg = ExperimentConfig.from_dict(values)
    cfg.mark_given(cfg.given | {name for name in FIELDS if name in ns})  # a flag you typed
    return cfg


def _cmd_train(ns: argparse.Namespace) -> int:
    cfg = _config_from_args(ns)
    if ns.workers != 1:
        from workbench.training.distribute import launch_workers

        return launch_workers(cfg.to_dict(), ns.workers, ns.runs_dir, quiet=ns.quiet)
    from workbench.runs import RunStore
    from workbench.training.experiment import run

    try:
        result = run(cfg, store=RunStore(ns.runs_dir), verbose=not ns.quiet, trust=ns.trust)
    except RunFailed as e:
        print(f"error: {str(e).splitlines()[0]}", file=sys.stderr)
        return 1
    m = result.metrics
    acc = m.get("test_accuracy")
    print(f"run {result.run_id} {result.status}: "
          f"test_accuracy {acc:.4f}  test_loss {m.get('test_loss') or float('nan'):.4f}  "
          f"params {m['params']:,}  {m['train_time_s']:.1f}s")
    if "compression_ratio" in m:
        print(_size_line(m))
    for kind in cfg.export:
        if f"{kind}_bytes" in m:
            print(f"{kind}: {m[f'{kind}_bytes']:,} bytes  accuracy {m[f'{kind}_accuracy']:.4f}  "
                  f"latency {m[f'{kind}_latency_ms']:.3f} ms")
        elif f"{kind}_error" in m:
            print(f"{kind}: failed: {m[f'{kind}_error']}", file=sys.stderr)
    print(f"saved in {result.run_dir}")
    if result.status == "diverged":
        print(f"the loss became NaN/inf at step {m.get('diverged_at_step')}: lower "
              f"--learning-rate (was {cfg.lr})", file=sys.stderr)
        return 1
    return 130 if result.status == "stopped" else 0


_RUN_COLUMNS = ["run_id", "status", "dataset", "model", "optimizer", "lr_schedule", "epochs",
                "test_accuracy", "params", "train_time_s"]


def _size_line(m: dict[str, Any]) -> str:
    """The packed size against float32, worded for what happened (no "1.0x smaller")."""
    packed, plain, ratio = m["size_bytes_packed"], m["size_bytes_float32"], m["compression_ratio"]
    compressed = m.get("sparsity", 0) > 0 or m.get("bits", 32) < 32
    if not compressed:
        return (f"packed: {packed:,} bytes (weights not compressed; float32 tensors "
                f"{plain:,} bytes)")
    size = (f"{ratio:.1f}x smaller than float32 ({plain:,} bytes)" if ratio >= 1.05
            else f"not smaller than float32 ({plain:,} bytes)")
    return (f"compressed: sparsity {m['sparsity']:.3f}  {m['bits']} bits  "
            f"{packed:,} bytes packed, {size}")


def _cmd_runs(ns: argparse.Namespace) -> int:
    import pandas as pd

    from workbench.runs import RunStore

    df = RunStore(ns.runs_dir).table()
    if df.empty:
        print(f"no runs in {ns.runs_dir}")
        return 0
    if not ns.all_columns:
        df = df[[c for c in _RUN_COLUMNS if c in df.columns]]
    with pd.option_context("display.max_rows", None, "display.max_columns", None,
                           "display.width", 200, "display.float_format", "{:.4g}".format):
        print(df.to_string(index=False))
    return 0


def _cmd_datasets(ns: argparse.Namespace) -> int:
    from workbench.data import DATASETS

    if ns.check is not None:
        from workbench.data.describe import describe

        options = {n: FIELDS[n].parse(getattr(ns, n)) for n in
                   ("test_split", "image_size", "image_mode", "label_column") if n in ns}
        print(describe(ns.check, **options))
        return 0
    for info in DATASETS.values():
        ok, where = info.available()
        shape = "x".join(map(str, info.input_shape))
        print(f"{info.name:14s} {shape:8s} {info.num_classes:3d} classes  "
              f"{info.n_train:6d}/{info.n_test:<6d} {'offline' if ok else 'MISSING'}: {where}")
        print(f"{'':14s} {info.description}")
    for name, why in DATASETS.plugin_errors.items():
        print(f"{name:14s} plug-in FAILED to load: {why}")
    print("or name your own: a .npz, .csv or .parquet file, a folder of images (one subfolder "
          "per class), or package.module:function (see --check DATA)")
    return 0


def _cmd_models(ns: argparse.Namespace) -> int:
    from workbench.architectures import MODELS

    for info in MODELS.values():
        print(f"{info.name:14s} {info.description} (inputs: {info.inputs.replace('_', ' ')})")
    for name, why in MODELS.plugin_errors.items():
        print(f"{name:14s} plug-in FAILED to load: {why}")
    print("or name your own: a .keras file (its architecture, fresh weights) or "
          "package.module:function, a builder(input_shape, num_classes)")
    return 0


def _grid(items: list[str]) -> dict[str, list[str]]:
    from workbench.exceptions import ConfigError

    grid: dict[str, list[str]] = {}
    for item in items:
        name, sep, values = item.partition("=")
        if not sep or not name.strip() or not values.strip():
            raise ConfigError("grid", item, "NAME=V1,V2,... (e.g. prune_ratio=0,0.5,0.9)")
        sep_char = ";" if values.lstrip().startswith("[") else ","
        grid[name.strip()] = [v.strip() for v in values.split(sep_char) if v.strip()]
    return grid


def _cmd_run_notebook(ns: argparse.Namespace) -> int:
    from workbench.notebooks import run_notebook

    r = run_notebook(ns.notebook, dict(ns.parameter), ns.output_dir, timeout=ns.timeout,
                     progress=True)
    where = f" in cell {r.cell}" if r.cell is not None else ""
    print(f"{r.status}{where}: {r.output_dir}/notebook.ipynb ({r.seconds:.1f}s)"
          + (f"\nerror: {r.error}" if r.error else ""))
    for k, v in r.results.items():
        print(f"  {k}: {v}")
    return {"completed": 0, "interrupted": 130}.get(r.status, 1)


def _cmd_sweep(ns: argparse.Namespace) -> int:
    from workbench.notebooks import sweep

    if not ns.grid:
        from workbench.exceptions import ConfigError

        raise ConfigError("grid", None, "at least one --grid NAME=V1,V2,...")
    grid: dict[str, Any] = _grid(ns.grid)
    for name, value in ns.parameter:
        grid[name] = [value]
    df = sweep(ns.notebook, grid, ns.output_dir, workers=ns.workers, executor=ns.executor,
               scheduler=ns.scheduler, resume=ns.resume, timeout=ns.timeout,
               max_return_mb=ns.max_return_mb, max_data_mb=ns.max_data_mb)
    done = int((df.status == "completed").sum())
    print(f"{done} of {len(df)} runs completed; table: {ns.output_dir}/results.csv")
    if ns.report:
        from workbench.reporting import report

        print(f"report: {report(ns.output_dir, rank_within=ns.rank_within)}")
    return 0 if done == len(df) else 1


def _cmd_search(ns: argparse.Namespace) -> int:
    from pathlib import Path

    from workbench.hpsearch import search
    from workbench.search_space import SearchSpace

    if not Path(ns.space).is_file():
        from workbench.exceptions import ConfigError

        raise ConfigError("space", ns.space, "an existing YAML file")
    res = search(_config_from_args(ns), SearchSpace.from_yaml(Path(ns.space)),
                 ns.objective or list(DEFAULT_OBJECTIVES),
                 sampler=ns.sampler, n_trials=ns.trials, timeout=ns.timeout,
                 storage=ns.storage if ns.storage is not None else DEFAULT_STORAGE,
                 study_name=ns.study, store=ns.runs_dir,
                 seed=ns.sampler_seed)
    df = res.table()
    states = df.state.value_counts().to_dict() if len(df) else {}
    print(f"study {res.study.study_name}: {len(df)} trials {states}")
    best = res.pareto()
    if len(best):
        print("best:" if len(res.objectives) == 1 else "Pareto front:")
        print(best.drop(columns=["state"]).to_string(index=False))
    return 0


def _cmd_report(ns: argparse.Namespace) -> int:
    from workbench.reporting import report

    print(report(ns.output_dir, title=ns.title, seed=ns.seed, rank_within=ns.rank_within))
    return 0


_COMMANDS = {"train": _cmd_train, "runs": _cmd_runs, "datasets": _cmd_datasets,
             "models": _cmd_models, "run-notebook": _cmd_run_notebook, "sweep": _cmd_sweep,
             "search": _cmd_search, "report": _cmd_report}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``workbench`` console script.

    Example:
        >>> from workbench.cli import main
        >>> main(["models"])   # doctest: +ELLIPSIS
        logistic ...
        0
    """
    parser = build_parser()
    ns = parser.parse_args(argv)
    if getattr(ns, "verbose", False):  # before anything imports TensorFlow or starts a kernel
        os.environ["WORKBENCH_VERBOSE"] = "1"
    if not ns.command:
        parser.print_help()
        return 2
    try:
        return _COMMANDS[ns.command](ns)
    except WorkbenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
