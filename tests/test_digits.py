"""nnbook.digits: Chapter 9's split, model, recipe, confusion matrix, MNIST path and TensorBoard log."""

import gzip

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from nnbook import digits as D
from nnbook import tabular
from nnbook.data.mnist import write_idx
from nnbook.train import evaluate, fit

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")


def test_the_split_has_the_stated_sizes_and_uses_the_training_statistics_only():
    raw = D.digits_split(normalize=False)
    parts = D.digits_split()
    assert tuple(len(x) for x, _ in parts) == D.SPLIT_SIZES == (1000, 297, 500)
    mu, sigma = raw[0][0].mean(), raw[0][0].std()
    for (x, y), (x_raw, y_raw) in zip(parts, raw):
        torch.testing.assert_close(x, (x_raw - mu) / sigma)
        assert torch.equal(y, y_raw)
    assert abs(parts[0][0].mean()) < 1e-6 and abs(parts[0][0].std() - 1) < 1e-6
    # the three parts are disjoint and cover the 1,797 images
    every = torch.cat([x_raw for x_raw, _ in raw])
    assert len(torch.unique(every, dim=0)) == len(torch.unique(D.load_digits().images, dim=0))
    assert len(every) == 1797


def test_the_model_has_17226_parameters_and_kaiming_weights():
    torch.manual_seed(0)
    model = D.digits_mlp()
    assert sum(p.numel() for p in model.parameters()) == 17_226
    assert [type(m) for m in model] == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU, nn.Linear]
    assert abs(model[0].weight.std() - (2 / 64) ** 0.5) < 0.01
    assert abs(model[2].weight.std() - (2 / 128) ** 0.5) < 0.01
    assert abs(model[4].weight.std() - (1 / 64) ** 0.5) < 0.02
    assert all((m.bias == 0).all() for m in model if isinstance(m, nn.Linear))
    assert isinstance(D.digits_mlp(relu_on_logits=True)[-1], nn.ReLU)
    assert sum(p.numel() for p in D.mnist_mlp().parameters()) == 784 * 200 + 200 + 200 * 200 + 200 + 2010


def test_the_headline_recipe_reaches_the_stated_accuracy_and_repeats_exactly():
    torch.set_num_threads(1)
    model, history = D.train_digits()
    again, history_again = D.train_digits()
    assert history.val_loss == history_again.val_loss
    _, _, test = D.digits_loaders()
    _, accuracy = evaluate(model, nn.CrossEntropyLoss(), test)
    assert accuracy >= 0.96  # the chapter states 97.4% and asserts at least 96%
    # the time-to-accuracy benchmark's target is the number the chapter states
    assert D.STATED_TEST_ACCURACY == 0.974 and abs(accuracy - D.STATED_TEST_ACCURACY) < 0.0005
    relu_model, _ = D.train_digits(relu_on_logits=True)
    _, relu_accuracy = evaluate(relu_model, nn.CrossEntropyLoss(), test)
    assert relu_accuracy < accuracy - 0.05


def test_training_records_replay_the_same_run():
    records = D.training_records(epochs=(0, 2, 3))
    _, history = D.train_digits(epochs=3)
    assert [records[e]["accuracy"] for e in (2, 3)] == history.val_accuracy[1:3]
    for record in records.values():
        matrix = torch.tensor(record["matrix"])
        assert matrix.sum() == 297 and matrix.trace() / 297 == pytest.approx(record["accuracy"])
        assert len(record["wrong_images"]) == len(record["wrong_guess"]) <= 8
        assert all(g != t for g, t in zip(record["wrong_guess"], record["wrong_true"]))


def test_confusion_matrix_counts_true_rows_and_predicted_columns():
    matrix = D.confusion_matrix(torch.tensor([0, 1, 1, 2]), torch.tensor([0, 1, 2, 2]), 3)
    assert matrix.tolist() == [[1, 0, 0], [0, 1, 0], [0, 1, 1]]
    assert matrix.dtype == torch.int64
    assert D.confusion_matrix(torch.zeros(0), torch.zeros(0), 2).tolist() == [[0, 0], [0, 0]]
    with pytest.raises(ValueError, match="same shape"):
        D.confusion_matrix(torch.zeros(3), torch.zeros(2), 10)
    with pytest.raises(ValueError, match="outside 0..2"):
        D.confusion_matrix(torch.tensor([3]), torch.tensor([0]), 3)
    assert D.confusion_matrix is tabular.confusion_matrix      # one function, in nnbook.train


def test_make_optimizer_rejects_an_unknown_name():
    assert isinstance(D.make_optimizer("sgd", [nn.Parameter(torch.zeros(1))], 0.1), torch.optim.SGD)
    with pytest.raises(ValueError, match="'adam' or 'sgd'"):
        D.make_optimizer("rmsprop", [nn.Parameter(torch.zeros(1))])


def _small_mnist(folder, n_train=60, n_test=20):
    """MNIST-format files with 28×28 images whose label is written into their brightness."""
    rng = np.random.default_rng(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = (np.arange(n) % 10).astype(np.uint8)
        images = rng.integers(0, 30, size=(n, 28, 28)).astype(np.uint8)
        images[:, :10, :] += (labels * 20)[:, None, None].astype(np.uint8)
        (folder / f"{prefix}-images-idx3-ubyte.gz").write_bytes(gzip.compress(write_idx(images)))
        (folder / f"{prefix}-labels-idx1-ubyte").write_bytes(write_idx(labels))


def test_the_full_mnist_path_runs_offline_on_small_idx_files(tmp_path):
    """The chapter's FULL_MNIST cell calls train_mnist; here on 60 + 20 images of the same format."""
    _small_mnist(tmp_path)
    (x_train, y_train), (x_test, y_test) = D.mnist_tensors(tmp_path, checksums=None)
    assert x_train.shape == (60, 784) and x_test.shape == (20, 784)
    assert abs(x_train.mean()) < 1e-5 and abs(x_train.std() - 1) < 1e-5
    model, history, accuracy = D.train_mnist(tmp_path, epochs=10, batch_size=20, lr=1e-2,
                                             val_size=15, checksums=None)
    assert len(history.val_accuracy) == 10
    assert accuracy > 0.5  # the labels are written into the pixels: easy to learn
    # the test images are scored once, at the end: the accuracy is evaluate's on the test part,
    # normalized with the statistics of the 45 images trained on
    (raw_train, _), (raw_test, _) = D._mnist_pixels(tmp_path, False, checksums=None)
    keep = torch.randperm(60, generator=torch.Generator().manual_seed(0))[:-15]
    mean, std = raw_train[keep].mean(), raw_train[keep].std()
    _, on_test = evaluate(model, nn.CrossEntropyLoss(),
                          DataLoader(TensorDataset((raw_test - mean) / std, y_test)))
    assert accuracy == pytest.approx(on_test)
    with pytest.raises(ValueError, match="val_size"):
        D.train_mnist(tmp_path, val_size=60, checksums=None)
    with pytest.raises(Exception, match="not found"):
        D.train_mnist(tmp_path / "missing", checksums=None)


def test_train_mnist_validates_on_held_out_training_images_not_on_the_test_images(tmp_path,
                                                                                    monkeypatch):
    _small_mnist(tmp_path)
    (raw_train, _), (raw_test, _) = D._mnist_pixels(tmp_path, False, checksums=None)
    seen = {}

    def spy_fit(model, loss_fn, optimizer, train, val, **kwargs):
        seen["train"] = torch.cat([x for x, _ in train])
        seen["val"] = torch.cat([x for x, _ in val])
        return fit(model, loss_fn, optimizer, train, val, **kwargs)

    monkeypatch.setattr(D, "fit", spy_fit)
    D.train_mnist(tmp_path, epochs=1, batch_size=20, val_size=15, checksums=None)
    assert len(seen["val"]) == 15 and len(seen["train"]) == 45
    # normalized with the statistics of the 45 training images only: they have mean 0, spread 1
    assert abs(seen["train"].mean()) < 1e-5 and abs(seen["train"].std() - 1) < 1e-5
    keep = torch.randperm(60, generator=torch.Generator().manual_seed(0))[:-15]
    mean, std = raw_train[keep].mean(), raw_train[keep].std()
    x_train, x_test = (raw_train - mean) / std, (raw_test - mean) / std
    rows = {tuple(r.tolist()) for r in x_train}
    assert all(tuple(r.tolist()) in rows for r in seen["val"])       # validation: training images
    assert not {tuple(r.tolist()) for r in seen["val"]} & {tuple(r.tolist()) for r in seen["train"]}
    assert not any(torch.equal(r, t) for r in seen["val"] for t in x_test)


def test_log_history_writes_tensorboard_event_files(tmp_path):
    pytest.importorskip("tensorboard")
    _, history = D.train_digits(epochs=2)
    assert D.log_history(history, tmp_path / "run") is True
    events = list((tmp_path / "run").rglob("events.out.tfevents*"))
    assert events and all(e.stat().st_size > 0 for e in events)


def test_log_history_says_false_without_tensorboard(tmp_path, monkeypatch):
    import builtins
    real_import = builtins.__import__

    def no_tensorboard(name, *args, **kwargs):
        if name.startswith("torch.utils.tensorboard") or name.startswith("tensorboard"):
            raise ImportError("no tensorboard here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tensorboard)
    assert D.log_history(D.train_digits(epochs=1)[1], tmp_path / "run") is False
    assert not (tmp_path / "run").exists()


@cuda
def test_the_recipe_on_cuda_reaches_the_cpu_accuracy_to_one_point():
    _, _, test = D.digits_loaders()
    cpu_model, _ = D.train_digits()
    gpu_model, _ = D.train_digits(device="cuda")
    assert next(gpu_model.parameters()).is_cuda
    _, cpu_accuracy = evaluate(cpu_model, nn.CrossEntropyLoss(), test)
    _, gpu_accuracy = evaluate(gpu_model, nn.CrossEntropyLoss(), test, device="cuda")
    assert abs(cpu_accuracy - gpu_accuracy) <= 0.01


def test_mnist_mlp_is_the_2nn_of_mcmahan_with_199_210_parameters():
    """The chapter: 784 -> 200 -> 200 -> 10, 199,210 parameters, no ReLU on the logits."""
    from torch import nn
    from nnbook.digits import mnist_mlp
    model = mnist_mlp()
    linears = [m for m in model if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(784, 200), (200, 200), (200, 10)]
    assert sum(p.numel() for p in model.parameters()) == 199_210
    assert isinstance(model[-1], nn.Linear)


def test_get_device_finds_cuda_only_not_apples_mps(monkeypatch):
    """Chapter 9: get_device gives cuda or cpu; with no CUDA but Apple's MPS it gives the CPU."""
    import nnbook
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert nnbook.get_device() == torch.device("cpu")


def test_the_two_kaiming_counts_give_the_same_logits():
    """Chapter 9: variances (2, 2, 1)/fan_in per layer and Chapter 3's (1, 2, 2)/fan_in give the
    same logits from the same draws."""
    (x, _), _, _ = D.digits_split()
    layers = [m for m in D.digits_mlp() if isinstance(m, nn.Linear)]

    def logits_with(variances):
        g, h = torch.Generator().manual_seed(1), x
        for k, layer in enumerate(layers):
            fan_out, fan_in = layer.weight.shape
            h = h @ (torch.randn(fan_out, fan_in, generator=g) * (variances[k] / fan_in) ** 0.5).T
            h = torch.relu(h) if k < len(layers) - 1 else h
        return h

    torch.testing.assert_close(logits_with([2, 2, 1]), logits_with([1, 2, 2]))


def test_the_adam_curves_cross_as_the_chapter_says():
    """Chapter 9: training loss below validation loss from epoch 5 on, training accuracy above
    validation accuracy from epoch 8 on."""
    _, h = D.train_digits(epochs=20)
    assert all(h.train_loss[e] < h.val_loss[e] for e in range(4, 20))
    assert all(h.train_accuracy[e] > h.val_accuracy[e] for e in range(7, 20))
    assert h.train_loss[3] > h.val_loss[3] and h.train_accuracy[0] < h.val_accuracy[0]
    assert round(h.train_loss[-1], 2) == 0.02 and round(h.val_loss[-1], 2) == 0.09
