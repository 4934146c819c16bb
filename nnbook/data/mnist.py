"""MNIST: the IDX file format, and a loader that caches, checks and (if asked) downloads the files.

MNIST (LeCun, Cortes and Burges, 1998) is 70,000 handwritten digits of 28×28 grey pixels: 60,000
for training and 10,000 for testing, in four files of the *IDX* format. An IDX file is a header
and then the numbers, all big-endian:

* a magic number of four bytes: two zero bytes, a byte naming the type of the numbers (0x08
  unsigned byte, 0x09 signed byte, 0x0B 2-byte integer, 0x0C 4-byte integer, 0x0D 4-byte float,
  0x0E 8-byte float) and a byte giving the number of dimensions;
* the size of each dimension, as 4-byte integers;
* the numbers, the last dimension changing fastest.

MNIST's image files have the magic number 2051 (0x00000803: unsigned bytes, 3 dimensions) and its
label files 2049 (0x00000801). The files are usually distributed gzip-compressed.

:func:`read_idx` reads any IDX file, compressed or not. :func:`load_mnist` reads the training or
test pair from a folder, checks each compressed file's MD5 against :data:`MNIST_MD5` and checks
every header, and downloads the missing files from :data:`MNIST_MIRRORS` only when called with
``download=True``. The MD5s are those torchvision lists for these files
(``torchvision/datasets/mnist.py``, ``MNIST.resources``); they are checksums of the ``.gz`` files,
so an uncompressed copy (torchvision extracts one next to each ``.gz``) is checked by its header
and exact length only. A folder that torchvision filled (``ROOT/MNIST/raw``) is found from
``ROOT`` too.

Tests and examples work offline on small files in the same format, with ``checksums=None``:

>>> import gzip, tempfile
>>> folder = Path(tempfile.mkdtemp())
>>> pixels = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
>>> _ = (folder / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(write_idx(pixels)))
>>> _ = (folder / "t10k-labels-idx1-ubyte").write_bytes(write_idx(np.array([7, 2], np.uint8)))
>>> test = load_mnist(folder, train=False, checksums=None)
>>> test.images.shape, test.images.dtype, test.target.tolist()
(torch.Size([2, 28, 28]), torch.uint8, [7, 2])
"""

import gzip
import hashlib
import struct
import urllib.request
import zlib
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from nnbook.data import DatasetError
from nnbook.data._files import check_digest, read_bytes

__all__ = ["MNIST", "MNIST_MD5", "MNIST_MIRRORS", "read_idx", "write_idx", "load_mnist"]

# MD5 of each official .gz file, as torchvision's MNIST.resources lists them.
MNIST_MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
# Tried in order: PyTorch's copy first, then the original site (torchvision's two mirrors).
MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_IMAGES_MAGIC, _LABELS_MAGIC = 0x0803, 0x0801


class MNIST(NamedTuple):
    """One part of MNIST: ``images`` (N, 28, 28) uint8 grey levels 0–255, ``target`` (N,) int64."""

    images: torch.Tensor
    target: torch.Tensor


def write_idx(array):
    """The bytes of an IDX file holding ``array`` (uncompressed): the inverse of :func:`read_idx`.

    >>> write_idx(np.array([7, 2], dtype=np.uint8)).hex()
    '00000801000000020702'
    """
    array = np.asarray(array)
    codes = {np.dtype(kind).newbyteorder(">"): code for code, kind in _IDX_TYPES.items()}
    big = array.dtype.newbyteorder(">")
    if big not in codes:
        raise TypeError(f"IDX has no type code for {array.dtype}")
    header = struct.pack(">HBB", 0, codes[big], array.ndim) + struct.pack(f">{array.ndim}I",
                                                                          *array.shape)
    return header + array.astype(big).tobytes()


def read_idx(source, *, magic=None, name=None):
    """Read an IDX file (a path, or its bytes; gzip-compressed or not) into a NumPy array.

    ``magic``, when given, is the magic number the file must have (2051 for MNIST's images, 2049
    for its labels). A wrong magic number, a header that does not fit the file, or a file shorter
    or longer than its header says raises :class:`~nnbook.data.DatasetError`.

    >>> read_idx(bytes.fromhex("00000801000000020702"), magic=2049)
    array([7, 2], dtype=uint8)
    """
    if isinstance(source, (bytes, bytearray)):
        raw, name = bytes(source), name or "the IDX data"
    else:
        path = Path(source)
        name = name or str(path)
        raw = read_bytes(path, name, "an IDX file")
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as error:
            raise DatasetError(f"{name} is a truncated or corrupt gzip file: {error}") from None
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] not in _IDX_TYPES or raw[3] == 0:
        raise DatasetError(f"{name} is not an IDX file: it starts with {raw[:4].hex() or 'nothing'}"
                           ", not two zero bytes, a type code and a number of dimensions")
    found = int.from_bytes(raw[:4], "big")
    if magic is not None and found != magic:
        raise DatasetError(f"{name} has the magic number {found} (0x{found:08x}); expected {magic} "
                           f"(0x{magic:08x}): it is not the file it is named as")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DatasetError(f"{name} is truncated: its header is cut short")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        problem = "truncated" if len(raw) - header < expected else "longer than its header says"
        raise DatasetError(f"{name} is {problem}: its header promises {shape} numbers "
                           f"({expected:,} bytes) and it holds {len(raw) - header:,} bytes")
    array = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="))      # native byte order, and a writable copy


def _md5(data):
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _download(stem, folder, mirrors, checksums):
    """Fetch stem.gz from the first mirror that serves it with the right MD5; returns its path."""
    filename = f"{stem}.gz"
    expected = None if checksums is None else checksums.get(filename)
    folder.mkdir(parents=True, exist_ok=True)
    failures = []
    for mirror in mirrors:
        url = mirror + filename
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                data = response.read()
        except (OSError, ValueError) as error:          # URLError is an OSError
            failures.append(f"{url}: {error}")
            continue
        if expected is not None and _md5(data) != expected:
            failures.append(f"{url}: MD5 {_md5(data)}, expected {expected}")
            continue
        part = folder / f"{filename}.part"          # never leave half a file under the real name
        part.write_bytes(data)
        part.replace(folder / filename)
        return folder / filename
    reasons = "\n  ".join(failures or ["no mirrors were given"])
    raise DatasetError(f"could not download {filename}:\n  {reasons}")


def _locate(stem, root):
    """The first that exists of root/stem.gz, root/stem, and the same in root/MNIST/raw."""
    for folder in (root, root / "MNIST" / "raw"):
        for filename in (f"{stem}.gz", stem):
            if (folder / filename).is_file():
                return folder / filename
    return None


def load_mnist(root, *, train=True, download=False, checksums=MNIST_MD5, mirrors=MNIST_MIRRORS):
    """Load MNIST's training part (60,000 images) or test part (10,000) from the folder ``root``.

    Each of the two files (images and labels) is read from ``root`` as ``NAME.gz`` or ``NAME``
    (or from torchvision's ``root/MNIST/raw``). A missing file is downloaded from ``mirrors`` into
    ``root`` when ``download=True`` and is an error otherwise; nothing is downloaded when the files
    are there. A ``.gz`` file whose name is in ``checksums`` must have that MD5 (pass
    ``checksums=None`` for files of your own, as the tests do). Every file must have MNIST's magic
    number and exactly the length its header gives; the images must be 28×28 and as many as the
    labels, the labels digits 0–9. Any failure raises :class:`~nnbook.data.DatasetError` saying
    which file and why.
    """
    root = Path(root)
    prefix = "train" if train else "t10k"
    arrays = []
    for kind, magic in (("images-idx3-ubyte", _IMAGES_MAGIC), ("labels-idx1-ubyte", _LABELS_MAGIC)):
        stem = f"{prefix}-{kind}"
        path = _locate(stem, root)
        if path is None:
            if not download:
                raise DatasetError(f"MNIST file {stem}.gz not found in {root}: call "
                                   "load_mnist(root, download=True) to download it, or copy the "
                                   "file there")
            path = _download(stem, root, mirrors, checksums)
        raw = path.read_bytes()
        check_digest(raw, path, None if checksums is None else checksums.get(path.name), "md5",
                     "the official file", "; delete it and call load_mnist(root, download=True) "
                     "to fetch it again")
        arrays.append(read_idx(raw, magic=magic, name=str(path)))
    images, labels = arrays
    if images.shape[1:] != (28, 28):
        raise DatasetError(f"the {prefix} images are {images.shape[1:]}, not 28×28")
    if len(images) != len(labels):
        raise DatasetError(f"the {prefix} files hold {len(images)} images but {len(labels)} labels")
    if labels.size and labels.max() > 9:
        raise DatasetError(f"the {prefix} labels hold {labels.max()}, outside the digits 0-9")
    return MNIST(images=torch.from_numpy(images), target=torch.from_numpy(labels.astype(np.int64)))
