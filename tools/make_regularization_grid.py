"""Regenerate nnbook/data/regularization_grid.json: Chapter 7's dropout × weight-decay runs.

    python tools/make_regularization_grid.py          # write the file (about a minute on a 2-core machine)
    python tools/make_regularization_grid.py --check  # exit 1 if the stored file differs

The runs are nnbook.regularization.dropout_weight_decay_grid(): stored so that the chapter's
interactive figure answers at once and the chapter executes in seconds.
"""

import sys
from pathlib import Path

import torch

from nnbook.regularization import _GRID_FILE, dropout_weight_decay_grid, grid_to_json
from stored_file import write_or_check  # tools/stored_file.py, next to this script

PATH = Path(__file__).resolve().parents[1] / "nnbook" / "data" / _GRID_FILE


def main(argv):
    torch.set_num_threads(1)  # as the chapter runs; tiny networks are fastest on one thread
    text = grid_to_json(dropout_weight_decay_grid())
    return write_or_check(PATH, text, argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
