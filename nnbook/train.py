r"""One short training loop with a history, and early stopping.

:func:`fit` trains ``model`` for ``epochs`` passes over ``train_loader`` (any iterable of
``(inputs, targets)`` batches: a ``torch.utils.data.DataLoader``, or a plain list such as
``[(X, y)]`` for full-batch training). Each step is the five lines of Chapter 1: zero the
gradients, forward, loss, backward, step. After every epoch it evaluates the model in eval mode
(:func:`evaluate`) on ``val_loader``, steps an optional learning-rate ``scheduler``, and records
the numbers in a :class:`History`. Options a live notebook wants: ``device`` (batches are moved
there), a tqdm progress bar that stays out of stored notebook outputs, and ``live=True`` curves
redrawn after each epoch.

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

__all__ = ["History", "EarlyStopping", "evaluate", "fit", "confusion_matrix"]


@dataclass
class History:
    """What :func:`fit` measured, one entry per epoch.

    ``train_loss`` and ``train_accuracy`` are means over the epoch's batches, weighted by batch
    size, measured in training mode while the weights were still changing (so with dropout active);
    ``val_loss`` and ``val_accuracy`` come from :func:`evaluate` after the epoch (eval mode), and
    are empty without a ``val_loader``. Accuracies are ``nan`` when the targets are not class
    indices. ``lr`` is the first parameter group's learning rate during the epoch. ``best_epoch``
    (counted from 1) is the epoch whose state early stopping restored, or ``None``;
    ``stopped_epoch`` is the last epoch trained. ``history`` gives the same lists under Keras's
    names, for readers who know ``model.fit`` there.
    """

    train_loss: List[float] = field(default_factory=list)
    val_loss: List[float] = field(default_factory=list)
    val_accuracy: List[float] = field(default_factory=list)
    train_accuracy: List[float] = field(default_factory=list)
    lr: List[float] = field(default_factory=list)
    best_epoch: Optional[int] = None
    stopped_epoch: int = 0

    @property
    def epochs(self):
        """The epoch numbers, from 1."""
        return list(range(1, len(self.train_loss) + 1))

    @property
    def history(self):
        """The lists under Keras's names: loss, accuracy, val_loss, val_accuracy, lr."""
        return {"loss": self.train_loss, "accuracy": self.train_accuracy,
                "val_loss": self.val_loss, "val_accuracy": self.val_accuracy, "lr": self.lr}


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


def confusion_matrix(predicted, target, num_classes):
    """(num_classes, num_classes) int64 counts: entry [i, j] is how many examples of true class i
    were predicted as class j. The rows sum to the class counts, the diagonal to the correct ones.

    ``predicted`` and ``target`` are class indices of one shape, on any device (counted on the
    CPU); a label outside ``0 .. num_classes - 1`` is an error, not a silently longer matrix.
    """
    predicted, target = torch.as_tensor(predicted).cpu().long(), torch.as_tensor(target).cpu().long()
    if predicted.shape != target.shape:
        raise ValueError(f"predicted {tuple(predicted.shape)} and target {tuple(target.shape)} "
                         "must have the same shape")
    for name, labels in (("predicted", predicted), ("target", target)):
        if labels.numel() and (labels.min() < 0 or labels.max() >= num_classes):
            raise ValueError(f"{name} holds labels outside 0..{num_classes - 1}")
    pairs = target.flatten() * num_classes + predicted.flatten()
    return torch.bincount(pairs, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def _check_device(model, device):
    device = torch.device(device)
    for parameter in model.parameters():
        here = parameter.device
        if here.type != device.type or (device.index is not None and here.index != device.index):
            raise ValueError(
                f"the model's parameters are on {here} but device is {device}: move the model "
                "first, model.to(device), and only then create its optimizer")
        return device
    return device


def _progress_bar(epochs, progress):
    from tqdm.auto import tqdm

    if progress is None:
        # Nothing goes into a notebook's stored outputs: the tools that store them set
        # $NNBOOK_STATIC_FRAMES (nnbook.widgets), and a bar there would be a changing output.
        from nnbook.widgets.figure import static_frames_wanted
        progress = not static_frames_wanted()
    return tqdm(total=epochs, desc="training", unit="epoch", disable=not progress)


class _LiveCurves:
    """One figure of :func:`nnbook.plots.training_curves`, redrawn in place after each epoch in a
    Jupyter or Colab kernel. While outputs are being stored it draws once, at the end, so the
    stored notebook holds one final figure; outside a kernel it does nothing."""

    def __init__(self, enabled):
        from nnbook.widgets.figure import static_frames_wanted
        from nnbook.widgets.live import in_kernel

        self.enabled = bool(enabled) and in_kernel()
        self.each_epoch = self.enabled and not static_frames_wanted()
        self.handle = None

    def _show(self, history):
        from IPython.display import display

        from nnbook.plots import training_curves

        figure = training_curves(history)
        if self.handle is None:
            self.handle = display(figure, display_id=True)
        else:
            self.handle.update(figure)

    def epoch_done(self, history):
        if self.each_epoch:
            self._show(history)

    def finished(self, history):
        if self.enabled:
            self._show(history)


def _batch_accuracy(outputs, targets):
    if targets.dtype == torch.long and outputs.dim() == 2:
        return (outputs.argmax(dim=1) == targets).sum().item()
    return None


def fit(model, loss_fn, optimizer, train_loader, val_loader=None, epochs=1, device=None,
        scheduler=None, early_stopping=None, progress=None, live=False):
    """Train ``model`` and return its :class:`History`.

    Every epoch: for each batch, ``optimizer.zero_grad()``, forward, ``loss_fn``, ``backward()``,
    ``optimizer.step()``, in training mode; then, with a ``val_loader``, :func:`evaluate`; then
    ``scheduler.step()`` (``ReduceLROnPlateau`` is given the validation loss).

    ``device``: each batch is moved there (``non_blocking``, which overlaps the copy with work
    when the batch sits in pinned memory); the model must already be there, and a clear error
    says so otherwise. ``early_stopping`` (an :class:`EarlyStopping`, which needs a
    ``val_loader``) may end training early; at the end the best state it saw is loaded back into
    ``model``. The model is left in eval mode.

    ``progress``: a tqdm bar over the epochs. By default it shows in a live kernel or terminal and
    not while a notebook's outputs are being stored; ``True`` or ``False`` decide. ``live=True``:
    in Jupyter or Colab, a figure of the curves (:func:`nnbook.plots.training_curves`) redrawn
    after every epoch; while outputs are being stored, the final figure only. Nothing is printed.
    """
    from torch.optim.lr_scheduler import ReduceLROnPlateau

    if early_stopping is not None and val_loader is None:
        raise ValueError("early stopping watches the validation loss: pass a val_loader")
    plateau = isinstance(scheduler, ReduceLROnPlateau)
    if plateau and val_loader is None:
        raise ValueError("ReduceLROnPlateau watches the validation loss: pass a val_loader")
    if int(epochs) < 0:
        raise ValueError(f"epochs must be >= 0, got {epochs}")
    if device is not None:
        device = _check_device(model, device)
    history, curves = History(), _LiveCurves(live)
    with _progress_bar(int(epochs), progress) as bar:
        for epoch in range(1, int(epochs) + 1):
            model.train()
            history.lr.append(float(optimizer.param_groups[0]["lr"]))
            total, correct, count, classes = 0.0, 0, 0, True
            for inputs, targets in train_loader:
                if device is not None:
                    inputs = inputs.to(device, non_blocking=True)
                    targets = targets.to(device, non_blocking=True)
                optimizer.zero_grad()
                outputs = model(inputs)
                loss = loss_fn(outputs, targets)
                loss.backward()
                optimizer.step()
                total += loss.item() * len(targets)
                count += len(targets)
                right = _batch_accuracy(outputs.detach(), targets)
                if right is None:
                    classes = False
                else:
                    correct += right
            history.train_loss.append(total / max(count, 1))
            history.train_accuracy.append(correct / count if classes and count else math.nan)
            history.stopped_epoch = epoch
            stop = False
            postfix = {"loss": f"{history.train_loss[-1]:.4f}"}
            if val_loader is not None:
                val_loss, val_accuracy = evaluate(model, loss_fn, val_loader, device)
                history.val_loss.append(val_loss)
                history.val_accuracy.append(val_accuracy)
                postfix.update(val_loss=f"{val_loss:.4f}", val_accuracy=f"{val_accuracy:.3f}")
                if early_stopping is not None:
                    stop = early_stopping.step(val_loss, model)
            if scheduler is not None:
                scheduler.step(history.val_loss[-1]) if plateau else scheduler.step()
            bar.set_postfix(postfix, refresh=False)
            bar.update(1)
            curves.epoch_done(history)
            if stop:
                break
    if early_stopping is not None and early_stopping.best_state is not None:
        early_stopping.restore(model)
        history.best_epoch = early_stopping.best_epoch
    model.eval()
    curves.finished(history)
    return history
