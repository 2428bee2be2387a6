"""The one place that imports TensorFlow and Keras (lazily: importing this module does it).

Modules that need Keras do ``from workbench._tf import keras`` inside functions, so that
``import workbench`` stays fast and TensorFlow-free.

Quiet by default. TensorFlow 2.21 writes four lines to the process's stderr while it is imported
(two ``All log messages before absl::InitializeLog()`` and two ``oneDNN custom operations are
on``) whatever ``TF_CPP_MIN_LOG_LEVEL`` says, and its Python logger warns about retracing when
many small models are built. Here the import runs with file descriptor 2 redirected to a
temporary file; afterwards every captured line is written back except those known notices, so a
real error printed during the import still shows. The numerics are untouched (oneDNN stays on).
``WORKBENCH_VERBOSE=1`` (the CLI's ``--verbose``) turns all of this off.
"""

from __future__ import annotations

import importlib
import os
import re
import tempfile

from workbench._env import verbose

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

#: Lines TensorFlow prints on import that carry no information for a workbench user.
IMPORT_NOTICES = re.compile(
    rb"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to "
    rb"STDERR|I0000 [0-9:. ]+\S+\] oneDNN custom operations are on\.|\S+ [0-9:. ]+\S+\] "
    rb"(Unable to register cu(DNN|FFT|BLAS) factory|computation placer already registered|"
    rb"TF-TRT Warning|This TensorFlow binary is optimized to use available CPU instructions)"
    rb"|To enable the following instructions:)")


def _import_quietly() -> None:
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all: nothing to keep quiet
        importlib.import_module("tensorflow")
        return
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            importlib.import_module("tensorflow")
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept = [line for line in captured.read().splitlines(keepends=True)
                    if not IMPORT_NOTICES.match(line)]
            if kept:
                os.write(2, b"".join(kept))


if not verbose():
    _import_quietly()

keras = importlib.import_module("keras")  # after the quiet import above, on purpose
tf = importlib.import_module("tensorflow")

if not verbose():
    tf.get_logger().setLevel("ERROR")  # retracing notices from many small models

if keras.backend.backend() != "tensorflow":  # pragma: no cover - environment problem
    raise ImportError(f"nn-workbench needs the TensorFlow Keras backend; KERAS_BACKEND is "
                      f"{keras.backend.backend()!r}")

__all__ = ["IMPORT_NOTICES", "keras", "tf", "verbose"]
