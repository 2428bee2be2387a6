"""The tfmot arm of vs_tfmot.py: tfmot's own MNIST-tutorial recipes on tf_keras (legacy Keras).

Run in its own process (tfmot sets TF_USE_LEGACY_KERAS=1 for the whole process). Prints one
JSON line: {"prune_ptq": {...}, "cluster_ptq": {...}}. Needs the benchmark-only extra:
``pip install --no-deps tf-keras==2.21.0 && pip install tensorflow-model-optimization==0.8.1``.
"""

from __future__ import annotations

import gzip
import json
import os
import sys

os.environ["TF_USE_LEGACY_KERAS"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import tensorflow as tf
import tensorflow_model_optimization as tfmot
import tf_keras as keras


def tutorial_model() -> keras.Model:
    """The model of tfmot's pruning and clustering tutorials."""
    return keras.Sequential([
        keras.layers.InputLayer(input_shape=(28, 28)),
        keras.layers.Reshape(target_shape=(28, 28, 1)),
        keras.layers.Conv2D(filters=12, kernel_size=(3, 3), activation="relu"),
        keras.layers.MaxPooling2D(pool_size=(2, 2)),
        keras.layers.Flatten(),
        keras.layers.Dense(10)])


def compile_(m: keras.Model, lr: float = 1e-3) -> None:
    m.compile(optimizer=keras.optimizers.Adam(lr),
              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=["accuracy"])


def tflite_ptq(m: keras.Model) -> bytes:
    conv = tf.lite.TFLiteConverter.from_keras_model(m)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    return conv.convert()


def tflite_accuracy(flat: bytes, x: np.ndarray, y: np.ndarray) -> float:
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_content=flat)
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    it.resize_tensor_input(inp["index"], x.shape)
    it.allocate_tensors()
    it.set_tensor(inp["index"], x.astype(np.float32))
    it.invoke()
    return float((it.get_tensor(out["index"]).argmax(-1) == y).mean())


def main() -> None:
    data = np.load(sys.argv[1])
    x_tr, y_tr, x_te, y_te = data["x_train"], data["y_train"], data["x_test"], data["y_test"]
    base_epochs, tune_epochs = int(sys.argv[2]), int(sys.argv[3])
    keras.utils.set_random_seed(0)
    base = tutorial_model()
    compile_(base)
    base.fit(x_tr, y_tr, epochs=base_epochs, validation_split=0.1, verbose=0)
    trained = base.get_weights()  # the wrappers share the layers: restore before each recipe
    out = {}

    # pruning tutorial: PolynomialDecay 50% -> 80% over the fine-tuning epochs, batch 128
    batch = 128
    end_step = int(np.ceil(len(x_tr) * 0.9 / batch)) * tune_epochs
    sched = tfmot.sparsity.keras.PolynomialDecay(initial_sparsity=0.50, final_sparsity=0.80,
                                                 begin_step=0, end_step=end_step)
    pruned = tfmot.sparsity.keras.prune_low_magnitude(base, pruning_schedule=sched)
    compile_(pruned)
    pruned.fit(x_tr, y_tr, batch_size=batch, epochs=tune_epochs, validation_split=0.1,
               verbose=0, callbacks=[tfmot.sparsity.keras.UpdatePruningStep()])
    stripped = tfmot.sparsity.keras.strip_pruning(pruned)
    flat = tflite_ptq(stripped)
    out["prune_ptq"] = {"gzip_bytes": len(gzip.compress(flat)), "tflite_bytes": len(flat),
                        "accuracy": tflite_accuracy(flat, x_te, y_te)}

    # clustering tutorial: 16 clusters, linear init, fine-tune at lr 1e-5
    base.set_weights(trained)
    clustered = tfmot.clustering.keras.cluster_weights(
        base, number_of_clusters=16,
        cluster_centroids_init=tfmot.clustering.keras.CentroidInitialization.LINEAR)
    compile_(clustered, lr=1e-5)
    clustered.fit(x_tr, y_tr, batch_size=500, epochs=tune_epochs, validation_split=0.1,
                  verbose=0)
    final = tfmot.clustering.keras.strip_clustering(clustered)
    flat = tflite_ptq(final)
    out["cluster_ptq"] = {"gzip_bytes": len(gzip.compress(flat)), "tflite_bytes": len(flat),
                          "accuracy": tflite_accuracy(flat, x_te, y_te)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
