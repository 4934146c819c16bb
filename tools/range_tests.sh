#!/usr/bin/env bash
# The tests one release of the supported range must pass, run with the Python given (default:
# the one on PATH): the package with its doctests and every notebook of chapters/ and solutions/
# top to bottom (outputs may differ between releases, so they are not compared). The built-site
# and browser tests exercise jupyter-book and Chromium, not torch: they run once, with `pytest`.
# Used by .ci/run (the oldest and newest legs) and by the `range` job of .github/workflows/book.yml.
#   bash tools/range_tests.sh [PYTHON]
set -euo pipefail
cd "$(dirname "$0")/.."
py=${1:-python}
"$py" -c 'import torch, numpy; print(f"== supported range: torch {torch.__version__}, numpy {numpy.__version__}")'
# -rs lists every skip reason (those of the CUDA legs, the same on every release, are left out).
"$py" -m pytest -p no:cacheprovider -o addopts=--doctest-modules -q -rs nnbook tests \
  --ignore=tests/test_site.py --ignore=tests/test_book.py --ignore=tests/test_widgets_browser.py \
  | grep -v '^SKIPPED .*: no CUDA device on this machine$'
"$py" -m pytest -p no:cacheprovider -o addopts= -q --nbval-lax --nbval-current-env chapters solutions
