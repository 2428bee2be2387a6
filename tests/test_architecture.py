"""The package's shape, checked: no import circle, no oversized module, registries as leaves.

The import graph is read from the source (every ``import``, also those inside functions and
under ``TYPE_CHECKING``), and importing ``a.b.c`` counts as importing the packages ``a.b`` and
``a`` too, as Python runs their ``__init__`` first, unless the importer is inside them already.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "workbench"
MAX_LINES = 450


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The workbench modules ``name`` imports, anywhere in its source."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{a.name}" for a in node.names)
    own_packages = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}
    edges = set()
    for target in found:
        if target not in modules:
            continue
        parts = target.split(".")
        edges.update(p for p in (".".join(parts[:i]) for i in range(1, len(parts) + 1))
                     if p in modules and p not in own_packages)
    edges.discard(name)
    return edges


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for w in graph[todo.pop()]:
            if w not in seen:
                seen.add(w)
                todo.append(w)
    return seen


def test_there_is_no_import_circle_inside_the_package():
    assert _cycles(_graph()) == []


def test_the_cycle_finder_sees_a_circle_through_a_package_init():
    # a.x imports b.y; b/__init__ imports b.z; b.z imports a.x: Python meets a.x half-made
    graph = {"a": set(), "a.x": {"b", "b.y"}, "b": {"b.z"}, "b.y": set(), "b.z": {"a", "a.x"}}
    assert _cycles(graph) == [["a.x", "b", "b.z"]]
    assert _cycles({"a": {"a.x"}, "a.x": set()}) == []


@pytest.mark.parametrize("leaf", ["workbench.fields", "workbench.architectures",
                                  "workbench.data", "workbench.training.optimizers",
                                  "workbench.training.schedules", "workbench.wbz",
                                  "workbench.exports"])
def test_registries_and_leaves_do_not_import_the_config(leaf):
    assert "workbench.config" not in _reachable(_graph(), leaf)


def test_no_module_is_over_450_lines():
    sizes = {p.relative_to(ROOT).as_posix(): len(p.read_text().splitlines())
             for p in PACKAGE.rglob("*.py")}
    assert {p: n for p, n in sizes.items() if n > MAX_LINES} == {}


def test_the_config_reads_its_choices_from_the_registries():
    from workbench.architectures import MODEL_OPTIONS, MODELS
    from workbench.config import FIELDS, fields_in_group
    from workbench.data import DATASETS
    from workbench.exports import EXPORTS
    from workbench.training.optimizers import OPTIMIZERS
    from workbench.training.schedules import LR_SCHEDULES

    assert FIELDS["optimizer"].choices == tuple(OPTIMIZERS)
    assert FIELDS["lr_schedule"].choices == tuple(LR_SCHEDULES)
    assert FIELDS["model"].choices == tuple(MODELS)
    assert FIELDS["dataset"].choices == tuple(DATASETS)
    assert FIELDS["export"].choices == tuple(EXPORTS)
    # every builder takes exactly the model group's options
    assert tuple(s.name for s in fields_in_group("model") if s.name != "model") == MODEL_OPTIONS


def test_the_cli_reads_sampler_and_objective_defaults_from_the_search_tables():
    from workbench.cli import build_parser
    from workbench.hpsearch import DEFAULT_OBJECTIVES, SAMPLERS

    search = build_parser()._subparsers._group_actions[0].choices["search"]
    sampler = next(a for a in search._actions if a.dest == "sampler")
    assert sampler.choices == list(SAMPLERS)
    objective = next(a for a in search._actions if a.dest == "objective")
    assert all(o in objective.help for o in DEFAULT_OBJECTIVES)


@pytest.mark.keras
def test_every_optimizer_entry_builds_its_keras_class():
    import workbench as wb
    from workbench.training.optimizers import OPTIMIZERS, build_optimizer

    for name, info in OPTIMIZERS.items():
        opt = build_optimizer(wb.ExperimentConfig(optimizer=name, weight_decay=0.01), 0.1)
        assert type(opt).__name__ == info.keras_class, name
        assert float(opt.weight_decay) == pytest.approx(0.01), name


@pytest.mark.keras
def test_the_old_build_model_call_still_works_with_a_deprecation_warning():
    import workbench as wb
    from workbench.architectures import build_model

    cfg = wb.ExperimentConfig(hidden_units=[8])
    with pytest.warns(DeprecationWarning, match="model_options"):
        old = build_model("mlp", (64,), 10, cfg)
    assert old.count_params() == build_model("mlp", (64,), 10, **cfg.model_options).count_params()
    with pytest.raises(wb.ConfigError, match="hidden"):
        build_model("mlp", (64,), 10, hiden_units=[8])


def test_the_readme_names_every_registry_entry():
    from workbench.architectures import MODELS
    from workbench.data import DATASETS
    from workbench.exports import EXPORTS
    from workbench.training.optimizers import OPTIMIZERS
    from workbench.training.schedules import LR_SCHEDULES

    readme = (ROOT / "README.md").read_text()
    for registry in (OPTIMIZERS, LR_SCHEDULES, MODELS, DATASETS, EXPORTS):
        missing = [name for name in registry if f"`{name}`" not in readme]
        assert missing == [], "README.md does not list " + ", ".join(missing)
