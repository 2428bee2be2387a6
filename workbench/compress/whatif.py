"""What if I prune it 90%, or quantize it to 4 bits? Measured answers for a trained model.

:class:`WhatIf` holds a trained model, its test data and everything that does not change
between questions: the float kernels, each layer's quantization axes, the model's JSON and a
compiled prediction function whose weights are assigned rather than rebuilt. Each
:meth:`WhatIf.evaluate` carries out the same per-layer plan as ``wb.run(init_from=...,
epochs=0)`` (:func:`workbench.compress.execute.apply_plan`), measures the accuracy of the
compressed weights on the test set and encodes the real ``.wbz`` bytes: nothing is estimated.

:func:`sensitivity` prunes or quantizes one layer at a time (Han et al. 2015, Fig. 5);
:func:`suggest_layer_ratios` turns it into per-layer ratios for ``prune_layer_ratios``.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from workbench._tf import keras, tf
from workbench.compress.execute import apply_plan
from workbench.compress.layers import is_compressible, kernel_axes
from workbench.compress.pack import encode_arrays, layer_kinds, model_json
from workbench.compress.planning import Settings, checked_plan, layer_plan, widest_bits
from workbench.config import FIELDS
from workbench.exceptions import ConfigError, DataError

if TYPE_CHECKING:
    import pandas as pd

    from workbench.runs import RunStore

_POOL: ThreadPoolExecutor | None = None


def _encoder_pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wb-whatif-encode")
    return _POOL


def _as_test_data(data: Any) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """``(x_train or None, x_test, y_test)`` from ``(x_test, y_test)`` or a 4-tuple."""
    if not isinstance(data, list | tuple) or len(data) not in (2, 4):
        raise DataError("data must be (x_test, y_test) or (x_train, y_train, x_test, y_test)")
    arrays = [np.asarray(a) for a in data]
    x_train = arrays[0].astype(np.float32) if len(arrays) == 4 else None
    x, y = arrays[-2].astype(np.float32), arrays[-1].reshape(-1).astype(np.int64)
    if len(x) != len(y) or len(x) == 0:
        raise DataError(f"x_test has {len(x)} samples but y_test {len(y)}: they must match "
                        f"and not be empty")
    return x_train, x, y


class WhatIf:
    """Instant, measured what-if compression of a trained model.

    ``source`` is a RunResult, a run id or folder (in ``store``, default ``./runs``), a
    ``.keras`` path, or a ``keras.Model``. ``data`` is ``(x_test, y_test)`` or
    ``(x_train, y_train, x_test, y_test)``; None uses the source run's data set (its test
    split, exactly as ``wb.run`` evaluates).

    Example:
        >>> import workbench as wb
        >>> dense = wb.run(wb.ExperimentConfig(model="small_cnn", epochs=10))  # doctest: +SKIP
        >>> w = wb.compress.WhatIf(dense)                                     # doctest: +SKIP
        >>> r = w.evaluate(prune_ratio=0.8, quant_bits=4)                     # doctest: +SKIP
        >>> r["test_accuracy"], r["size_bytes_packed"], r["compression_ratio"]  # doctest: +SKIP
        (0.95..., 5085, 10.8...)
    """

    def __init__(self, source: Any, data: Any = None, *,
                 store: RunStore | str | Path | None = None, batch_size: int = 1024,
                 trust: bool = False) -> None:
        from workbench.runs import RunResult, RunStore, read_data_record
        from workbench.training.source import load_source

        self.run_id: str | None = None
        self.config = None
        self.source_metrics: dict[str, Any] = {}
        record = None
        if isinstance(source, RunResult):
            if source.model is None and source.run_dir is None:
                raise ConfigError("source", source.run_id, "a RunResult with its model "
                                  "(this one was loaded without it and has no folder)")
            model = source.model
            if model is None:
                model = load_source(str(source.run_dir), None, "source").model
            self.run_id, self.config = source.run_id, source.config
            self.source_metrics = dict(source.metrics)
            record = source.data_record or (read_data_record(source.run_dir)
                                            if source.run_dir is not None else None)
            if data is None and source.data is not None:
                data = source.data
        elif isinstance(source, keras.Model):
            model = source
        elif isinstance(source, str | Path):
            st = store if isinstance(store, RunStore) else RunStore(store or "runs")
            src = load_source(str(source), st, "source")
            model, self.run_id, self.config = src.model, src.run_id, src.config
            self.source_metrics = dict(src.metrics or {})
            record = read_data_record(src.run_dir) if src.run_dir is not None else None
        else:
            raise ConfigError("source", source, "a RunResult, a run id or folder, a .keras "
                              "path or a keras.Model")
        data = self._checked_data(data, record, trust)
        self.x_train, self.x_test, self.y_test = _as_test_data(data)
        self.batch_size = int(batch_size)
        from workbench.architectures import check_user_model

        check_user_model(model, tuple(self.x_test.shape[1:]), int(model.outputs[0].shape[-1])
                         if getattr(model, "outputs", None) else int(self.y_test.max()) + 1)
        self._init_model(model)

    def _checked_data(self, data: Any, record: dict[str, Any] | None, trust: bool) -> Any:
        """The source run's own data (reloaded and checked against its fingerprint), or the
        data given, checked against the same fingerprint where the run has one."""
        from workbench.data import Dataset
        from workbench.data.sources import data_of_run, test_hash

        if data is None and self.config is None:
            raise DataError("WhatIf needs data=(x_test, y_test) for a model without a "
                            "run (its data set is unknown)")
        self.dataset: Dataset | None = None  # the run's data, when known whole
        if self.config is not None and (data is None or isinstance(data, Dataset)
                                        or (isinstance(data, list | tuple) and len(data) == 4)):
            ds = data_of_run(self.config, self.run_id or "", data, record, trust)
            self.dataset = ds
            return (ds.x_train, ds.y_train, ds.x_test, ds.y_test)
        if isinstance(data, Dataset):
            self.dataset = data
            return (data.x_train, data.y_train, data.x_test, data.y_test)
        if record and isinstance(data, list | tuple) and len(data) == 2 and \
                record.get("test_hash") not in (None, test_hash(*data)):
            raise DataError(f"dataset={record.get('dataset')!r}: data=(x_test, y_test) is not "
                            f"the test set run {self.run_id!r} was evaluated on (its contents "
                            "differ)", field="dataset")
        return data

    # --- the cache: everything that does not change between questions ---
    def _init_model(self, model: keras.Model) -> None:
        from workbench.compress.layers import require_layers
        from workbench.compress.wrap import strip

        require_layers(model, "compress")
        from workbench.compress.layers import is_twin

        if any(is_twin(la) for la in model.layers):
            model = strip(model)
        # our own copy: assigning kernels must never touch the caller's model
        self.model = keras.models.clone_model(model)
        self.model.set_weights(model.get_weights())
        self._layers = {la.name: la for la in self.model.layers if is_compressible(la)}
        self.kernels = {n: np.asarray(la.kernel.numpy(), dtype=np.float32)
                        for n, la in self._layers.items()}
        self._weights = [np.asarray(w) for w in self.model.get_weights()]
        self._kinds = layer_kinds(self.model)
        self._kernel_index = {name: i for i, (name, _, is_kernel) in enumerate(self._kinds)
                              if is_kernel}
        self._json = model_json(self.model)
        self._axes = {g: kernel_axes(self.model, g) for g in FIELDS["quant_granularity"].choices}
        self.size_bytes_float32 = int(sum(w.size for w in self._weights) * 4)
        spec = tf.TensorSpec([None, *self.x_test.shape[1:]], tf.float32)
        net = self.model
        self._logits = tf.function(lambda x: net(x, training=False), input_signature=[spec],
                                   reduce_retracing=True)
        self._x = tf.constant(self.x_test)
        self._current = dict(self.kernels)
        self.baseline = self.evaluate()

    def _accuracy(self) -> float:
        correct = 0
        n = len(self.y_test)
        for i in range(0, n, self.batch_size):
            logits = self._logits(self._x[i: i + self.batch_size]).numpy()
            correct += int(np.sum(logits.argmax(-1) == self.y_test[i: i + self.batch_size]))
        return correct / n

    def _assign(self, kernels: Mapping[str, np.ndarray]) -> None:
        for name, k in kernels.items():
            if k is not self._current.get(name):
                self._layers[name].kernel.assign(k)
                self._current[name] = k

    def _weights_with(self, kernels: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        """The model's weights (``get_weights()`` order) with ``kernels`` in place."""
        weights = list(self._weights)
        for name, k in kernels.items():
            weights[self._kernel_index[name]] = k
        return weights

    # --- questions ---
    def compress(self, settings: Settings) -> dict[str, np.ndarray]:
        """The compressed kernels for ``settings`` (a plan carried out, nothing measured)."""
        plans = checked_plan(self.model, settings)
        return apply_plan(self.kernels, plans, self._axes[settings.quant_granularity])

    def evaluate(self, prune_ratio: float = 0.0, prune_scope: str = "global",
                 quant_bits: int | None = None, quant_bits_conv: int | None = None,
                 quant_granularity: str = "per_channel", cluster_k: int | None = None,
                 layers: Mapping[str, Mapping[str, Any]] | None = None, *,
                 measure_size: bool = True) -> dict[str, Any]:
        """Compress the trained weights one-shot and measure the result.

        Returns ``test_accuracy``, ``size_bytes_packed`` (the bytes ``pack`` would write),
        ``size_bytes_float32``, ``compression_ratio``, ``sparsity``, ``bits``, ``seconds`` and
        ``layers`` (a DataFrame: per layer params, nonzeros, sparsity, bits and the bytes of
        its encoded streams before entropy coding). ``measure_size=False`` skips the encoding
        (the sensitivity scan only needs accuracy).

        Example:
            >>> w = wb.compress.WhatIf(run)                              # doctest: +SKIP
            >>> w.evaluate(quant_bits=4, layers={"logits": {"quant_bits": 8}})  # doctest: +SKIP
        """
        t0 = time.perf_counter()
        settings = Settings(prune_ratio=prune_ratio, prune_scope=prune_scope,
                            quant_bits=quant_bits, quant_bits_conv=quant_bits_conv,
                            quant_granularity=quant_granularity, cluster_k=cluster_k,
                            layers=dict(layers or {}))
        plans = checked_plan(self.model, settings)
        new = apply_plan(self.kernels, plans, self._axes[quant_granularity]) \
            if settings.active else dict(self.kernels)
        self._assign(new)
        entries = None
        if measure_size:  # encode while TensorFlow predicts (lzma and numpy release the GIL)
            job = _encoder_pool().submit(encode_arrays, self._weights_with(new), self._kinds,
                                         self._json)
        out: dict[str, Any] = {"test_accuracy": self._accuracy()}
        if measure_size:
            data, entries = job.result()
            out["size_bytes_packed"] = len(data)
            out["compression_ratio"] = self.size_bytes_float32 / len(data)
        total = sum(k.size for k in new.values())
        zeros = sum(k.size - int(np.count_nonzero(k)) for k in new.values())
        out.update(sparsity=zeros / total if total else 0.0, bits=widest_bits(plans),
                   size_bytes_float32=self.size_bytes_float32)
        out["layers"] = self._layer_table(plans, new, entries)
        out["seconds"] = time.perf_counter() - t0
        return out

    def _layer_table(self, plans: list[Any], new: Mapping[str, np.ndarray],
                     entries: list[dict[str, Any]] | None) -> pd.DataFrame:
        import pandas as pd

        encoded: dict[str, int] = {}
        for e in entries or []:
            n = sum(e[key][1] for key in ("codes", "table", "gaps", "data") if key in e)
            encoded[e["layer"]] = encoded.get(e["layer"], 0) + n
        rows = []
        for p in plans:
            if not p.compressible:
                continue
            k = new[p.name]
            nz = int(np.count_nonzero(k))
            rows.append({"layer": p.name, "type": p.type, "params": p.params,
                         "kernel_nonzeros": nz, "sparsity": 1 - nz / k.size,
                         "bits": p.bits if p.bits is not None else 32,
                         "prune_ratio": p.prune_ratio, "bytes_float32": p.params * 4,
                         "bytes_encoded": encoded.get(p.name)})
        return pd.DataFrame(rows).set_index("layer")

    def model_for(self, **settings: Any) -> keras.Model:
        """A plain Keras model holding the compressed weights of ``settings`` (a copy)."""
        out = keras.models.clone_model(self.model)
        out.set_weights(self._weights_with(self.compress(Settings(**settings))))
        return out

    def export(self, folder: str | Path, kinds: Sequence[str] = ("packed",),
               **settings: Any) -> dict[str, Any]:
        """Write the artifacts of one point and measure each on its own file.

        ``kinds`` are export kinds (``packed`` writes ``model.wbz``; ``tflite_*`` write
        ``model_<kind>.tflite``). Returns the metrics ``wb.run`` records for them
        (``size_bytes_packed``, ``packed_accuracy``, ``<kind>_bytes``, ``<kind>_accuracy``...).

        Example:
            >>> w.export("out/point", ["packed", "tflite_int8"], prune_ratio=0.9)  # doctest: +SKIP
        """
        from workbench.compress.pipeline import export_all
        from workbench.config import ExperimentConfig
        from workbench.runs import write_artifact

        cfg = ExperimentConfig(export=list(kinds))  # checks the kinds, names the field
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        final = self.model_for(**settings)
        x_train = self.x_train if self.x_train is not None else self.x_test
        return export_all(cfg, final, functools.partial(write_artifact, folder), x_train,
                          self.x_test, self.y_test)  # the names a run folder uses


# --- per-layer sensitivity ---

def sensitivity(source: WhatIf | Any, ratios: Iterable[float] = (0.5, 0.7, 0.8, 0.9, 0.95),
                bits: Iterable[int] = (8, 6, 5, 4, 3, 2), *, data: Any = None,
                granularity: str = "per_channel", trust: bool = False) -> pd.DataFrame:
    """Prune or quantize one layer at a time and measure the accuracy (Han et al. 2015,
    Fig. 5): which layers tolerate compression, and how much.

    ``source`` is a :class:`WhatIf` or anything it accepts (with ``data`` and ``trust``,
    as :class:`WhatIf` takes them). Returns one row per (layer,
    technique, value): ``layer``, ``type``, ``params``, ``technique`` (``prune`` or
    ``quantize``), ``value`` (ratio or bits), ``test_accuracy`` and ``drop`` (from the
    uncompressed accuracy, in accuracy units: 0.01 = 1 point).

    Example:
        >>> df = wb.compress.sensitivity(dense_run, ratios=[0.5, 0.9], bits=[4])  # doctest: +SKIP
        >>> wb.figures.sensitivity(df).show()                                    # doctest: +SKIP
    """
    import pandas as pd

    w = source if isinstance(source, WhatIf) else WhatIf(source, data, trust=trust)
    base = w.baseline["test_accuracy"]
    rows = []
    for p in layer_plan(w.model, Settings()):
        if not p.compressible:
            continue
        for r in sorted(ratios):
            acc = w.evaluate(layers={p.name: {"prune_ratio": r}}, measure_size=False,
                             quant_granularity=granularity)["test_accuracy"]
            rows.append({"layer": p.name, "type": p.type, "params": p.params,
                         "technique": "prune", "value": float(r), "test_accuracy": acc,
                         "drop": base - acc})
        for b in bits:
            acc = w.evaluate(layers={p.name: {"quant_bits": b}}, measure_size=False,
                             quant_granularity=granularity)["test_accuracy"]
            rows.append({"layer": p.name, "type": p.type, "params": p.params,
                         "technique": "quantize", "value": int(b), "test_accuracy": acc,
                         "drop": base - acc})
    w.evaluate(measure_size=False)  # leave the engine's model uncompressed
    df = pd.DataFrame(rows)
    df.attrs["baseline_accuracy"] = base
    return df


def suggest_layer_ratios(df: pd.DataFrame, max_drop: float = 0.005) -> dict[str, float]:
    """Each layer's largest pruning ratio whose accuracy drop, that layer alone, is at most
    ``max_drop`` (0.005 = half a point), and so is every smaller ratio scanned; layers with
    none are left out.

    The result is a ``prune_layer_ratios`` value for a run. The drops of layers pruned
    together add up roughly (Han et al.): check the combination with
    ``WhatIf.evaluate(layers={n: {"prune_ratio": r} for n, r in ratios.items()})``.

    Example:
        >>> ratios = wb.compress.suggest_layer_ratios(df, max_drop=0.005)  # doctest: +SKIP
        >>> wb.run(cfg.replace(init_from=run_id, prune_layer_ratios=ratios))  # doctest: +SKIP
    """
    if isinstance(max_drop, bool) or not isinstance(max_drop, int | float) or max_drop < 0:
        raise ConfigError("max_drop", max_drop, "a number >= 0 (in accuracy units: 0.005 = "
                          "half a point)")
    needed = {"layer", "technique", "value", "drop"}
    if not needed <= set(df.columns):
        raise DataError("suggest_layer_ratios needs the DataFrame of "
                        "wb.compress.sensitivity (columns: " + ", ".join(sorted(needed)) + ")")
    out: dict[str, float] = {}
    prune = df[df["technique"] == "prune"]
    for layer, rows in prune.groupby("layer", sort=False):
        best = None
        for value, drop in zip(rows["value"], rows["drop"], strict=True):  # ratio order
            if drop > max_drop:
                break  # a larger ratio that happens to pass after a failure is noise
            best = float(value)
        if best:
            out[str(layer)] = best
    return out
