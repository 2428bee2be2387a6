"""Knowledge distillation with Keras's own ``keras.distillation.Distiller``."""

from __future__ import annotations

from typing import Any

from workbench.exceptions import ConfigError, ModelError


def make_distiller(teacher: Any, student: Any, *, temperature: float = 4.0,
                   alpha: float = 0.5) -> Any:
    """A ``keras.distillation.Distiller`` training ``student`` against ``teacher``'s logits.

    ``alpha`` weighs the distillation loss (KL divergence of temperature-softened outputs);
    ``1 - alpha`` weighs the labels' loss. Compile it like any model; ``.student`` is the
    trained student.
    """
    from workbench._tf import keras

    if not 0.0 <= alpha <= 1.0:
        raise ConfigError("distill_alpha", alpha, "a number >= 0 and <= 1")
    if temperature <= 0:
        raise ConfigError("distill_temperature", temperature, "a number > 0")
    t_out, s_out = tuple(teacher.outputs[0].shape), tuple(student.outputs[0].shape)
    if t_out[-1] != s_out[-1]:
        raise ModelError(f"the teacher outputs {t_out[-1]} classes but the student "
                         f"{s_out[-1]}: they must match")
    teacher.trainable = False
    # Pass a KLDivergence *instance*: with the default loss="kl_divergence" string, Keras
    # 3.15.1 resolves a plain function, misses its softmax branch and takes the KL divergence
    # of raw logits (negative losses, a student stuck near chance).
    kd = keras.distillation.LogitsDistillation(temperature=temperature,
                                               loss=keras.losses.KLDivergence())
    return keras.distillation.Distiller(
        teacher=teacher, student=student, distillation_losses=kd,
        student_loss_weight=1.0 - alpha)


def distill(teacher: Any, student: Any, x: Any, y: Any, *, temperature: float = 4.0,
            alpha: float = 0.5, epochs: int = 5, batch_size: int = 64,
            optimizer: Any = "adam", callbacks: Any = ()) -> Any:
    """Train ``student`` on ``(x, y)`` against ``teacher`` and return the trained student.

    Example:
        >>> import workbench.compress as C                             # doctest: +SKIP
        >>> small = C.distill(big_model, small_model, x, y, epochs=3)  # doctest: +SKIP
    """
    from workbench._tf import keras
    from workbench.architectures import outputs_probabilities

    d = make_distiller(teacher, student, temperature=temperature, alpha=alpha)
    d.compile(optimizer=optimizer, loss=keras.losses.SparseCategoricalCrossentropy(
        from_logits=not outputs_probabilities(student)), metrics=["accuracy"])
    d.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0, callbacks=list(callbacks))
    return d.student


def load_teacher(spec: str, store: Any = None) -> Any:
    """Load a teacher: a ``.keras`` path, a run folder, or the id of a finished run in
    ``store`` (in Keras safe mode; errors name ``distill_teacher``)."""
    from workbench.training.source import load_source

    return load_source(spec, store, field="distill_teacher").model
