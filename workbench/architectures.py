"""Model registry: name -> builder ``(input_shape, num_classes, **options) -> keras.Model``.

Every model outputs logits (no softmax); losses use ``from_logits=True``. Each builder adapts
to the data's input shape and class count, and takes the config's model options
(``hidden_units``, ``activation``) as keyword arguments, so it can be called without a config
(this module never imports it). Users may pass their own ``keras.Model`` or a
``callable(input_shape, num_classes) -> keras.Model`` to ``wb.run``.

Importing this module does not import TensorFlow; building a model does.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from workbench.exceptions import ConfigError, ModelError, did_you_mean
from workbench.registry import Registry

if TYPE_CHECKING:
    import keras

#: The keyword options every builder takes: the config's model fields, but ``model`` itself.
MODEL_OPTIONS = ("hidden_units", "activation")


@dataclass(frozen=True)
class ModelInfo:
    """Metadata of a registered architecture.

    Example:
        >>> import workbench as wb
        >>> wb.models()["lenet300_100"].description.split(":")[0]
        'LeNet-300-100'
    """

    name: str
    description: str
    inputs: str  # "any", "image_or_sequence"
    builder: Callable[..., Any]


def _layers():
    from workbench._tf import keras

    return keras, keras.layers


def _dense_stack(input_shape: tuple[int, ...], num_classes: int, units: list[int],
                 act: str, name: str) -> keras.Model:
    keras, L = _layers()
    inp = keras.Input(shape=input_shape, name="input")
    x = L.Flatten(name="flatten")(inp) if len(input_shape) > 1 else inp
    for i, u in enumerate(units):
        x = L.Dense(u, activation=act, name=f"dense_{i + 1}")(x)
    out = L.Dense(num_classes, name="logits")(x)
    return keras.Model(inp, out, name=name)


Shape = tuple[int, ...]
Units = tuple[int, ...] | list[int]


def _logistic(input_shape: Shape, num_classes: int, *, hidden_units: Units = (),
              activation: str = "relu") -> keras.Model:
    return _dense_stack(input_shape, num_classes, [], "linear", "logistic")


def _mlp(input_shape: Shape, num_classes: int, *, hidden_units: Units = (128, 64),
         activation: str = "relu") -> keras.Model:
    return _dense_stack(input_shape, num_classes, list(hidden_units), activation, "mlp")


def _lenet300_100(input_shape: Shape, num_classes: int, *, hidden_units: Units = (),
                  activation: str = "relu") -> keras.Model:
    return _dense_stack(input_shape, num_classes, [300, 100], activation, "lenet300_100")


def _conv_input(name: str, input_shape: tuple[int, ...]):
    """Return (keras Input, tensor, rank) where rank 2 -> Conv2D, 1 -> Conv1D."""
    keras, L = _layers()
    inp = keras.Input(shape=input_shape, name="input")
    if len(input_shape) == 3:
        return inp, inp, 2
    if len(input_shape) == 2 and input_shape[0] >= 4:
        return inp, inp, 1
    if len(input_shape) == 1 and input_shape[0] >= 4:
        return inp, L.Reshape((input_shape[0], 1), name="as_sequence")(inp), 1
    raise ModelError(f"model={name!r} needs image (H, W, C) or sequence input; this data has "
                     f"shape {input_shape}: use model='mlp' or 'logistic'")


def _lenet5(input_shape: Shape, num_classes: int, *, hidden_units: Units = (),
            activation: str = "relu") -> keras.Model:
    """Caffe/Han LeNet-5: conv 20 5x5, pool, conv 50 5x5, pool, dense 500, dense classes."""
    keras, L = _layers()
    inp, x, rank = _conv_input("lenet5", input_shape)
    conv, pool = (L.Conv2D, L.MaxPooling2D) if rank == 2 else (L.Conv1D, L.MaxPooling1D)
    spatial = input_shape[:2] if rank == 2 else (input_shape[0],)
    pad = "valid" if min(spatial) >= 28 else "same"  # 'valid' would shrink 8x8 digits to nothing
    act = activation
    x = conv(20, 5, padding=pad, activation=act, name="conv_1")(x)
    x = pool(2, name="pool_1")(x)
    x = conv(50, 5, padding=pad, activation=act, name="conv_2")(x)
    x = pool(2, name="pool_2")(x)
    x = L.Flatten(name="flatten")(x)
    x = L.Dense(500, activation=act, name="dense_1")(x)
    out = L.Dense(num_classes, name="logits")(x)
    return keras.Model(inp, out, name="lenet5")


def _small_cnn(input_shape: Shape, num_classes: int, *, hidden_units: Units = (),
               activation: str = "relu") -> keras.Model:
    """Two 3x3 conv blocks (16, 32 filters) with pooling, then dense 64."""
    keras, L = _layers()
    inp, x, rank = _conv_input("small_cnn", input_shape)
    conv, pool = (L.Conv2D, L.MaxPooling2D) if rank == 2 else (L.Conv1D, L.MaxPooling1D)
    act = activation
    x = conv(16, 3, padding="same", activation=act, name="conv_1")(x)
    x = pool(2, name="pool_1")(x)
    x = conv(32, 3, padding="same", activation=act, name="conv_2")(x)
    x = pool(2, name="pool_2")(x)
    x = L.Flatten(name="flatten")(x)
    x = L.Dense(64, activation=act, name="dense_1")(x)
    out = L.Dense(num_classes, name="logits")(x)
    return keras.Model(inp, out, name="small_cnn")


def _conv25(input_shape: Shape, num_classes: int, *, hidden_units: Units = (),
            activation: str = "relu") -> keras.Model:
    """The MNIST-1D paper's CNN (Greydanus & Kobak 2024): three stride-2 convs of 25 channels
    (kernels 5, 3, 3, padding 1), then a linear layer; 5,210 weights on MNIST-1D."""
    keras, L = _layers()
    inp, x, rank = _conv_input("conv25", input_shape)
    conv, pad = (L.Conv2D, L.ZeroPadding2D) if rank == 2 else (L.Conv1D, L.ZeroPadding1D)
    for i, k in enumerate((5, 3, 3), start=1):
        x = pad(1, name=f"pad_{i}")(x)
        x = conv(25, k, strides=2, activation=activation, name=f"conv_{i}")(x)
    x = L.Flatten(name="flatten")(x)
    out = L.Dense(num_classes, name="logits")(x)
    return keras.Model(inp, out, name="conv25")


BUILTIN: dict[str, ModelInfo] = {
    "logistic": ModelInfo("logistic", "Logistic regression: one dense layer on the inputs",
                          "any", _logistic),
    "mlp": ModelInfo("mlp", "Multi-layer perceptron: dense layers of `hidden_units`", "any",
                     _mlp),
    "lenet300_100": ModelInfo("lenet300_100", "LeNet-300-100: dense 300-100 (Han et al. 2015)",
                              "any", _lenet300_100),
    "lenet5": ModelInfo("lenet5", "LeNet-5 (Caffe/Han variant): conv 20, conv 50, dense 500",
                        "image_or_sequence", _lenet5),
    "small_cnn": ModelInfo("small_cnn", "Small CNN: conv 16, conv 32, dense 64",
                           "image_or_sequence", _small_cnn),
    "conv25": ModelInfo("conv25", "The MNIST-1D paper's CNN: three stride-2 convs of 25 "
                        "channels, then linear", "image_or_sequence", _conv25),
}


def _info_from_builder(name: str, builder: Any, description: str = "") -> ModelInfo:
    if isinstance(builder, ModelInfo):
        return builder
    if not callable(builder):
        raise ConfigError("builder", builder, "a callable(input_shape, num_classes) -> "
                          "keras.Model")
    import inspect

    try:
        params = inspect.signature(builder).parameters
        takes = {o for o in MODEL_OPTIONS if o in params} | (
            set(MODEL_OPTIONS) if any(p.kind is p.VAR_KEYWORD for p in params.values())
            else set())
    except (TypeError, ValueError):
        takes = set()

    def build(input_shape: Shape, num_classes: int, **options: Any) -> keras.Model:
        return builder(input_shape, num_classes, **{k: v for k, v in options.items()
                                                    if k in takes})

    doc = (getattr(builder, "__doc__", None) or "").strip().splitlines()
    return ModelInfo(name, description or (doc[0] if doc else f"registered: {name}"), "any",
                     build)


MODELS: Registry[ModelInfo] = Registry("nn_workbench.models", _info_from_builder)
"""Every architecture known by name: built-in, registered, and installed plug-ins."""
MODELS.update(BUILTIN)
MODEL_PATHS = "a .keras file, or package.module:function"


def register_model(name: str, builder: Callable[..., Any], *, description: str = "",
                   replace: bool = False) -> ModelInfo:
    """Add an architecture that every surface sees by ``name`` (config, CLI choices, the
    panel's dropdown, ``workbench models``, notebook parameters).

    ``builder(input_shape, num_classes)`` returns a ``keras.Model`` whose output width is the
    class count, exactly as ``wb.run(model=...)`` takes it; it also gets ``hidden_units`` and
    ``activation`` when its signature names them. Installed packages add names through the
    ``nn_workbench.models`` entry-point group.

    Example:
        >>> import keras, workbench as wb
        >>> def tiny(input_shape, num_classes):
        ...     "One dense layer."
        ...     return keras.Sequential([keras.Input(input_shape), keras.layers.Flatten(),
        ...                              keras.layers.Dense(num_classes)])
        >>> wb.register_model("tiny", tiny, replace=True).description
        'One dense layer.'
        >>> wb.ExperimentConfig(model="tiny").model
        'tiny'
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ConfigError("name", name, "a model name made of letters, digits and _")
    if name in MODELS and not (replace and name not in BUILTIN):
        raise ConfigError("name", name, "a new name: it is taken (built-in models cannot be "
                          "replaced; pass replace=True to redefine one you registered)")
    info = _info_from_builder(name, builder, description)
    MODELS[name] = info
    return info


def check_model_spec(value: Any) -> str:
    """The config's check of ``model``: a registered name, a ``.keras`` path or
    ``package.module:function`` (syntax only: the file is read when the model is built)."""
    import re

    if isinstance(value, str) and (value in MODELS or value.lower().endswith(".keras")
                                   or re.match(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$", value)):
        return value
    raise ConfigError("model", value, "one of: " + ", ".join(MODELS) + "; or " + MODEL_PATHS
                      + did_you_mean(value, MODELS))


def build_from_spec(spec: str, input_shape: tuple[int, ...], num_classes: int,
                    options: dict[str, Any] | None = None, trust: bool = True) -> keras.Model:
    """Build what ``model`` names: a registered name, a ``.keras`` file (its architecture,
    with fresh weights; loaded in Keras safe mode) or ``package.module:function``.

    Raises ConfigError naming ``model`` for a file or builder that cannot be had, and
    ModelError when the model does not fit the data.
    """

    options = options or {}
    if spec in MODELS:
        return build_model(spec, input_shape, num_classes, **options)
    from workbench._tf import keras

    if spec.lower().endswith(".keras"):
        from workbench.data.sources import local_copy

        path = local_copy(spec)
        if not path.is_file():
            raise ConfigError("model", spec, "an existing .keras file (no such file)")
        try:
            loaded = keras.saving.load_model(path, compile=False, safe_mode=True)
        except Exception as e:
            text = str(e).splitlines()[0][:300] if str(e) else type(e).__name__
            raise ConfigError("model", spec, f"a loadable .keras model file, without Python "
                              f"code ({type(e).__name__}: {text})") from None
        if not isinstance(loaded, keras.Model):
            raise ConfigError("model", spec, "a .keras file holding a keras.Model")
        net = keras.models.clone_model(loaded)  # the architecture; fresh initial weights
    else:
        from workbench.data.sources import import_callable

        fn = import_callable(spec, "model", trust)
        try:
            net = fn(tuple(input_shape), int(num_classes))
        except Exception as e:
            raise ModelError(f"model={spec!r}: the builder raised {type(e).__name__}: "
                             f"{e}") from None
    check_user_model(net, tuple(input_shape), int(num_classes))
    return net


def models() -> dict[str, ModelInfo]:
    """The registered architectures, by name.

    Example:
        >>> import workbench as wb
        >>> "lenet5" in wb.models()
        True
    """
    return dict(MODELS.items())


def build_model(name: str, input_shape: tuple[int, ...], num_classes: int, cfg: Any = None,
                /, **options: Any) -> keras.Model:
    """Build a registered model for the given input shape and class count.

    ``options`` are the config's model options (``hidden_units``, ``activation``; see
    :attr:`workbench.ExperimentConfig.model_options`); those not given keep their defaults.

    Example:
        >>> from workbench.architectures import build_model
        >>> build_model("lenet300_100", (28, 28, 1), 10).count_params()
        266610
        >>> build_model("mlp", (64,), 10, hidden_units=[32]).count_params()
        2410
    """
    if cfg is not None:  # the old call, build_model(name, shape, classes, cfg)
        warnings.warn("build_model(name, input_shape, num_classes, cfg) is deprecated: pass "
                      "the model options, build_model(..., **cfg.model_options)",
                      DeprecationWarning, stacklevel=2)
        options = {**cfg.model_options, **options}
    if name not in MODELS:
        raise ConfigError("model", name, "one of: " + ", ".join(MODELS)
                          + did_you_mean(name, MODELS))
    for key in options:
        if key not in MODEL_OPTIONS:
            raise ConfigError(key, options[key], message=f"build_model takes the model options "
                              f"{', '.join(MODEL_OPTIONS)}, not {key!r}")
    return MODELS[name].builder(tuple(input_shape), int(num_classes), **options)


def check_user_model(model: Any, input_shape: tuple[int, ...], num_classes: int) -> None:
    """Raise ModelError if a user model's output width or input shape does not fit the data."""
    from workbench._tf import keras

    if not isinstance(model, keras.Model):
        raise ModelError(f"model must be a keras.Model or a callable(input_shape, num_classes) "
                         f"returning one, not {type(model).__name__}")
    if not model.built:
        model.build((None, *input_shape))
    try:
        out_shape = tuple(model.outputs[0].shape) if getattr(model, "outputs", None) else None
    except (AttributeError, ValueError):
        out_shape = None
    if out_shape is None:
        try:
            out_shape = tuple(model.compute_output_shape((1, *input_shape)))
        except Exception as e:
            raise ModelError(f"model does not accept inputs of shape {input_shape}: {e}") from None
    if out_shape[-1] != num_classes:
        raise ModelError(f"model outputs {out_shape[-1]} values per sample but the data has "
                         f"{num_classes} classes: its last layer must have {num_classes} units")
    inputs = getattr(model, "inputs", None)
    if inputs:
        want = tuple(inputs[0].shape[1:])
        if len(want) != len(input_shape) or any(
                w is not None and w != g for w, g in zip(want, input_shape, strict=True)):
            raise ModelError(f"model expects inputs of shape {want} but the data's samples "
                             f"have shape {tuple(input_shape)}")


def outputs_probabilities(model: keras.Model) -> bool:
    """True if the model's last layer applies softmax (so the loss must not use logits)."""
    last = model.layers[-1] if model.layers else None
    act = getattr(last, "activation", None)
    return getattr(act, "__name__", "") == "softmax"
