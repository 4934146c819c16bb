"""nnbook.data: the bundled digits load offline, and bad files fail with a message saying why."""

import gzip
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
import torch

from nnbook.data import DIGITS_SHA256, DatasetError, load_digits

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "nnbook" / "data" / "digits.csv.gz"


def test_the_bundled_digits_are_the_uci_test_set():
    digits = load_digits()
    assert digits.images.shape == (1797, 64) and digits.target.shape == (1797,)
    assert digits.images.dtype == torch.float32 and digits.target.dtype == torch.int64
    assert digits.images.min() == 0 and digits.images.max() == 16
    assert torch.equal(digits.images, digits.images.round())      # integer grey levels
    assert digits.target.bincount().tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    zero = digits.images[0].reshape(8, 8)                          # the first image is a 0:
    assert digits.target[0] == 0 and zero[3:5, 3:5].sum() == 0     # a hole in its middle


def test_loading_twice_gives_equal_tensors_that_do_not_share_memory():
    first, second = load_digits(), load_digits()
    assert torch.equal(first.images, second.images) and torch.equal(first.target, second.target)
    first.images.zero_()
    assert second.images.max() == 16


def test_a_copy_elsewhere_loads_compressed_or_plain(tmp_path):
    plain = tmp_path / "digits.csv"
    plain.write_bytes(gzip.decompress(BUNDLED.read_bytes()))
    reference = load_digits()
    loaded = load_digits(plain, sha256=None)
    assert torch.equal(loaded.images, reference.images)
    copy = tmp_path / "copy.csv.gz"
    copy.write_bytes(BUNDLED.read_bytes())
    assert torch.equal(load_digits(copy).target, reference.target)


def test_a_missing_file_says_so(tmp_path):
    with pytest.raises(DatasetError, match="not found.*without a path"):
        load_digits(tmp_path / "nope.csv.gz")
    with pytest.raises(DatasetError, match="is a folder"):
        load_digits(tmp_path)


def test_an_altered_or_truncated_file_fails_its_checksum(tmp_path):
    data = bytearray(BUNDLED.read_bytes())
    truncated = tmp_path / "truncated.csv.gz"
    truncated.write_bytes(bytes(data[: len(data) // 2]))
    with pytest.raises(DatasetError, match="corrupt.*SHA-256"):
        load_digits(truncated)
    with pytest.raises(DatasetError, match="cannot be read"):   # and unreadable without the check
        load_digits(truncated, sha256=None)


@pytest.mark.parametrize("line, message", [
    ("1,2,3\n", "3 columns"),
    (",".join(["0"] * 64 + ["12"]) + "\n", "labels outside"),
    (",".join(["0"] * 64 + ["x"]) + "\n", "cannot be read"),
])
def test_a_file_of_the_wrong_shape_or_labels_is_refused(tmp_path, line, message):
    bad = tmp_path / "bad.csv"
    bad.write_text(line)
    with pytest.raises(DatasetError, match=message):
        load_digits(bad, sha256=None)


def test_the_checksum_is_the_shipped_file_s():
    import hashlib
    assert hashlib.sha256(BUNDLED.read_bytes()).hexdigest() == DIGITS_SHA256


def test_a_built_wheel_carries_the_data(tmp_path):
    """Colab installs nnbook from git (not editable): the data must be declared as package data."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "*.csv.gz" in config["tool"]["setuptools"]["package-data"]["nnbook.data"]
    pytest.importorskip("setuptools")
    import shutil
    import subprocess
    source = tmp_path / "source"                    # a copy, so that the build leaves no build/ here
    shutil.copytree(ROOT / "nnbook", source / "nnbook",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                             "-q", "-w", str(tmp_path), str(source)], capture_output=True, text=True,
                            timeout=300)
    if result.returncode != 0:
        pytest.skip(f"pip could not build a wheel here: {result.stderr[-300:]}")
    wheel, = tmp_path.glob("nnbook-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "nnbook/data/digits.csv.gz" in names
    assert "nnbook/data/regularization_grid.json" in names   # Chapter 7's stored runs
