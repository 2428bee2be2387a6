"""Distribution strategies: one device, mirrored over this machine's devices, or one model
trained by N processes (``multi_worker``: TensorFlow's ``MultiWorkerMirroredStrategy``).

A multi-worker run needs ``TF_CONFIG`` in every process's environment: the cluster's
``host:port`` list and the process's own index. ``workbench train --workers N`` writes it for
N processes on 127.0.0.1 (:func:`launch_workers`); across machines the user sets it on each.
Every process trains on its shard of each global batch and the gradients are all-reduced, so
they hold the same weights; only rank 0 (the chief) records the run.

Keras 3.15's TensorFlow trainer fails under this strategy (tensorflow/tensorflow#72388): its
symbolic build reduces a data batch eagerly, and its step reduces scalar logs along axis 0.
:func:`fix_multi_worker` works around both on one compiled model.

Example:
    >>> from workbench.training.distribute import worker_rank
    >>> worker_rank({"cluster": {"worker": ["127.0.0.1:2000", "127.0.0.1:2001"]},
    ...              "task": {"type": "worker", "index": 1}})
    1
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from workbench.exceptions import ConfigError


def tf_config(env: dict[str, str] | None = None) -> dict[str, Any]:
    """The parsed ``TF_CONFIG`` of this process, checked; a ConfigError names what is wrong."""
    raw = (os.environ if env is None else env).get("TF_CONFIG")
    hint = ("set TF_CONFIG on each process (cluster's worker host:port list and the task's "
            "index), or start the processes with `workbench train --workers N`")
    if not raw:
        raise ConfigError("strategy", "multi_worker", f"a TF_CONFIG environment variable: {hint}")
    try:
        conf = json.loads(raw)
        workers = conf["cluster"]["worker"]
        index = int(conf["task"]["index"])
    except (ValueError, KeyError, TypeError) as e:
        raise ConfigError("strategy", "multi_worker",
                          f"a TF_CONFIG of the form {{'cluster': {{'worker': [...]}}, 'task': "
                          f"{{'type': 'worker', 'index': i}}}} (could not read it: {e})") from None
    if not isinstance(workers, list) or not 0 <= index < len(workers):
        raise ConfigError("strategy", "multi_worker",
                          f"a TF_CONFIG task index within its {len(workers)} workers ({hint})")
    return conf


def worker_rank(conf: dict[str, Any] | None = None) -> int:
    """This process's index in a multi-worker cluster (0, the chief, records the run)."""
    return int((conf or tf_config())["task"]["index"])


def make_strategy(name: str) -> Any:
    """The ``tf.distribute`` strategy of the config field ``strategy``."""
    if name == "multi_worker":
        tf_config()  # a clear error before TensorFlow is imported
    from workbench._tf import tf

    if name == "default":
        return tf.distribute.get_strategy()
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    gpus = tf.config.list_logical_devices("GPU")
    devices = [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]
    return tf.distribute.MirroredStrategy(devices=devices)


def fix_multi_worker(model: Any, x: Any, y: Any) -> None:
    """Make a compiled Keras 3.15 model trainable under ``MultiWorkerMirroredStrategy``.

    Builds its state from a local batch ``(x, y)`` (instead of Keras's eager reduction of a
    distributed batch) and gives its train and test steps logs of shape ``[1]``, which the
    strategy's mean over replicas reduces back to scalars (the logs of metrics are already
    in sync across workers, so the mean is their value).
    """
    from workbench._tf import tf

    with model.distribute_strategy.scope():
        model._symbolic_build(data_batch=(tf.constant(x), tf.constant(y)))
    model._maybe_symbolic_build = lambda iterator=None, data_batch=None: None

    def vector_logs(step: Any) -> Any:
        def wrapped(data: Any) -> Any:
            return {k: tf.reshape(v, [1]) for k, v in step(data).items()}
        return wrapped

    model.train_step = vector_logs(model.train_step)
    model.test_step = vector_logs(model.test_step)


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _stop(procs: list[subprocess.Popen[Any]], sig: int) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(sig)
    for p in procs:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def _wait_all(procs: list[subprocess.Popen[Any]], timeout: float | None) -> list[int]:
    """Wait for every process; when one fails the others would wait on it in a collective
    forever, so they are stopped."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while any(p.poll() is None for p in procs):
        if any(p.returncode not in (None, 0) for p in procs) or (
                deadline is not None and time.monotonic() > deadline):
            _stop(procs, signal.SIGKILL)
            break
        time.sleep(0.2)
    return [int(p.returncode) for p in procs]


def launch_workers(cfg: dict[str, Any], workers: int, runs_dir: str, quiet: bool = False,
                   timeout: float | None = None) -> int:
    """Train one config on ``workers`` local processes (127.0.0.1) with ``multi_worker``.

    Rank 0 prints and records the run in ``runs_dir``; the others are silent unless one
    fails, when its error is shown and the rest are stopped. Returns rank 0's exit code
    (1 when another rank failed, 130 on Ctrl-C).
    """
    if workers < 2:
        raise ConfigError("workers", workers, "an integer >= 2 (one process is a plain run)")
    ports = _free_ports(workers)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    with tempfile.TemporaryDirectory(prefix="wb-workers-") as tmp:
        path = Path(tmp) / "config.json"
        path.write_text(json.dumps({**cfg, "strategy": "multi_worker"}))
        procs, logs = [], []
        for i in range(workers):
            env = {**os.environ, "TF_CONFIG": json.dumps(
                {"cluster": cluster, "task": {"type": "worker", "index": i}})}
            cmd = [sys.executable, "-m", "workbench", "train", "--config", str(path),
                   "--runs-dir", runs_dir]
            if quiet or i:
                cmd.append("--quiet")
            log = open(Path(tmp) / f"rank{i}.log", "w+") if i else None  # noqa: SIM115
            logs.append(log)
            procs.append(subprocess.Popen(cmd, env=env, stdout=log or None,
                                          stderr=subprocess.STDOUT if log else None))
        try:
            codes = _wait_all(procs, timeout)
        except KeyboardInterrupt:
            _stop(procs, signal.SIGINT)
            return 130
        for i, (code, log) in enumerate(zip(codes, logs, strict=True)):
            if i and code != 0 and log is not None:
                log.seek(0)
                tail = log.read()[-2000:]
                warnings.warn(f"worker {i} of {workers} exited with {code}:\n{tail}",
                              RuntimeWarning, stacklevel=2)
            if log is not None:
                log.close()
    return 0 if all(c == 0 for c in codes) else (codes[0] if codes[0] > 0 else 1)
