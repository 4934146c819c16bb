r"""Chapter 9's case study: handwritten digits end to end, on the CPU or a GPU.

The recipe the chapter states and asserts, in small pieces that a benchmark can reuse:

* :func:`digits_split` cuts the 1,797 8×8 digits (:func:`nnbook.data.load_digits`) by a fixed
  random permutation into :data:`SPLIT_SIZES` = 1,000 training, 297 validation and 500 test
  images, and *normalizes* them with the training images' statistics only:
  :math:`x' = (x - \mu)/\sigma`, where :math:`\mu` and :math:`\sigma` are the mean and standard
  deviation of every pixel of every training image (one number each, as torchvision's
  ``Normalize((0.1307,), (0.3081,))`` does for MNIST).
* :func:`digits_loaders` wraps the three parts in ``DataLoader`` s (the training one shuffled
  by a seeded generator, so a run is repeatable).
* :func:`digits_mlp` builds :math:`64 \to 128 \to 64 \to 10` with ReLU between the layers and
  Kaiming initialization: each hidden weight matrix drawn from
  :math:`\mathcal N(0, 2/\text{fan\_in})`, the output layer's from
  :math:`\mathcal N(0, 1/\text{fan\_in})` (no ReLU follows it), biases 0.
  ``relu_on_logits=True`` adds a ReLU after the output layer, as some MNIST course code does,
  to show its harm.
* :func:`train_digits` trains it with :func:`nnbook.train.fit` (the headline recipe: Adam,
  learning rate :data:`LR` = 1e-3, batches of :data:`BATCH_SIZE` = 64, :data:`EPOCHS` = 20
  epochs) and returns the model and its history.
* :func:`confusion_matrix` (from :mod:`nnbook.train`) counts, for every true class, how often each class was predicted.

For full MNIST (28×28, 60,000 training images), :func:`mnist_tensors` flattens and normalizes
the images :func:`nnbook.data.load_mnist` reads, :func:`mnist_mlp` builds the 2NN of McMahan
et al. (2017), :math:`784 \to 200 \to 200 \to 10` with no ReLU on the logits, and
:func:`train_mnist` trains it with a validation part held out of the training images.
:func:`log_history` writes a history to TensorBoard when ``tensorboard`` is installed.

>>> (x_train, y_train), _, _ = digits_split()
>>> tuple(x_train.shape), abs(x_train.mean().item()) < 1e-6, round(x_train.std().item(), 6)
((1000, 64), True, 1.0)
"""

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from nnbook.data import load_digits
from nnbook.train import confusion_matrix, evaluate, fit
from nnbook.utils import seed_everything

__all__ = ["SPLIT_SIZES", "LR", "BATCH_SIZE", "EPOCHS", "STATED_TEST_ACCURACY", "digits_split", "digits_loaders",
           "digits_mlp", "make_optimizer", "train_digits", "confusion_matrix", "mnist_tensors",
           "mnist_mlp", "train_mnist", "log_history", "RECORDED_EPOCHS", "training_records"]

SPLIT_SIZES = (1000, 297, 500)  # training, validation, test
LR, BATCH_SIZE, EPOCHS = 1e-3, 64, 20
STATED_TEST_ACCURACY = 0.974  # what the recipe reads on the test part, as the chapter states it (487 of 500)


def digits_split(seed=0, normalize=True):
    """((X_train, y_train), (X_val, y_val), (X_test, y_test)) of sizes :data:`SPLIT_SIZES`.

    The images are float32 rows of 64 grey levels (0–16). With ``normalize=True`` every part is
    mapped by :math:`(x - \\mu)/\\sigma` with the *training* part's mean :math:`\\mu` and standard
    deviation :math:`\\sigma` over all its pixels, so the training pixels have mean 0 and standard
    deviation 1 and the other parts are treated exactly alike. The permutation is
    ``torch.randperm`` under a generator seeded with ``seed``.
    """
    digits = load_digits()
    order = torch.randperm(len(digits.target), generator=torch.Generator().manual_seed(seed))
    n_train, n_val, _ = SPLIT_SIZES
    parts = order[:n_train], order[n_train:n_train + n_val], order[n_train + n_val:]
    split = [(digits.images[index], digits.target[index]) for index in parts]
    if normalize:
        mean, std = split[0][0].mean(), split[0][0].std()
        split = [((x - mean) / std, y) for x, y in split]
    return tuple(split)


def digits_loaders(batch_size=BATCH_SIZE, seed=0, pin_memory=False, normalize=True):
    """(train, validation, test) ``DataLoader`` s over :func:`digits_split`'s parts.

    Only the training loader shuffles, with a generator seeded by ``seed``; the others keep the
    order and use batches of 500. ``pin_memory=True`` puts each batch in page-locked memory, from
    which a copy to a GPU can run in the background (``.to(device, non_blocking=True)``).
    """
    train, val, test = digits_split(seed, normalize=normalize)
    shuffled = torch.Generator().manual_seed(seed)
    return (DataLoader(TensorDataset(*train), batch_size=batch_size, shuffle=True,
                       generator=shuffled, pin_memory=pin_memory),
            DataLoader(TensorDataset(*val), batch_size=500, pin_memory=pin_memory),
            DataLoader(TensorDataset(*test), batch_size=500, pin_memory=pin_memory))


def _kaiming(sizes, relu_on_logits):
    layers = []
    for k, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        linear = nn.Linear(fan_in, fan_out)
        last = k == len(sizes) - 2
        # N(0, gain²/fan_in): gain² = 2 before a ReLU, 1 for the output layer
        nn.init.kaiming_normal_(linear.weight, nonlinearity="linear" if last else "relu")
        nn.init.zeros_(linear.bias)
        layers.append(linear)
        if not last or relu_on_logits:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def digits_mlp(hidden=(128, 64), relu_on_logits=False):
    """64 → hidden... → 10 with ReLU between the layers, Kaiming-initialized (see the module).

    ``relu_on_logits=True`` also puts a ReLU after the last layer (the mistake Chapter 9 shows).
    """
    return _kaiming((64, *hidden, 10), relu_on_logits)


def make_optimizer(name, parameters, lr=LR):
    """``torch.optim.Adam(parameters, lr)`` for ``"adam"``, plain ``torch.optim.SGD`` for ``"sgd"``."""
    if name == "adam":
        return torch.optim.Adam(parameters, lr=lr)
    if name == "sgd":
        return torch.optim.SGD(parameters, lr=lr)
    raise ValueError(f"optimizer must be 'adam' or 'sgd', got {name!r}")


def train_digits(optimizer="adam", lr=LR, epochs=EPOCHS, batch_size=BATCH_SIZE, seed=0,
                 relu_on_logits=False, device=None, normalize=True, **fit_options):
    """Train :func:`digits_mlp` on :func:`digits_loaders` and return ``(model, history)``.

    ``seed`` seeds the initial weights (:func:`nnbook.seed_everything`) and the shuffling. The
    model is moved to ``device`` (default: the CPU) *before* the optimizer is made, batches
    follow it inside :func:`nnbook.train.fit`; ``fit_options`` go to ``fit`` as they are. The
    model is left in eval mode on ``device``.
    """
    device = torch.device("cpu") if device is None else torch.device(device)
    seed_everything(seed)
    model = digits_mlp(relu_on_logits=relu_on_logits).to(device)
    train, val, _ = digits_loaders(batch_size, seed, pin_memory=device.type == "cuda",
                                   normalize=normalize)
    history = fit(model, nn.CrossEntropyLoss(), make_optimizer(optimizer, model.parameters(), lr),
                  train, val, epochs=epochs, device=device, **fit_options)
    return model, history


RECORDED_EPOCHS = (0, 1, 2, 3, 5, 10, 20)


@torch.no_grad()
def _record(model, x, y, shown):
    guess = model(x).argmax(dim=1)
    wrong = (guess != y).nonzero().squeeze(1)[:shown]
    return dict(matrix=confusion_matrix(guess, y, 10).tolist(),
                accuracy=(guess == y).sum().item() / len(y),
                wrong_images=x[wrong].tolist(), wrong_guess=guess[wrong].tolist(),
                wrong_true=y[wrong].tolist())


def training_records(epochs=RECORDED_EPOCHS, seed=0, shown=8, **options):
    """What :func:`train_digits`'s run predicts on the validation images at the given epochs.

    The run is trained one epoch at a time (the same run as one call of :func:`train_digits`
    with ``max(epochs)`` epochs: the model, optimizer and shuffling generator carry over) and, at
    each epoch listed (0 = before training), records the validation ``matrix``
    (:func:`confusion_matrix`), ``accuracy`` and the first ``shown`` misclassified images with
    their guesses and true labels, as :func:`nnbook.plots.confusion_over_training` draws them.
    Returns ``{epoch: record}``.
    """
    seed_everything(seed)
    model = digits_mlp()
    train, _, _ = digits_loaders(seed=seed, **options)
    _, (x_val, y_val), _ = digits_split(seed, normalize=options.get("normalize", True))
    optimizer, loss_fn = make_optimizer("adam", model.parameters()), nn.CrossEntropyLoss()
    records = {}
    for epoch in range(max(epochs) + 1):
        if epoch > 0:
            fit(model, loss_fn, optimizer, train, epochs=1, progress=False)
        if epoch in epochs:
            records[epoch] = _record(model.eval(), x_val, y_val, shown)
    return records


def _mnist_pixels(root, download, **load_options):
    from nnbook.data.mnist import load_mnist

    train = load_mnist(root, train=True, download=download, **load_options)
    test = load_mnist(root, train=False, download=download, **load_options)
    return ((train.images.reshape(len(train.images), -1).float() / 255, train.target),
            (test.images.reshape(len(test.images), -1).float() / 255, test.target))


def mnist_tensors(root, download=False, **load_options):
    """((X_train, y_train), (X_test, y_test)) of MNIST, as rows of 784 normalized pixels.

    The grey levels 0–255 are divided by 255 and then normalized with the mean and standard
    deviation over all pixels of all 60,000 training images (for the official files about 0.1307
    and 0.3081, on the 0–1 scale after the division; the constants often typed into MNIST code).
    :func:`train_mnist`, which holds a validation part out, takes them from the images it trains
    on instead. ``load_options`` go to :func:`nnbook.data.mnist.load_mnist` (``checksums=None``
    for test files).
    """
    (x_train, y_train), (x_test, y_test) = _mnist_pixels(root, download, **load_options)
    mean, std = x_train.mean(), x_train.std()
    return ((x_train - mean) / std, y_train), ((x_test - mean) / std, y_test)


def mnist_mlp():
    """McMahan et al.'s 2NN: 784 → 200 → 200 → 10, ReLU between the layers (none on the logits), Kaiming-initialized."""
    return _kaiming((784, 200, 200, 10), relu_on_logits=False)


def train_mnist(root, download=False, epochs=10, batch_size=200, lr=LR, seed=0, device=None,
                val_size=10_000, **load_options):
    """Train :func:`mnist_mlp` on MNIST with Adam; return ``(model, history, test_accuracy)``.

    The same steps as :func:`train_digits`, at MNIST's size: the official files (with
    ``download`` and ``load_options``) as rows of 784 grey levels divided by 255; the last
    ``val_size`` of the 60,000 training images, in a fixed random order (seeded), held out as the
    validation set that :func:`nnbook.train.fit` scores every epoch; every part normalized with
    the mean and standard deviation of the images trained on (not the held-out ones, not the test
    images); shuffled batches of ``batch_size`` (seeded) of them; the model moved to ``device``
    before the optimizer is made; ``epochs`` epochs; and then the 10,000 test images scored once,
    at the end (``test_accuracy``).
    """
    device = torch.device("cpu") if device is None else torch.device(device)
    (x_all, y_all), (x_test, y_test) = _mnist_pixels(root, download, **load_options)
    if not 0 < val_size < len(y_all) - 1:
        raise ValueError(f"val_size must be between 1 and {len(y_all) - 2} (at least two images "
                         f"must be left to train on and to measure a spread), got {val_size}")
    order = torch.randperm(len(y_all), generator=torch.Generator().manual_seed(seed))
    keep, held_out = order[:-val_size], order[-val_size:]
    mean, std = x_all[keep].mean(), x_all[keep].std()   # from the training images only
    x_all, x_test = (x_all - mean) / std, (x_test - mean) / std
    seed_everything(seed)
    model = mnist_mlp().to(device)
    pinned = device.type == "cuda"
    train = DataLoader(TensorDataset(x_all[keep], y_all[keep]), batch_size=batch_size,
                       shuffle=True, generator=torch.Generator().manual_seed(seed),
                       pin_memory=pinned)
    val = DataLoader(TensorDataset(x_all[held_out], y_all[held_out]), batch_size=1000,
                     pin_memory=pinned)
    test = DataLoader(TensorDataset(x_test, y_test), batch_size=1000, pin_memory=pinned)
    loss_fn = nn.CrossEntropyLoss()
    history = fit(model, loss_fn, torch.optim.Adam(model.parameters(), lr=lr),
                  train, val, epochs=epochs, device=device)
    _, test_accuracy = evaluate(model, loss_fn, test, device=device)
    return model, history, test_accuracy


def log_history(history, logdir, tag="digits"):
    """Write a history's per-epoch numbers to TensorBoard event files in ``logdir``.

    Returns ``True`` when it wrote them, ``False`` when ``tensorboard`` (which
    ``torch.utils.tensorboard`` needs) is not installed.
    """
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return False
    with SummaryWriter(log_dir=str(logdir)) as writer:
        for epoch, values in enumerate(zip(history.train_loss, history.val_loss,
                                           history.val_accuracy), start=1):
            train_loss, val_loss, val_accuracy = values
            writer.add_scalars(f"{tag}/loss", {"train": train_loss, "val": val_loss}, epoch)
            writer.add_scalar(f"{tag}/val_accuracy", val_accuracy, epoch)
    return True
