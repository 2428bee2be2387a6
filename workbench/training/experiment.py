"""``wb.run(cfg)``: one experiment, start to finish, reading as a script of steps.

validate -> data -> seed -> model -> optimizer + schedule -> fit (metric events to sinks)
-> evaluate -> record in the store -> RunResult.

Everything that can be wrong with the input is checked before a run folder is created, so bad
input never leaves a half-written run behind.
"""

from __future__ import annotations

import math
import threading
import time
import traceback
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from workbench.config import ExperimentConfig
from workbench.data import Dataset, from_arrays
from workbench.data.sources import ARRAYS, check_fingerprint, load_for
from workbench.exceptions import ConfigError, DataError, ModelError, RunFailed, WorkbenchError
from workbench.runs import RunResult, RunStatus, RunStore
from workbench.training.schedules import effective_batch_size, keras_schedule, steps_per_epoch

if TYPE_CHECKING:
    from workbench.callbacks.stop import StopFlag

DEFAULT_STORE = "runs"
EVAL_BATCH_SIZE = 1024
"""Test-set evaluation batch (at least): large batches run convolutions faster, and the
what-if engine evaluates in the same batches, so its accuracy is the run's."""


@dataclass
class Split:
    """Train/validation/test arrays of one experiment."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray | None
    y_val: np.ndarray | None
    x_test: np.ndarray
    y_test: np.ndarray
    dataset: Dataset


def split_data(cfg: ExperimentConfig, ds: Dataset) -> Split:
    """Apply ``max_train_samples`` and carve the validation split out of the training set.

    The subset and the split are drawn with ``cfg.seed``; the test set is never touched.

    Example:
        >>> import workbench as wb
        >>> from workbench.training.experiment import split_data
        >>> s = split_data(wb.ExperimentConfig(validation_split=0.2), wb.load_dataset("digits"))
        >>> len(s.x_train), len(s.x_val)
        (1150, 287)
    """
    n = len(ds.x_train)
    perm = np.random.default_rng(cfg.seed).permutation(n)
    if cfg.max_train_samples is not None and cfg.max_train_samples < n:
        perm = perm[: cfg.max_train_samples]
    n_val = round(len(perm) * cfg.validation_split)
    if len(perm) - n_val < 1:
        raise ConfigError("validation_split", cfg.validation_split,
                          f"a fraction that leaves at least one training sample out of "
                          f"{len(perm)}")
    tr, va = perm[: len(perm) - n_val], perm[len(perm) - n_val:]
    xv, yv = (ds.x_train[va], ds.y_train[va]) if n_val else (None, None)
    return Split(ds.x_train[tr], ds.y_train[tr], xv, yv, ds.x_test, ds.y_test, ds)


def _coerce_config(cfg: ExperimentConfig | Mapping[str, Any] | None) -> ExperimentConfig:
    if cfg is None:
        return ExperimentConfig()
    if isinstance(cfg, ExperimentConfig):
        return cfg
    if isinstance(cfg, Mapping):
        return ExperimentConfig.from_dict(cfg)
    raise ConfigError(None, cfg, message=f"cfg must be an ExperimentConfig or a dict of its "
                      f"fields, not {type(cfg).__name__}")


def _resolve_store(store: RunStore | str | Path | bool | None) -> RunStore | None:
    if store is False:
        return None
    if store is None or store is True:
        return RunStore(DEFAULT_STORE)
    if isinstance(store, RunStore):
        return store
    if isinstance(store, str | Path):
        return RunStore(store)
    raise ConfigError("store", store, "a RunStore, a folder path, None (./runs) or False")


_determinism_on = False


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow and make TF ops deterministic (process-wide).

    Example:
        >>> from workbench.training.experiment import seed_everything
        >>> seed_everything(0)
    """
    global _determinism_on
    from workbench._tf import keras, tf

    keras.utils.set_random_seed(seed)
    if not _determinism_on:
        tf.config.experimental.enable_op_determinism()
        _determinism_on = True


def _build_model(cfg: ExperimentConfig, model: Any, ds: Dataset) -> Any:
    from workbench.architectures import build_from_spec, check_user_model

    if model is None:
        return build_from_spec(cfg.model, ds.input_shape, ds.num_classes, cfg.model_options)
    from workbench._tf import keras

    if isinstance(model, keras.Model):
        if cfg.strategy != "default":
            raise ConfigError("strategy", cfg.strategy, "'default' when passing a built "
                              f"keras.Model; for {cfg.strategy!r} pass a builder callable("
                              "input_shape, "
                              "num_classes) so the model is created inside the strategy")
        built = model
    elif callable(model):
        try:
            built = model(ds.input_shape, ds.num_classes)
        except WorkbenchError:
            raise
        except Exception as e:
            raise ModelError(f"the model builder raised {type(e).__name__}: {e}") from e
    else:
        raise ModelError(f"model must be a keras.Model or a callable(input_shape, num_classes) "
                         f"returning one, not {type(model).__name__}")
    check_user_model(built, ds.input_shape, ds.num_classes)
    return built


def _load_data(cfg: ExperimentConfig, data: Any, source: Any, trusted: bool
               ) -> tuple[ExperimentConfig, Dataset]:
    """The run's data and the config that names it honestly: ``dataset='arrays'`` for data
    handed over in memory; with ``init_from``, checked against the source run's record.
    ``trusted``: ``dataset`` came from the caller, not from a source run's folder."""
    if data is not None:
        ds = data if isinstance(data, Dataset) else from_arrays(data)
        if cfg.dataset != ds.spec:
            cfg = cfg.replace(dataset=ds.spec or ARRAYS)
    elif source is not None and cfg.dataset == ARRAYS:
        raise DataError(f"init_from run {source.label!r} was trained on arrays handed over in "
                        "memory (dataset='arrays'): pass them again with data=(x_train, "
                        "y_train, x_test, y_test)", field="dataset")
    else:
        ds = load_for(cfg, trust=trusted)
    if source is not None and source.run_dir is not None:
        from workbench.runs import read_data_record

        check_fingerprint(ds, read_data_record(source.run_dir), f"init_from run {source.label!r}")
    return cfg, ds


def _from_source(source: Any, ds: Dataset) -> Any:
    """A fresh copy of the source's model (created under the current strategy), checked
    against the data set; the source itself is never changed."""
    from workbench._tf import keras
    from workbench.architectures import check_user_model

    try:
        check_user_model(source.model, ds.input_shape, ds.num_classes)
    except ModelError as e:
        raise ConfigError("init_from", source.label, f"a model for data set "
                          f"{ds.info.name!r} ({e})") from None
    net = keras.models.clone_model(source.model)
    net.set_weights(source.model.get_weights())
    return net


def _load_teacher(cfg: ExperimentConfig, store: RunStore | None) -> Any:
    if cfg.distill_teacher is None:
        return None
    from workbench.compress.distill import load_teacher

    return load_teacher(cfg.distill_teacher, store)


def _size_bytes_float32(model: Any) -> int:
    return int(sum(int(np.prod(w.shape)) for w in model.weights) * 4)


def _finite_or_none(v: Any) -> Any:
    return v if not isinstance(v, float) or math.isfinite(v) else None


def run(cfg: ExperimentConfig | Mapping[str, Any] | None = None, *,
        data: Any = None, model: Any = None, callbacks: Iterable[Any] = (),
        store: RunStore | str | Path | bool | None = None, sinks: Iterable[Any] = (),
        verbose: bool = True, stop: threading.Event | StopFlag | None = None,
        trust: bool = False) -> RunResult:
    """Run one experiment: train ``cfg``'s model on its data, evaluate, record.

    Args:
        cfg: an ExperimentConfig (or a dict of its fields); None = all defaults.
        data: optional ``(x_train, y_train, x_test, y_test)`` arrays (or a ``wb.Dataset``)
            instead of ``cfg.dataset``; the run records ``dataset='arrays'`` and the arrays'
            fingerprint, and keeps them on its RunResult (``WhatIf(result)`` then needs
            nothing more in this session).
        model: optional ``keras.Model`` or ``callable(input_shape, num_classes) -> keras.Model``
            instead of ``cfg.model`` (its output width must equal the class count).
        callbacks: extra Keras callbacks.
        store: a RunStore or folder; None = ``./runs``; False = record nothing.
        sinks: extra metric sinks (e.g. ``wb.widgets.LivePlot()``).
        verbose: print one line per epoch.
        stop: a ``threading.Event`` or a :class:`workbench.callbacks.StopFlag`; setting it
            stops training when the running call (of ``steps_per_execution`` batches) returns.
        trust: import a ``module:function`` data set that ``init_from``'s run names (code
            read from a run folder is not imported otherwise).

    Returns:
        A RunResult whose ``status`` is ``completed``, ``stopped`` (a stop request or Ctrl-C)
        or ``diverged`` (a NaN/inf loss; the history so far is kept).

    Raises:
        ConfigError, DatasetUnavailable, DataError, ModelError: bad input, before anything is
            written.
        RunFailed: training raised; the run is recorded as ``failed`` first.

    Same config and seed give a bit-identical history on CPU.

    Example:
        >>> import workbench as wb
        >>> cfg = wb.ExperimentConfig(dataset="digits", model="mlp", optimizer="nesterov",
        ...                           lr_schedule="one_cycle", epochs=3)
        >>> result = wb.run(cfg, store=False, verbose=False)     # doctest: +SKIP
        >>> result.metrics["test_accuracy"] > 0.9                # doctest: +SKIP
        True
    """
    # 1. validate everything we can before touching the disk (a source's weights load here)
    cfg = _coerce_config(cfg)
    run_store = _resolve_store(store)
    if cfg.strategy == "multi_worker":
        from workbench.training.distribute import tf_config

        tf_config()  # its processes' TF_CONFIG, read before anything is loaded
    source = None
    if cfg.init_from is not None:
        from workbench.training.source import adopt_source, load_source

        if model is not None:
            raise ConfigError("init_from", cfg.init_from, "None when model= is passed (start "
                              "from trained weights with one or the other)")
        source = load_source(cfg.init_from, run_store, "init_from")
    trusted = trust or source is None or "dataset" in cfg.given
    if source is not None:
        cfg = adopt_source(cfg, source)
    cfg, ds = _load_data(cfg, data, source, trusted)
    split = split_data(cfg, ds)
    n_train = len(split.x_train)
    batch = effective_batch_size(cfg.batch_size, n_train)
    if cfg.batch_size > n_train and "batch_size" not in cfg.recommended:  # yours: say so
        warnings.warn(f"batch_size={cfg.batch_size} is larger than the training set "
                      f"({n_train} samples): using full batch ({n_train})", UserWarning,
                      stacklevel=2)
    spe = steps_per_epoch(cfg, n_train)
    user_callbacks = list(callbacks)
    extra_sinks = list(sinks)

    # 2. seed, then build model and optimizer under the strategy (still nothing written)
    from workbench._tf import keras
    from workbench.architectures import outputs_probabilities
    from workbench.callbacks import DivergenceGuard, MetricStream, StopFlag
    from workbench.compress.pipeline import Compression, compression_metrics, export_all
    from workbench.sinks import ConsoleSink, JSONLSink, MemorySink
    from workbench.training.distribute import fix_multi_worker, make_strategy, worker_rank
    from workbench.training.execution import after_training
    from workbench.training.execution import apply as apply_execution
    from workbench.training.execution import resolve as resolve_execution
    from workbench.training.loop import fit_arrays
    from workbench.training.optimizers import build_optimizer

    strategy = make_strategy(cfg.strategy)  # first: multi_worker must precede other TF ops
    chief = cfg.strategy != "multi_worker" or worker_rank() == 0  # the one that records
    seed_everything(cfg.seed)
    replicas = int(strategy.num_replicas_in_sync)
    if cfg.strategy != "default" and replicas == 1:
        warnings.warn(f"strategy={cfg.strategy!r} found one device, so it trains on one "
                      "replica: no faster than 'default' (on a CPU machine, TensorFlow shows "
                      "one CPU device; GPUs give one replica each)", UserWarning, stacklevel=2)
    compression = Compression(cfg)
    with strategy.scope():
        net = _build_model(cfg, model, ds) if source is None else _from_source(source, ds)
        dense_bytes = _size_bytes_float32(net)
        net = compression.prepare(net)  # twins with masks / fake quantization; checks first
        teacher = _load_teacher(cfg, run_store)
        optimizer = build_optimizer(cfg, keras_schedule(cfg, spe))
        loss = keras.losses.SparseCategoricalCrossentropy(
            from_logits=not outputs_probabilities(net))
        trainee = net
        if teacher is not None:
            from workbench.compress.distill import make_distiller

            trainee = make_distiller(teacher, net, temperature=cfg.distill_temperature,
                                     alpha=cfg.distill_alpha)
        trainee.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"], jit_compile=False)
        if cfg.strategy == "multi_worker":
            fix_multi_worker(trainee, split.x_train[:batch], split.y_train[:batch])
    pruning = compression.callbacks(net, spe * cfg.epochs)
    execution = resolve_execution(
        cfg, trainee, batch_size=batch, steps_per_epoch=spe, user_callbacks=user_callbacks,
        prune_steps=next((p.end_step - p.begin_step for p in pruning
                          if p.schedule != "constant"), None),
        distributed=cfg.strategy != "default")
    apply_execution(trainee, execution)

    # 3. open the run record and the metric stream
    extra: dict[str, Any] = {"data": ds.fingerprint}  # also in data.json, read on reload
    if source is not None:
        extra["source_run"] = source.label
    writer = run_store.start(cfg, extra, data=ds.fingerprint) \
        if run_store is not None and chief else None
    run_id = writer.run_id if writer else f"unsaved-{int(time.time() * 1000)}"
    memory = MemorySink()
    all_sinks: list[Any] = [memory]
    if writer:
        all_sinks.append(JSONLSink(writer.dir / "events.jsonl"))
    if verbose and chief:
        all_sinks.append(ConsoleSink())
    all_sinks.extend(extra_sinks)
    stream = MetricStream(all_sinks, run_id=run_id, batch_size=batch, num_samples=n_train,
                          auto_end=False, extras=compression.extras(net),
                          start_info={"config": cfg.to_dict(), "steps_per_epoch": spe,
                                      "replicas": replicas, "strategy": cfg.strategy,
                                      "recommended": cfg.recommended})
    guard = DivergenceGuard()
    stop_flag = stop if isinstance(stop, StopFlag) else StopFlag(stop)
    # the stop flag after the stream: a stop asked by a sink acts at the end of this call
    fit_callbacks = [*pruning, guard, stream, stop_flag, *user_callbacks]
    if cfg.lr_schedule == "plateau":
        fit_callbacks.insert(0, keras.callbacks.ReduceLROnPlateau(
            monitor="val_loss" if split.x_val is not None else "loss", factor=0.5, patience=2,
            min_lr=cfg.lr * 1e-4, verbose=0))

    # 4. train
    status, error, cause = RunStatus.COMPLETED, None, None
    t0 = time.perf_counter()
    try:
        if cfg.epochs > 0:
            val = (split.x_val, split.y_val) if split.x_val is not None else None
            if cfg.strategy == "default":  # the data on the device, each call in one graph
                fit_arrays(trainee, split.x_train, split.y_train, batch_size=batch,
                           epochs=cfg.epochs, seed=cfg.seed, callbacks=fit_callbacks,
                           validation_data=val)
            else:  # Keras's distributed iterator splits each batch across the replicas
                trainee.fit(split.x_train, split.y_train, batch_size=batch, epochs=cfg.epochs,
                            validation_data=val, shuffle=True, verbose=0,
                            callbacks=fit_callbacks)
        else:  # compression only: the stream still opens the run for its sinks
            stream.emit({"type": "run_start", "epochs": 0, "steps_per_epoch": spe,
                         "params": int(net.count_params()), **stream.start_info})
    except KeyboardInterrupt:
        status = RunStatus.STOPPED
    except Exception as e:  # recorded as failed, then re-raised as RunFailed
        status, error, cause = RunStatus.FAILED, f"{type(e).__name__}: {e}", e
        error_tb = traceback.format_exc()
    train_time = time.perf_counter() - t0
    after_training(trainee)
    if status == RunStatus.COMPLETED:
        if guard.diverged:
            status = RunStatus.DIVERGED
        elif stop_flag.requested:
            status = RunStatus.STOPPED
        elif any(getattr(cb, "outcome", None) == RunStatus.PRUNED for cb in user_callbacks):
            status = RunStatus.PRUNED  # a callback (a search's pruner) ended it early

    # 5. compress (strip masks, remove units, quantize or cluster), evaluate, export, account
    if status.usable and compression.active:
        try:
            net = compression.finalize(net)
            net.compile(loss=loss, metrics=["accuracy"], jit_compile=False)
        except Exception as e:
            status, error, cause = (RunStatus.FAILED,
                                    f"compression: {type(e).__name__}: {e}", e)
            error_tb = traceback.format_exc()
    metrics: dict[str, Any] = {
        "params": int(net.count_params()),
        "trainable_params": int(sum(int(np.prod(w.shape)) for w in net.trainable_weights)),
        "size_bytes_float32": dense_bytes, "train_time_s": train_time,
        "epochs_completed": len(memory.of_type("epoch")), "batch_size_effective": batch,
        "steps_per_epoch": spe, "n_train": n_train, "jit_compile": execution.jit_compile,
        "steps_per_execution": execution.steps_per_execution, "replicas": replicas}
    if status != RunStatus.FAILED:
        if teacher is not None and not net.compiled:
            net.compile(loss=loss, metrics=["accuracy"], jit_compile=False)
        ev = net.evaluate(split.x_test, split.y_test, batch_size=max(batch, EVAL_BATCH_SIZE),
                          verbose=0,
                          return_dict=True)
        metrics["test_loss"] = _finite_or_none(float(ev["loss"]))
        metrics["test_accuracy"] = float(ev["accuracy"])
    if guard.diverged:
        metrics["diverged_at_step"] = guard.step
    if source is not None:
        metrics["source_run"] = source.label
        if source.metrics and isinstance(source.metrics.get("test_accuracy"), float):
            metrics["source_test_accuracy"] = source.metrics["test_accuracy"]
    if status.usable:
        exports = export_all(cfg, net, writer.save_artifact if writer else None, split.x_train,
                             split.x_test, split.y_test)
        metrics.update(compression_metrics(cfg, net, dense_bytes,
                                           exports.get("size_bytes_packed")))
        metrics.update(exports)
    stream.end(status, metrics, error)
    history = memory.epochs()

    # 6. record
    if writer:
        writer.write_history(history)
        writer.write_metrics(metrics)
        if status != RunStatus.FAILED and "keras" in cfg.export:
            writer.save_model(net)
        writer.finish(status, metrics, error)
    result = RunResult(config=cfg, history=history, metrics=metrics, status=status,
                       run_id=run_id, run_dir=writer.dir if writer else None, model=net,
                       error=error, events=memory.events, data=ds,
                       data_record=ds.fingerprint)
    if status == RunStatus.FAILED:
        where = f" (recorded in {writer.dir})" if writer else ""
        raise RunFailed(f"run {run_id} failed{where}: {error}\n{error_tb}", result) from cause
    return result

