"""Execute notebooks top to bottom in a fresh kernel and store their outputs in place.

    python tools/execute_notebooks.py chapters/01-neurons-and-layers.ipynb [more.ipynb ...]
    python tools/execute_notebooks.py --all          # chapters/ and solutions/

This is how every committed output is produced: one fresh kernel per notebook, cells in order
(so execution counts are 1..n, which tests/test_notebooks.py checks), the working directory set
to the notebook's folder, no timing metadata and no widget state (so a re-run changes nothing
that did not really change). After running the solutions, regenerate exercises/ with
``python tools/make_exercises.py``.

The kernel runs with ``NNBOOK_STATIC_FRAMES=1``, so interactive figures store every frame of
their static version (a reader's own run renders only the live figure; see ``nnbook.widgets``).
"""

import argparse
import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def execute(path: Path, timeout: int = 1200) -> None:
    from nnbook.widgets import STATIC_FRAMES_ENV

    os.environ[STATIC_FRAMES_ENV] = "1"  # the kernel inherits it
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}},
        record_timing=False, store_widget_state=False, allow_errors=False,
    )
    client.execute()
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nbformat.write(nb, path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--all", action="store_true", help="every notebook in chapters/ and solutions/")
    args = parser.parse_args(argv)
    paths = list(args.notebooks)
    if args.all:
        paths += sorted((ROOT / "chapters").glob("*.ipynb")) + sorted((ROOT / "solutions").glob("*.ipynb"))
    if not paths:
        parser.error("name notebooks to run, or --all")
    for path in paths:
        print(f"executing {path} ...", flush=True)
        execute(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
