"""nnbook.data.mnist: IDX files round-trip, load_mnist reads small files of MNIST's format offline,
downloads only when asked (from a local mirror here), and refuses missing, altered, truncated or
mislabelled files with the reason."""

import gzip
import hashlib

import numpy as np
import pytest
import torch

from nnbook.data import DatasetError
from nnbook.data.mnist import MNIST_MD5, MNIST_MIRRORS, load_mnist, read_idx, write_idx

N = 5
PIXELS = (np.arange(N * 28 * 28) % 256).astype(np.uint8).reshape(N, 28, 28)
LABELS = np.array([5, 0, 4, 1, 9], dtype=np.uint8)        # the first five of MNIST's training set


def _write(folder, prefix="train", compress=True, images=PIXELS, labels=LABELS):
    """Small IDX files with MNIST's names in folder; returns {file name: MD5}."""
    folder.mkdir(parents=True, exist_ok=True)
    sums = {}
    for kind, array in (("images-idx3-ubyte", images), ("labels-idx1-ubyte", labels)):
        data = write_idx(array)
        name = f"{prefix}-{kind}"
        if compress:
            data, name = gzip.compress(data, mtime=0), name + ".gz"
        (folder / name).write_bytes(data)
        sums[name] = hashlib.md5(data).hexdigest()
    return sums


@pytest.mark.parametrize("array", [
    np.arange(24, dtype=np.uint8).reshape(2, 3, 4),
    np.array([-3, 4], dtype=np.int8),
    np.array([[1, -70000]], dtype=np.int32),
    np.linspace(0, 1, 6).reshape(3, 2),
    np.array([0.5], dtype=np.float32),
])
def test_idx_files_round_trip_every_type_compressed_or_not(array):
    data = write_idx(array)
    for source in (data, gzip.compress(data)):
        back = read_idx(source)
        assert back.dtype == array.dtype.newbyteorder("=") and np.array_equal(back, array)


def test_the_idx_header_is_big_endian_as_the_format_says():
    data = write_idx(PIXELS)
    assert data[:4] == bytes([0, 0, 0x08, 3]) and int.from_bytes(data[:4], "big") == 2051
    assert data[4:16] == (5).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
    assert int.from_bytes(write_idx(np.array([1, -2], np.int16))[8:10], "big", signed=True) == 1


def test_small_files_of_mnist_s_format_load_offline_gzipped_or_not(tmp_path):
    sums = _write(tmp_path)
    train = load_mnist(tmp_path, checksums=sums)
    assert train.images.dtype == torch.uint8 and train.images.shape == (N, 28, 28)
    assert torch.equal(train.images, torch.from_numpy(PIXELS))
    assert train.target.dtype == torch.int64 and train.target.tolist() == LABELS.tolist()
    _write(tmp_path / "plain", prefix="t10k", compress=False)
    test = load_mnist(tmp_path / "plain", train=False)      # no .gz: header and length checks only
    assert test.target.tolist() == LABELS.tolist()


def test_torchvision_s_folder_layout_is_found_too(tmp_path):
    _write(tmp_path / "MNIST" / "raw")
    assert load_mnist(tmp_path, checksums=None).target.tolist() == LABELS.tolist()


def test_a_missing_file_without_download_says_how_to_get_it(tmp_path):
    with pytest.raises(DatasetError, match="train-images-idx3-ubyte.gz not found.*download=True"):
        load_mnist(tmp_path)
    _write(tmp_path, prefix="train")
    with pytest.raises(DatasetError, match="t10k-images"):
        load_mnist(tmp_path, train=False, checksums=None)


def test_the_official_checksums_refuse_files_that_are_not_the_official_ones(tmp_path):
    assert set(MNIST_MD5) == {f"{part}-{kind}-idx{d}-ubyte.gz" for part in ("train", "t10k")
                              for kind, d in (("images", 3), ("labels", 1))}
    assert all(len(md5) == 32 and int(md5, 16) >= 0 for md5 in MNIST_MD5.values())
    _write(tmp_path)
    with pytest.raises(DatasetError, match="train-images-idx3-ubyte.gz is corrupt.*MD5.*delete it"):
        load_mnist(tmp_path)


def test_a_truncated_file_is_refused_compressed_or_not(tmp_path):
    sums = _write(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-30])
    with pytest.raises(DatasetError, match="MD5"):
        load_mnist(tmp_path, checksums=sums)
    with pytest.raises(DatasetError, match="truncated or corrupt gzip"):
        load_mnist(tmp_path, checksums=None)
    _write(tmp_path / "plain", compress=False)
    plain = tmp_path / "plain" / "train-labels-idx1-ubyte"
    plain.write_bytes(plain.read_bytes()[:-1])
    with pytest.raises(DatasetError, match="truncated.*promises"):
        load_mnist(tmp_path / "plain", checksums=None)


def test_swapped_files_fail_on_their_magic_number(tmp_path):
    _write(tmp_path, images=LABELS, labels=PIXELS)        # labels where the images belong
    with pytest.raises(DatasetError, match="magic number 2049.*expected 2051"):
        load_mnist(tmp_path, checksums=None)


@pytest.mark.parametrize("data, message", [
    (b"", "starts with nothing"),
    (b"PK\x03\x04rest", "not an IDX file"),
    (bytes([0, 0, 8, 3, 0, 0]), "header is cut short"),
    (write_idx(PIXELS) + b"\0", "longer than its header"),
])
def test_a_file_that_is_not_idx_is_refused(data, message):
    with pytest.raises(DatasetError, match=message):
        read_idx(data)


@pytest.mark.parametrize("images, labels, message", [
    (PIXELS[:, :27], LABELS, "not 28×28"),
    (PIXELS, LABELS[:4], "5 images but 4 labels"),
    (PIXELS, np.array([5, 0, 4, 1, 10], np.uint8), "outside the digits"),
])
def test_images_and_labels_that_do_not_fit_together_are_refused(tmp_path, images, labels, message):
    _write(tmp_path, images=images, labels=labels)
    with pytest.raises(DatasetError, match=message):
        load_mnist(tmp_path, checksums=None)


def test_download_fetches_only_missing_files_from_the_first_mirror_that_serves_them(tmp_path):
    mirror = tmp_path / "mirror"
    sums = _write(mirror)
    cache = tmp_path / "cache"
    dead = (tmp_path / "nowhere").as_uri() + "/"          # a mirror without the files, tried first
    train = load_mnist(cache, download=True, checksums=sums, mirrors=(dead, mirror.as_uri() + "/"))
    assert train.target.tolist() == LABELS.tolist()
    assert sorted(p.name for p in cache.iterdir()) == sorted(sums)   # cached, no .part left
    for path in mirror.iterdir():
        path.unlink()                                       # the mirror is gone: the cache serves
    cached = load_mnist(cache, download=True, checksums=sums, mirrors=())
    assert cached.target.tolist() == [5, 0, 4, 1, 9]


def test_a_download_with_the_wrong_checksum_is_not_kept(tmp_path):
    mirror = tmp_path / "mirror"
    _write(mirror)
    with pytest.raises(DatasetError, match="(?s)could not download.*MD5"):
        load_mnist(tmp_path / "cache", download=True, mirrors=(mirror.as_uri() + "/",))
    assert not any((tmp_path / "cache").iterdir())


def test_the_default_mirrors_are_torchvision_s_two():
    assert set(MNIST_MIRRORS) == {"https://ossci-datasets.s3.amazonaws.com/mnist/",
                                  "http://yann.lecun.com/exdb/mnist/"}
