#!/usr/bin/env bash
# Idempotent setup: system toolchains (when root or sudo is available), a .venv, the package.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(python3-venv bubblewrap arduino-builder arduino-core-avr arduino-ctags simavr gcc
              gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib qemu-system-arm
              g++ g++-multilib make)
PYTHON=${PYTHON:-python3}

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO="sudo"; else SUDO="none"; fi
  if [ "$SUDO" = none ] || ! command -v apt-get >/dev/null; then
    echo "note: cannot install system packages here (need root/sudo and apt): ${missing[*]}"
    echo "      without them the AVR/ARM compile and simulation steps report 'not available'."
  else
    echo "installing system packages: ${missing[*]}"
    $SUDO apt-get update -qq || echo "note: apt-get update failed; trying the install anyway"
    if ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null; then
      # one package this release lacks must not stop the rest: install them one by one
      for pkg in "${missing[@]}"; do
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$pkg" >/dev/null 2>&1 \
          || echo "note: apt-get could not install $pkg; the steps that need it report 'not available'"
      done
    fi
  fi
fi

if ! .venv/bin/python -m pip --version >/dev/null 2>&1; then  # absent, or left half-made
  "$PYTHON" -c 'import sys; assert sys.version_info >= (3, 10), "Python >= 3.10 is needed"'
  "$PYTHON" -m venv --clear .venv
fi
stamp=.venv/.tinyml-autopilot-installed
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "installing Python packages into .venv (TensorFlow is large: the first time takes a few minutes)"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[ml,dev]"
  echo "$want" > "$stamp"
fi
