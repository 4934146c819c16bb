#!/usr/bin/env bash
# The GPU run of the whole book, for a machine with an NVIDIA GPU and its own Python with torch,
# and no network: everything else is installed from wheels carried with the working tree.
#
#   tools/gpu_check.sh                   # writes benchmarks/results/gpu.json (+ optim-gpu/)
#   PYTHON=/opt/py/bin/python3 tools/gpu_check.sh
#   tools/gpu_check.sh --dry-run         # rehearsal without a GPU (CPU legs, quick optimizer run)
#
# Before going to that machine, fill .whl/ (ignored by git) with the wheels it needs, for its
# Python (here 3.12) on manylinux x86_64; torch is NOT among them (the machine has its own):
#
#   pip download --dest .whl --only-binary=:all: --python-version 3.12 --implementation cp \
#       --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
#       --platform manylinux2014_x86_64 --platform any \
#       setuptools wheel numpy matplotlib ipywidgets pillow tqdm pandas \
#       pytest nbval nbclient nbformat ipykernel pyyaml
#
# (pip download resolves each package's own dependencies the same way.) The script then makes a
# virtual environment that sees the machine's torch (--system-site-packages), installs nnbook
# from this working tree and the rest from .whl/ with --no-index, and runs tools/gpu_check.py:
# the CUDA legs of the tests, every chapter and solution notebook, and the optimizer benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
WHEELS=${WHEELS:-.whl}
VENV=${VENV:-/tmp/nnbook-gpu-venv}

if [[ "${1:-}" != "--dry-run" ]]; then
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || true
fi
"$PYTHON" -c "import torch; print('torch', torch.__version__, '| CUDA available:', torch.cuda.is_available())"
if [[ ! -d "$WHEELS" ]] || ! ls "$WHEELS"/*.whl >/dev/null 2>&1; then
  echo "no wheels in $WHEELS: fill it with pip download first (see the top of $0)" >&2
  exit 2
fi

WHEELS=$(cd "$WHEELS" && pwd)
"$PYTHON" -m venv --system-site-packages "$VENV"
PY="$VENV/bin/python"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INDEX=1 PIP_FIND_LINKS="$WHEELS"
"$PY" -m pip install -q setuptools wheel
"$PY" -m pip install -q numpy matplotlib ipywidgets pillow tqdm pandas pytest nbval nbclient nbformat ipykernel pyyaml
"$PY" -m pip install -q --no-build-isolation --no-deps .
# The kernel spec goes into the environment (never the user's own folder) and is preferred there.
"$PY" -m ipykernel install --prefix "$VENV" --name python3 --display-name "Python 3" >/dev/null
export JUPYTER_PREFER_ENV_PATH=1
# Notebook kernels must import the nnbook just installed, not a checkout elsewhere.
unset PYTHONPATH
cd /tmp && "$PY" -c "import nnbook, torch; print('nnbook from', nnbook.__file__)" && cd - >/dev/null
exec "$PY" tools/gpu_check.py "$@"
