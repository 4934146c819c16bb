"""Regenerate nnbook/data/optimizer_grid.json: Chapter 6's comparison of optimizers on the digits.

    python tools/make_optimizer_grid.py          # write the file (60 short runs)
    python tools/make_optimizer_grid.py --check  # exit 1 if the stored file differs

The runs are the chapter's own code: this script executes the cells that define the data, the
model, the training loop and the grid (``run_grid``) from chapters/06-optimizers.ipynb, then runs
``run_grid`` for every method and learning rate. The chapter loads the file and reruns one entry
to check that it matches.
"""

import json
import sys
from pathlib import Path

import nbformat
from stored_file import write_or_check  # tools/stored_file.py, next to this script

ROOT = Path(__file__).resolve().parents[1]
PATH = ROOT / "nnbook" / "data" / "optimizer_grid.json"
NOTEBOOK = ROOT / "chapters" / "06-optimizers.ipynb"
CELLS = ("cell-03", "cell-05", "cell-09", "cell-43")  # imports, data and model, train, the grid


def grid_json():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    source = {cell.get("id"): cell.source for cell in notebook.cells}
    namespace = {}
    for cell_id in CELLS:
        code = "\n".join(line for line in source[cell_id].splitlines()
                         if not line.startswith("%"))  # no IPython magics here
        exec(compile(code, f"{NOTEBOOK.name}:{cell_id}", "exec"), namespace)
    entries = []
    for name, (_, rates) in {**namespace["grid"], **namespace["variants"]}.items():
        for lr in rates:
            losses, accuracy = namespace["run_grid"](name, lr)
            entries.append({"method": name, "lr": lr, "losses": losses.tolist(),
                            "accuracy": accuracy.tolist()})
    return json.dumps(entries, indent=1) + "\n"


def main(argv):
    text = grid_json()
    return write_or_check(PATH, text, argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
