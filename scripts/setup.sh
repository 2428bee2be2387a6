#!/usr/bin/env bash
# Idempotent set-up used by `make demo`, `make test` and `make lab`:
#  1. Debian packages the project uses (installed with apt-get when running as root; otherwise
#     the command to run is printed and set-up carries on: tests needing them then skip).
#  2. .venv with the package (editable) and its dev extra. Re-done only when pyproject.toml
#     changes, so a second run takes about a second.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(dataset-fashion-mnist chromium chromium-driver postgresql)
PYTHON=${PYTHON:-python3}

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "setup: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: optional Debian packages missing: ${missing[*]}"
    echo "setup: install them with: sudo apt-get install ${missing[*]}"
    echo "setup: carrying on (Fashion-MNIST, browser and PostgreSQL tests will be skipped outside CI)"
  fi
fi

stamp=".venv/.installed-$(cat pyproject.toml | sha256sum | cut -c1-16)"
if [[ ! -f $stamp ]]; then
  echo "setup: creating .venv and installing nn-workbench[dev] (about a minute the first time)"
  [[ -x .venv/bin/python ]] || "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
  .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[dev]" 2>&1 | grep -v "^WARNING: Location" || true
  TF_CPP_MIN_LOG_LEVEL=3 .venv/bin/python -c "import workbench, keras, tensorflow, pytest" 2>/dev/null || { echo "setup: the install is broken"; exit 1; }
  # Optuna's GP sampler (search sampler "gp") needs PyTorch. PyPI's torch wheel pulls CUDA
  # (gigabytes), so a CPU-only wheel is installed only when one is at hand in a local wheel
  # folder (pip's find-links); without it, sampler="gp" is a clear error and the rest works.
  tag=$(.venv/bin/python -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
  wheel=""
  for dir in ${PIP_FIND_LINKS:-} /opt/wheels; do
    wheel=$(ls "$dir"/torch-*+cpu-"$tag"-*.whl 2>/dev/null | head -1 || true)
    [[ -n $wheel ]] && break
  done
  if [[ -n $wheel ]]; then
    version=$(basename "$wheel" | cut -d- -f2)
    echo "setup: installing CPU PyTorch $version for the gp search sampler (local wheel)"
    if ! .venv/bin/python -m pip install -q --disable-pip-version-check "torch==$version" \
        >/dev/null 2>&1; then
      echo "setup: PyTorch could not be installed; the gp search sampler is off"
    fi
  fi
  rm -f .venv/.installed-*
  touch "$stamp"
fi
