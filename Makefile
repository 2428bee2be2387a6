# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
BIN := .venv/bin
PYTEST := $(BIN)/python -m pytest

.PHONY: setup demo test test-fast lint lab bench bench-extra clean

setup:
	@bash scripts/setup.sh

# The main job on the embedded default data: train a dense model once, sweep compression
# settings from its weights (papermill, 2 at a time), write the report.
demo: setup
	$(BIN)/python scripts/demo.py --out reports/demo --workers 2

lint: setup
	$(BIN)/ruff check workbench tests benchmarks scripts

test: lint
	$(PYTEST) tests workbench README.md --doctest-modules --codeblocks --durations=25

test-fast: setup
	$(PYTEST) tests -m "not keras and not slow and not browser and not notebook and not system"

# JupyterLab refuses to start as root without --allow-root (containers, CI machines)
LAB_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

lab: setup
	$(BIN)/jupyter lab --ip=127.0.0.1 --no-browser --notebook-dir=notebooks $(LAB_ROOT)

bench: bench-extra
	$(BIN)/python benchmarks/core_overhead.py
	$(BIN)/python benchmarks/store_scale.py
	$(BIN)/python benchmarks/live_overhead.py
	$(BIN)/python benchmarks/mask_overhead.py
	$(BIN)/python benchmarks/vs_tfmot.py
	$(BIN)/python benchmarks/deep_compression.py
	$(BIN)/python benchmarks/whatif_latency.py
	$(BIN)/python benchmarks/recovery.py
	$(BIN)/python benchmarks/train_speed.py
	$(BIN)/python benchmarks/scaleout.py

# tfmot (tf_keras) for benchmarks/vs_tfmot.py only. --no-deps: tf-keras would pull the full
# `tensorflow` wheel beside tensorflow-cpu, and tfmot would downgrade absl-py.
# .venv-jax: Keras on JAX, the reference arm of benchmarks/train_speed.py (no TensorFlow in it;
# the project itself does not depend on JAX).
bench-extra: setup
	$(BIN)/pip install --quiet --no-deps tf-keras==2.21.0 tensorflow-model-optimization==0.8.1 \
		dm-tree==0.1.10
	[ -x .venv-jax/bin/python ] || $(BIN)/python -m venv .venv-jax
	.venv-jax/bin/pip install --quiet --disable-pip-version-check keras==3.15.1 "jax[cpu]==0.10.2"

clean:
	rm -rf .venv .venv-jax .pytest_cache .ruff_cache runs reports
