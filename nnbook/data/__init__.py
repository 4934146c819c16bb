"""Datasets the book trains on, each loading offline.

:func:`load_digits` reads the 8×8 handwritten digits that ship inside this package: 1,797 real
images of the digits 0–9, 64 pixels each with integer grey levels 0–16. They are the test part of
the UCI "Optical Recognition of Handwritten Digits" data (Alpaydin and Kaynak, 1998; licensed
CC BY 4.0), the same file that scikit-learn bundles as ``sklearn.datasets.load_digits``, so the
book needs neither scikit-learn nor a network to use them. The file's SHA-256 is checked on every
load; a missing, truncated or altered file raises :class:`DatasetError` saying what is wrong.

>>> digits = load_digits()
>>> digits.images.shape, digits.images.dtype, digits.target.shape, digits.target.dtype
(torch.Size([1797, 64]), torch.float32, torch.Size([1797]), torch.int64)
>>> int(digits.images.max()), digits.target.bincount().tolist()
(16, [178, 182, 177, 183, 181, 182, 181, 179, 174, 180])
"""

import gzip
import io
from importlib import resources
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from nnbook.data._files import DatasetError, check_digest, read_bytes

__all__ = ["DatasetError", "Digits", "load_digits", "DIGITS_SHA256"]

DIGITS_SHA256 = "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"


class Digits(NamedTuple):
    """The digits as tensors: ``images`` (N, 64) float32 in [0, 16], ``target`` (N,) int64.

    ``images[i].reshape(8, 8)`` is the picture, row by row.
    """

    images: torch.Tensor
    target: torch.Tensor


def load_digits(path=None, *, sha256=DIGITS_SHA256):
    """Load the 8×8 digits (1,797 images) as :class:`Digits`.

    ``path=None`` reads the copy inside the package. Another ``path`` reads a file in the same
    format (gzip-compressed or plain CSV, one image per line: 64 grey levels then the label); pass
    ``sha256=None`` to skip the checksum for a file of your own.
    """
    if path is None:
        source = resources.files(__name__) / "digits.csv.gz"
        name = "the package's digits.csv.gz"
    else:
        source = Path(path)
        name = str(source)
    hint = (" (the installed nnbook is incomplete: reinstall it)" if path is None
            else "; call load_digits() without a path for the copy inside nnbook")
    raw = read_bytes(source, name, "a digits file", hint)
    check_digest(raw, name, sha256, "sha256", "the digits file")
    try:
        text = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
        table = np.loadtxt(io.BytesIO(text), delimiter=",", ndmin=2)
    except (OSError, EOFError, ValueError) as error:
        raise DatasetError(f"{name} cannot be read as a digits CSV: {error}") from None
    if table.shape[1] != 65:
        raise DatasetError(f"{name} has {table.shape[1]} columns per line; a digits file has 65 "
                           "(64 grey levels, then the label)")
    labels = table[:, -1]
    if not np.all((labels >= 0) & (labels <= 9) & (labels == np.round(labels))):
        raise DatasetError(f"{name} has labels outside the digits 0-9")
    return Digits(images=torch.from_numpy(table[:, :-1]).float(),
                  target=torch.from_numpy(labels).long())


# The phone-price table (Chapter 8) and MNIST (Chapter 9) live in their own modules.
from nnbook.data.phones import (PHONE_COLUMNS, PHONE_FEATURES, PHONE_WEIGHTS,  # noqa: E402
                                PHONES_SHA256, load_phones, make_phones)

__all__ += ["PHONE_COLUMNS", "PHONE_FEATURES", "PHONE_WEIGHTS", "PHONES_SHA256", "load_phones",
            "make_phones"]
from nnbook.data.mnist import MNIST, MNIST_MD5, load_mnist, read_idx, write_idx  # noqa: E402

__all__ += ["MNIST", "MNIST_MD5", "load_mnist", "read_idx", "write_idx"]
