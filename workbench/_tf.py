"""The one place that imports TensorFlow and Keras (lazily: importing this module does it).

Modules that need Keras do ``from workbench._tf import keras`` inside functions, so that
``import workbench`` stays fast and TensorFlow-free. TensorFlow's C++ info logs are quietened
unless the user set ``TF_CPP_MIN_LOG_LEVEL`` themselves.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras
import tensorflow as tf

if keras.backend.backend() != "tensorflow":  # pragma: no cover - environment problem
    raise ImportError(f"nn-workbench needs the TensorFlow Keras backend; KERAS_BACKEND is "
                      f"{keras.backend.backend()!r}")

__all__ = ["keras", "tf"]
