r"""One short training loop with a history, and early stopping.

:func:`fit` trains ``model`` for ``epochs`` passes over ``train_loader`` (any iterable of
``(inputs, targets)`` batches: a ``torch.utils.data.DataLoader``, or a plain list such as
``[(X, y)]`` for full-batch training). Each step is the five lines of Chapter 1: zero the
gradients, forward, loss, backward, step. After every epoch it evaluates the model in eval mode
(:func:`evaluate`) on ``val_loader`` and records the numbers in a :class:`History`.

:class:`EarlyStopping` watches the validation loss: it remembers the epoch and a copy of the
parameters where the loss was lowest, and stops training once ``patience`` epochs in a row have
not improved on that best by more than ``min_delta``. ``fit`` then loads the best state back.

>>> import torch
>>> from torch import nn
>>> _ = torch.manual_seed(0)
>>> X, y = torch.randn(32, 4), torch.randint(0, 3, (32,))
>>> model = nn.Linear(4, 3)
>>> history = fit(model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1),
...               [(X, y)], val_loader=[(X, y)], epochs=5)
>>> len(history.train_loss), len(history.val_loss), history.val_loss[-1] < history.val_loss[0]
(5, 5, True)
"""

import copy
import math
from dataclasses import dataclass, field
from typing import List, Optional

import torch

__all__ = ["History", "EarlyStopping", "evaluate", "fit"]


@dataclass
class History:
    """What :func:`fit` measured, one entry per epoch.

    ``train_loss`` is the mean of the batch losses during the epoch (in training mode, so with
    dropout active); ``val_loss`` and ``val_accuracy`` come from :func:`evaluate` after the epoch
    (eval mode), and are empty without a ``val_loader``. ``best_epoch`` (counted from 1) is the
    epoch whose state early stopping restored, or ``None``; ``stopped_epoch`` is the last epoch
    trained.
    """

    train_loss: List[float] = field(default_factory=list)
    val_loss: List[float] = field(default_factory=list)
    val_accuracy: List[float] = field(default_factory=list)
    best_epoch: Optional[int] = None
    stopped_epoch: int = 0


class EarlyStopping:
    """Stop when the validation loss has not improved for ``patience`` epochs; keep the best state.

    An epoch *improves* when its loss is below ``best - min_delta``. ``step(loss, model)`` records
    one epoch and returns ``True`` when training should stop: after ``patience`` epochs in a row
    without improvement. ``best_state`` is a deep copy of ``model.state_dict()`` at the best epoch
    (parameters and buffers such as batch norm's running statistics), which ``restore(model)``
    loads back.
    """

    def __init__(self, patience=10, min_delta=0.0):
        if int(patience) < 1:
            raise ValueError(f"patience must be at least 1, got {patience}")
        if not min_delta >= 0:
            raise ValueError(f"min_delta must be >= 0, got {min_delta}")
        self.patience, self.min_delta = int(patience), float(min_delta)
        self.best_loss, self.best_epoch, self.best_state = math.inf, None, None
        self.epochs_without_improvement, self.epoch = 0, 0

    def step(self, loss, model):
        self.epoch += 1
        loss = float(loss)
        if loss < self.best_loss - self.min_delta:
            self.best_loss, self.best_epoch = loss, self.epoch
            self.best_state = copy.deepcopy(model.state_dict())
            self.epochs_without_improvement = 0
        else:
            self.epochs_without_improvement += 1
        return self.epochs_without_improvement >= self.patience

    def restore(self, model):
        if self.best_state is None:
            raise RuntimeError("no epoch recorded yet: call step() first")
        model.load_state_dict(self.best_state)


@torch.no_grad()
def evaluate(model, loss_fn, loader, device=None):
    """(mean loss, accuracy) of ``model`` in eval mode over ``loader``, weighted by batch size.

    Accuracy is the share of examples whose largest output is the target class; it is ``nan``
    when the targets are not class indices (a regression). The model's mode is restored after.
    """
    was_training = model.training
    model.eval()
    total_loss, correct, count, classes = 0.0, 0, 0, True
    for inputs, targets in loader:
        if device is not None:
            inputs, targets = inputs.to(device), targets.to(device)
        outputs = model(inputs)
        n = len(targets)
        total_loss += loss_fn(outputs, targets).item() * n
        if targets.dtype == torch.long and outputs.dim() == 2:
            correct += (outputs.argmax(dim=1) == targets).sum().item()
        else:
            classes = False
        count += n
    model.train(was_training)
    if count == 0:
        raise ValueError("the loader gave no examples")
    return total_loss / count, (correct / count if classes else math.nan)


def fit(model, loss_fn, optimizer, train_loader, val_loader=None, epochs=1, device=None,
        early_stopping=None):
    """Train ``model`` and return its :class:`History`.

    Every epoch: for each batch, ``optimizer.zero_grad()``, forward, ``loss_fn``, ``backward()``,
    ``optimizer.step()``, in training mode; then, with a ``val_loader``, :func:`evaluate`.
    ``early_stopping`` (an :class:`EarlyStopping`, which needs a ``val_loader``) may end training
    early; at the end the best state it saw is loaded back into ``model``. The model is left in
    eval mode. No output is printed.
    """
    if early_stopping is not None and val_loader is None:
        raise ValueError("early stopping watches the validation loss: pass a val_loader")
    if int(epochs) < 0:
        raise ValueError(f"epochs must be >= 0, got {epochs}")
    history = History()
    for epoch in range(1, int(epochs) + 1):
        model.train()
        total, count = 0.0, 0
        for inputs, targets in train_loader:
            if device is not None:
                inputs, targets = inputs.to(device), targets.to(device)
            optimizer.zero_grad()
            loss = loss_fn(model(inputs), targets)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(targets)
            count += len(targets)
        history.train_loss.append(total / max(count, 1))
        history.stopped_epoch = epoch
        if val_loader is not None:
            val_loss, val_accuracy = evaluate(model, loss_fn, val_loader, device)
            history.val_loss.append(val_loss)
            history.val_accuracy.append(val_accuracy)
            if early_stopping is not None and early_stopping.step(val_loss, model):
                break
    if early_stopping is not None and early_stopping.best_state is not None:
        early_stopping.restore(model)
        history.best_epoch = early_stopping.best_epoch
    model.eval()
    return history
