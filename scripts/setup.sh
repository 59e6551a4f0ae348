#!/usr/bin/env bash
# Set up everything on a fresh machine (idempotent; a re-run with nothing changed takes a second):
#   1. system packages (libusb-1.0-0 for open3d, libgl1/libegl1 for headless rendering)
#   2. a virtual environment at $VENV (default .venv) with Python 3.10 or 3.11
#   3. the pinned torch/torchvision pair FIRST, so no resolver pulls another multi-GB torch
#   4. this project, editable, with the test extras
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}

apt_pkgs=(libusb-1.0-0 libgl1 libegl1)
missing=()
for p in "${apt_pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ] && command -v apt-get >/dev/null; then
  echo "[setup] installing system packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null; }; then
    echo "[setup] warning: could not install ${missing[*]} (no root/sudo or no network); open3d may fail to import." >&2
    echo "[setup]          install them yourself: sudo apt-get install ${missing[*]}" >&2
  fi
fi

"$PYTHON" - <<'PY' || { echo "[setup] error: need Python 3.10 or 3.11 (pybullet has no newer wheels); set PYTHON=python3.11" >&2; exit 1; }
import sys; sys.exit(0 if (3, 10) <= sys.version_info[:2] <= (3, 11) else 1)
PY

if ! "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
  echo "[setup] creating $VENV"
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV" || { echo "[setup] error: '$PYTHON -m venv' failed; on Debian/Ubuntu: sudo apt-get install python3-venv" >&2; exit 1; }
fi
key=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)
stamp="$VENV/.embodied-setup"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ]; then exit 0; fi

case "$(uname -m)" in
  x86_64)  torch_pins=(torch==2.14.1 torchvision==0.29.1) ;;
  aarch64) torch_pins=(torch==2.9.1 torchvision==0.24.1) ;;
  *)       torch_pins=(torch torchvision) ;;
esac
echo "[setup] installing ${torch_pins[*]} (first; a few minutes on a fresh machine)"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q "${torch_pins[@]}"
echo "[setup] installing embodied-zeroshot[dev]"
"$VENV/bin/python" -m pip install -q -e '.[dev]'
echo "$key" > "$stamp"
echo "[setup] done: $VENV"
