r"""Chapter 7's experiments on the 8×8 digits: the split, the model, and the dropout × weight-decay grid.

:func:`digits_split` divides the 1,797 digits (:func:`nnbook.data.load_digits`, grey levels
scaled to [0, 1]) by a fixed random permutation into 100 training, 500 validation and 1,197 test
images: a training set small enough that a wide network memorises it.

:func:`digits_mlp` builds the chapter's network, 64 → 256 → 256 → 10 with ReLU and an optional
``nn.Dropout(p)`` after each hidden activation.

:func:`dropout_weight_decay_run` trains it with AdamW (``lr=1e-3``, the given decoupled
``weight_decay`` λ: each step first multiplies every parameter by 1 − 10⁻³ λ), full batch, and
records the training and validation loss in eval mode every ``every`` epochs; it also replays
:class:`nnbook.train.EarlyStopping` (patience :data:`PATIENCE`) on the validation loss of every
epoch and records what that stopper would keep: ``kept_epoch``, ``kept_val_loss``,
``kept_val_accuracy``, and the epoch it would stop at, ``stopped_epoch`` (``None`` if it never
stops within the run).
:func:`dropout_weight_decay_grid` runs every pair of :data:`DROPOUT_RATES` and
:data:`WEIGHT_DECAYS` for each model seed in :data:`SEEDS` (the data split stays the same) and
keeps, per pair, the curves averaged over the seeds (``train_loss``, ``val_loss``,
``val_accuracy``) and each seed's own validation curves (``val_loss_by_seed``,
``val_accuracy_by_seed``) and early-stopping records (``kept_epoch_by_seed``, ...); ``python tools/make_regularization_grid.py`` stores the result in
``nnbook/data/regularization_grid.json``, which :func:`load_grid` reads, so the chapter's
interactive figure answers at once. The numbers depend on the PyTorch version and the hardware
only through floating-point rounding.
"""

import json
from importlib import resources

import torch
from torch import nn

from nnbook.data import load_digits
from nnbook.train import EarlyStopping, evaluate, fit
from nnbook.utils import seed_everything

__all__ = ["SPLIT_SIZES", "DROPOUT_RATES", "WEIGHT_DECAYS", "SEEDS", "EPOCHS", "EVERY", "PATIENCE", "digits_split",
           "digits_mlp", "dropout_weight_decay_run", "seed_average", "dropout_weight_decay_grid",
           "load_grid"]

SPLIT_SIZES = (100, 500, 1197)  # training, validation, test
DROPOUT_RATES = (0.0, 0.2, 0.5)
WEIGHT_DECAYS = (0.0, 0.3, 1.0, 3.0)  # AdamW's decoupled λ; at lr 1e-3 a shrink of 1e-3 λ a step
SEEDS = (0, 1, 2)
EPOCHS, EVERY = 200, 5
PATIENCE = 20  # the early stopping replayed on each run
_GRID_FILE = "regularization_grid.json"


def digits_split(seed=0):
    """((X_train, y_train), (X_val, y_val), (X_test, y_test)) of sizes :data:`SPLIT_SIZES`.

    Pixels are divided by 16, so they lie in [0, 1]; the split is ``torch.randperm`` under a
    generator seeded with ``seed``.
    """
    digits = load_digits()
    images, target = digits.images / 16, digits.target
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))
    n_train, n_val, _ = SPLIT_SIZES
    parts = order[:n_train], order[n_train:n_train + n_val], order[n_train + n_val:]
    return tuple((images[index], target[index]) for index in parts)


def digits_mlp(dropout=0.0, width=256):
    """64 → width → width → 10, ReLU, with ``nn.Dropout(dropout)`` after each hidden ReLU."""
    return nn.Sequential(
        nn.Linear(64, width), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(width, width), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(width, 10),
    )


def dropout_weight_decay_run(dropout, weight_decay, epochs=EPOCHS, every=EVERY, seed=0,
                             patience=PATIENCE):
    """Train :func:`digits_mlp` with AdamW on the training split; return a dict of lists.

    ``epoch``, ``train_loss``, ``val_loss``, ``val_accuracy``: measured in eval mode after epochs
    ``every``, ``2 every``, ... (full batch, so one epoch is one step of Adam).
    ``kept_epoch``, ``kept_val_loss``, ``kept_val_accuracy``, ``stopped_epoch``: what
    ``EarlyStopping(patience)`` stepped on every epoch's validation loss would keep and when it
    would stop; training goes on to ``epochs`` regardless, so the curves are complete.
    """
    (x_train, y_train), (x_val, y_val), _ = digits_split()
    seed_everything(seed)
    model = digits_mlp(dropout)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=weight_decay)
    loss_fn = nn.CrossEntropyLoss()
    run = {"epoch": [], "train_loss": [], "val_loss": [], "val_accuracy": []}
    stopper, accuracy_by_epoch = EarlyStopping(patience), {}
    run["stopped_epoch"] = None
    for epoch in range(1, epochs + 1):
        fit(model, loss_fn, optimizer, [(x_train, y_train)], epochs=1)
        val_loss, val_accuracy = evaluate(model, loss_fn, [(x_val, y_val)])
        if run["stopped_epoch"] is None:
            accuracy_by_epoch[epoch] = val_accuracy
            if stopper.step(val_loss, model):
                run["stopped_epoch"] = epoch
        if epoch % every == 0:
            train_loss, _ = evaluate(model, loss_fn, [(x_train, y_train)])
            for key, value in zip(("epoch", "train_loss", "val_loss", "val_accuracy"),
                                  (epoch, train_loss, val_loss, val_accuracy)):
                run[key].append(value)
    run["kept_epoch"], run["kept_val_loss"] = stopper.best_epoch, stopper.best_loss
    run["kept_val_accuracy"] = accuracy_by_epoch[stopper.best_epoch]
    return run


def seed_average(seed_runs):
    """One run from several seeds' runs: the mean of each curve, and each seed's validation curves.

    ``train_loss``, ``val_loss``, ``val_accuracy`` become the means over the seeds, epoch by
    epoch; ``val_loss_by_seed`` and ``val_accuracy_by_seed`` list the seeds' own curves, and
    ``KEY_by_seed`` each seed's early-stopping record ``KEY`` where the runs have one.
    """
    count = len(seed_runs)
    run = {"epoch": list(seed_runs[0]["epoch"])}
    for key in ("train_loss", "val_loss", "val_accuracy"):
        run[key] = [sum(values) / count for values in zip(*(r[key] for r in seed_runs))]
    for key in ("val_loss", "val_accuracy"):
        run[key + "_by_seed"] = [list(r[key]) for r in seed_runs]
    for key in ("kept_epoch", "kept_val_loss", "kept_val_accuracy", "stopped_epoch"):
        if key in seed_runs[0]:
            run[key + "_by_seed"] = [r[key] for r in seed_runs]
    return run


def dropout_weight_decay_grid(dropout_rates=DROPOUT_RATES, weight_decays=WEIGHT_DECAYS,
                              seeds=SEEDS, **kwargs):
    """``{(p, weight_decay): run}`` for every pair, averaged over ``seeds`` (see
    :func:`dropout_weight_decay_run` and :func:`seed_average`)."""
    return {(p, wd): seed_average([dropout_weight_decay_run(p, wd, seed=seed, **kwargs)
                                   for seed in seeds])
            for p in dropout_rates for wd in weight_decays}


def _rounded(value):
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return round(value, 6) if isinstance(value, float) else value


def grid_to_json(grid):
    """The grid as JSON text: a list of runs, each with its ``dropout`` and ``weight_decay``."""
    rows = [{"dropout": p, "weight_decay": wd,
             **{key: _rounded(values) for key, values in run.items()}}
            for (p, wd), run in grid.items()]
    return json.dumps(rows, indent=0) + "\n"


def load_grid(path=None):
    """The stored grid, ``{(p, weight_decay): run}``, as :func:`dropout_weight_decay_grid` made it
    (values rounded to 6 decimals)."""
    if path is None:
        text = (resources.files("nnbook.data") / _GRID_FILE).read_text()
    else:
        with open(path) as file:
            text = file.read()
    rows = json.loads(text)
    return {(row.pop("dropout"), row.pop("weight_decay")): row for row in rows}
