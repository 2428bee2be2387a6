"""Trained weights to start from: a run in the store, a run folder, or a ``.keras`` file.

One loader serves ``init_from`` and ``distill_teacher``. Files are treated as untrusted:
Keras loads them in safe mode (a ``Lambda`` layer's Python code is refused), and every way
the input can be wrong is a ConfigError naming the field, before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.config import ExperimentConfig, fields_in_group
from workbench.exceptions import ConfigError, did_you_mean
from workbench.runs import RunStatus, artifact_name

if TYPE_CHECKING:
    import keras

    from workbench.runs import RunStore

USABLE_STATUSES = tuple(st for st in RunStatus if st.usable)
ADOPTED_FIELDS = ("dataset", *(s.name for s in fields_in_group("model")))
"""The fields a run started from a source run takes from it (the weights fix them)."""


@dataclass
class Source:
    """Trained weights: the model, and the run they come from (None for a bare file).

    Example:
        >>> from workbench.training.source import load_source
        >>> src = load_source("runs/20261201-101500-digits-mlp-adam-1a2b3c")  # doctest: +SKIP
        >>> src.run_id, src.config.model                                      # doctest: +SKIP
    """

    model: keras.Model
    path: Path
    run_id: str | None = None
    run_dir: Path | None = None
    config: ExperimentConfig | None = None
    metrics: dict[str, Any] | None = None

    @property
    def label(self) -> str:
        return self.run_id or str(self.path)


def _load_keras(path: Path, field: str, spec: str) -> keras.Model:
    from workbench._tf import keras

    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as e:
        text = str(e).splitlines()[0] if str(e) else type(e).__name__
        if "safe_mode" in text or "Lambda" in text:
            why = "a .keras file without Python code (it holds a Lambda layer, refused in " \
                  "Keras safe mode)"
        else:
            why = f"a loadable .keras model file ({type(e).__name__}: {text[:300]})"
        raise ConfigError(field, spec, why) from None
    if not isinstance(model, keras.Model):
        raise ConfigError(field, spec, f"a .keras file holding a keras.Model, not "
                          f"{type(model).__name__}")
    return model


def load_source(spec: str, store: RunStore | None = None, field: str = "init_from") -> Source:
    """Load trained weights from ``spec``: a run id in ``store``, a run folder or a ``.keras``.

    Raises ConfigError naming ``field`` for an unknown run id (with did-you-mean), a run that
    failed, diverged or did not finish, a run without a saved model, a missing or corrupted
    file, or a file Keras's safe mode refuses.
    """
    from workbench.runs import RunStore

    if not isinstance(spec, str) or not spec:
        raise ConfigError(field, spec, "a run id, a run folder or a .keras file path")
    p = Path(spec).expanduser()
    if p.suffix == ".keras" or p.is_file():
        if not p.is_file():
            raise ConfigError(field, spec, "an existing .keras file (no such file)")
        return Source(model=_load_keras(p, field, spec), path=p)
    if p.is_dir() and (p / "config.json").is_file():
        store, run_id = RunStore(p.parent), p.name
    else:
        run_id = spec
        if store is None or run_id not in store:
            where = f" in {str(store.root)!r}" if store is not None else ""
            known = store.run_ids() if store is not None else []
            raise ConfigError(field, spec, "a run id in the store, a run folder or a .keras "
                              f"file (no run {spec!r}{where})" + did_you_mean(spec, known))
    rec = store._record_from_folder(run_id)
    if rec["status"] not in USABLE_STATUSES:
        why = f": {rec['error'].splitlines()[0][:200]}" if rec.get("error") else ""
        raise ConfigError(field, spec, f"a completed run (run {run_id!r} is "
                          f"{rec['status']}{why})")
    model_path = store.root / run_id / artifact_name("keras")
    if not model_path.is_file():
        raise ConfigError(field, spec, f"a run that saved its model (run {run_id!r} has no "
                          f"model.keras: add 'keras' to its export list)")
    try:
        cfg = ExperimentConfig.from_dict(rec["config"])
    except Exception as e:
        raise ConfigError(field, spec, f"a run with a readable config.json ({e})") from None
    return Source(model=_load_keras(model_path, field, spec), path=model_path, run_id=run_id,
                  run_dir=store.root / run_id, config=cfg, metrics=rec.get("metrics") or {})


def adopt_source(cfg: ExperimentConfig, source: Source) -> ExperimentConfig:
    """``cfg`` with the data set and architecture of ``source``.

    The rule: a field of :data:`ADOPTED_FIELDS` you left unset takes the source run's value;
    a field you set (:attr:`ExperimentConfig.given`), even to its default, must agree with
    the source, or it is a ConfigError naming the field. For a bare ``.keras`` file the
    architecture is the file's: ``model`` takes its name when that is a registered one.

    Example:
        >>> import workbench as wb
        >>> from workbench.training.source import adopt_source, Source
        >>> src = Source(model=None, path=None, run_id="r1",                # doctest: +SKIP
        ...              config=wb.ExperimentConfig(model="small_cnn"))
        >>> adopt_source(wb.ExperimentConfig(init_from="r1"), src).model  # doctest: +SKIP
        'small_cnn'
    """
    from workbench.architectures import MODELS

    if source.config is None:
        name = getattr(source.model, "name", "")
        if name in MODELS and cfg.model != name:
            if "model" in cfg.given:
                raise ConfigError("model", cfg.model, f"{name!r}, the architecture of "
                                  f"init_from={cfg.init_from!r}, or left unset")
            return cfg.replace(model=name)
        return cfg
    changes = {}
    for name in ADOPTED_FIELDS:
        mine, theirs = getattr(cfg, name), getattr(source.config, name)
        if mine == theirs:
            continue
        if name not in cfg.given:
            changes[name] = theirs
            continue
        if name == "hidden_units" and source.config.model != "mlp":
            continue  # only the mlp reads it
        raise ConfigError(name, mine, f"{theirs!r}, the value of the init_from run "
                          f"{source.label!r} (its weights were trained with it), or left "
                          f"unset")
    return cfg.replace(**changes) if changes else cfg
