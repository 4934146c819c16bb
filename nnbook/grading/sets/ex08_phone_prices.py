"""Exercise set 8, "Tabular classification: phone prices": the questions of solutions/08-phone-prices.ipynb.

q1 ``standardize_splits(x_train, x_other)``              warm-up: standardize two splits with the
                                                         training statistics only, a constant
                                                         training column included (1 point)
q2 ``confusion_counts(predicted, target, num_classes)``  a confusion matrix without
                                                         ``torch.bincount`` or a histogram, empty
                                                         batches and out-of-range labels included
                                                         (2 points)
q3 ``evaluate_model(model, loss_fn, loader)``            an evaluation loop: the per-example mean
                                                         loss and the accuracy over uneven batches,
                                                         in eval mode, without recording gradients,
                                                         leaving the model's mode as it found it
                                                         (3 points)
q4 ``fold_standardization(weight, bias, mean, std)``     derive the first layer that takes raw
                                                         features and computes what the trained
                                                         layer computes on standardized ones
                                                         (2 points)

Public cases are the ones the notebook's check cells run; the others are instructor cases that
only the grader runs (float64, empty splits and batches, a model found in eval mode, a model with
dropout, labels out of range, a layer without bias). Every case also checks that the inputs were
not modified, and the tensor cases are repeated on the GPU when one is present.

q1 forbids :func:`nnbook.tabular.fit_standardizer` and :func:`nnbook.tabular.standardize`, which
would answer it in two calls. q2 forbids the functions that would count the pairs for the learner:
``torch.bincount``, ``torch.histc`` and ``torch.histogram`` (also at PyTorch's dispatcher, through
:class:`~nnbook.grading.forbidden.AtenOps`, so a copy imported under another name refuses too), the
book's ``confusion_matrix`` under every name (``nnbook.train``, ``nnbook.tabular`` and
``nnbook.digits`` hold one function, whose code is replaced), and the way out to NumPy
(``Tensor.numpy``, ``Tensor.__array__``, and NumPy's ``bincount`` and histograms). A detour through
``tolist()`` to NumPy or scikit-learn is not blocked (the grader cannot tell it from an allowed
Python loop over ``tolist()``); the question's text says so and asks for tensor operations. ``torch.unique`` with ``return_counts``, one-hot
tables, ``index_put_(..., accumulate=True)``, ``scatter_add_`` and a Python loop over ``tolist()``
are allowed: each still takes the chapter's pairing idea or its own. q3 forbids
:func:`nnbook.train.evaluate` and :func:`nnbook.train.fit`.
"""

import numpy
import torch
from torch import nn

import nnbook.tabular
import nnbook.train
from nnbook.grading.forbidden import AtenOps, forbidden, without
from nnbook.grading.inputs import randn, tensor
from nnbook.grading.questions import Case, ExerciseSet, Question

# --------------------------------------------------------------------------- q1: standardize_splits


def standardize_splits_reference(x_train, x_other):
    """(z_train, z_other): both minus the training mean, over the training std (N - 1), σ = 0 → 1."""
    mean, std = x_train.mean(dim=0), x_train.std(dim=0)
    std = torch.where(std > 0, std, torch.ones_like(std))
    return (x_train - mean) / std, (x_other - mean) / std


def _split_case(name, n_train, n_other, features, seed, *, public=False, dtype=torch.float32,
                constant=(), scales=None, hint=""):
    def make_args(device):
        x_train = randn(seed, n_train, features, dtype=dtype) * 3 + 5
        x_other = randn(seed + 1, n_other, features, dtype=dtype) * 3 + 5
        if scales is not None:
            factor = torch.tensor(scales, dtype=dtype)
            x_train, x_other = x_train * factor, x_other * factor
        for j in constant:
            x_train[:, j] = 4.0
        return x_train.to(device), x_other.to(device)
    return Case(name, make_args, public=public, hint=hint)


FORBIDDEN_Q1 = [(nnbook.tabular, "fit_standardizer"), (nnbook.tabular, "standardize")]

Q1 = Question(
    id="q1", answer="standardize_splits", args=("x_train", "x_other"),
    reference=standardize_splits_reference, points=1,
    call=without(FORBIDDEN_Q1, standardize_splits_reference), returns=("z_train", "z_other"),
    title="Warm-up: standardize two splits with the training statistics",
    hint="decide which split the statistics may come from before you write code",
    cases=(
        _split_case("100 training rows, 40 others, 3 features", 100, 40, 3, 800, public=True),
        _split_case("a column that is constant in the training split", 50, 10, 4, 805,
                    constant=(2,), public=True,
                    hint="a constant column has no spread; what must not happen then?"),
        _split_case("features on very different scales", 80, 20, 3, 810,
                    scales=[1000.0, 1.0, 0.01]),
        _split_case("float64", 30, 30, 5, 815, dtype=torch.float64),
        _split_case("an empty other split", 20, 0, 3, 820,
                    hint="no rows to standardize is not an error"),
        _split_case("two training rows, the fewest with a spread", 2, 5, 3, 825),
        _split_case("the first column constant, float64", 40, 7, 3, 830, dtype=torch.float64,
                    constant=(0,)),
    ),
)


# --------------------------------------------------------------------------- q2: confusion_counts

FORBIDDEN_Q2 = (
    [(torch, name) for name in ("bincount", "histc", "histogram", "histogramdd")]
    + [(torch.Tensor, name) for name in ("bincount", "histc", "histogram")]
    # one function under three names: replacing its code makes every name refuse
    + [(nnbook.train, "confusion_matrix")]
    # NumPy's counting functions, and the way out to NumPy (scikit-learn goes through it too)
    + [(torch.Tensor, "numpy"), (torch.Tensor, "__array__")]
    + [(numpy, name) for name in ("bincount", "histogram", "histogram2d", "histogramdd")]
    # the ATen operators behind torch.bincount and the histograms, whatever name reaches them
    + [AtenOps(["bincount", "histc", "histogram"])]
)


def confusion_counts_reference(predicted, target, num_classes):
    """(C, C) int64 counts, [i, j] = how many of true class i were predicted j; ValueError out of range."""
    for labels in (predicted, target):
        if labels.numel() and (labels.min() < 0 or labels.max() >= num_classes):
            raise ValueError("a label is outside 0 .. num_classes - 1")
    return nnbook.tabular.confusion_matrix(predicted, target, num_classes)


def _run_confusion(answer, args):
    """The answer's matrix, or "ValueError" when it raised one."""
    try:
        if answer is confusion_counts_reference:
            return answer(*args)
        with forbidden(FORBIDDEN_Q2):
            return answer(*args)
    except ValueError:
        return "ValueError"


def _labels(seed, n, num_classes, dtype=torch.int64, shift=0):
    draws = (randn(seed, n, dtype=torch.float64).abs() * 1000).long() % num_classes
    return (draws + shift).to(dtype)


def _confusion_case(name, n, num_classes, seed, *, public=False, dtype=torch.int64,
                    classes_used=None, bad=None, hint=""):
    def make_args(device):
        used = classes_used or num_classes
        target = _labels(seed, n, used, dtype)
        predicted = _labels(seed + 1, n, used, dtype)
        if bad == "predicted":
            predicted[0] = num_classes
        if bad == "negative":
            target[-1] = -1
        return predicted.to(device), target.to(device), num_classes
    return Case(name, make_args, public=public, hint=hint)


def _confusion_small(device):
    predicted = tensor([0, 1, 1, 3, 2, 2], dtype=torch.int64, device=device)
    target = tensor([0, 1, 2, 3, 2, 1], dtype=torch.int64, device=device)
    return predicted, target, 4


Q2 = Question(
    id="q2", answer="confusion_counts", args=("predicted", "target", "num_classes"),
    reference=confusion_counts_reference, call=_run_confusion, points=2,
    title="A confusion matrix without a counting function",
    hint="count all the examples at once with tensor operations; what could turn each label "
         "into something that can be added up over the examples?",
    cases=(
        _confusion_case("50 examples, 4 classes", 50, 4, 900, public=True),
        Case("six examples by hand", _confusion_small, public=True),
        _confusion_case("an empty batch", 0, 3, 905, hint="zero examples make zero counts"),
        _confusion_case("10 classes, only 4 of them occur", 30, 10, 910, classes_used=4,
                        hint="the shape comes from num_classes, not from the labels seen"),
        _confusion_case("int32 labels: still int64 counts", 40, 5, 915, dtype=torch.int32),
        _confusion_case("a prediction equal to num_classes: raise ValueError", 10, 4, 920,
                        bad="predicted", hint="a silent wrong count is worse than an error"),
        _confusion_case("a negative target: raise ValueError", 10, 4, 925, bad="negative"),
        _confusion_case("1,000 examples, 2 classes", 1000, 2, 930),
    ),
)


# --------------------------------------------------------------------------- q3: evaluate_model

# evaluate is wrapped by torch.no_grad(): its inner function is forbidden too, so that a copy
# imported under another name (from nnbook.train import evaluate) refuses as well
FORBIDDEN_Q3 = [(nnbook.train, "evaluate"), (nnbook.train.evaluate, "__wrapped__"),
                (nnbook.train, "fit")]


class RecordingLoss(nn.Module):
    """``nn.CrossEntropyLoss()`` (a batch mean) that remembers whether a graph was being recorded:
    gradients enabled while the loss is computed, or outputs that carry a graph (a forward pass run
    with gradients on and only the loss under ``no_grad``)."""

    def __init__(self):
        super().__init__()
        self.saw_gradients = False

    def watch(self, model):
        """Also note a forward pass of ``model`` run with gradients on, even if only a detached
        copy of its outputs reaches the loss."""
        def note(module, inputs, outputs):
            self.saw_gradients = self.saw_gradients or torch.is_grad_enabled()
        for module in model.modules():   # every layer: model.forward(x) skips only the outer hook
            module.register_forward_hook(note)
        return self

    def forward(self, outputs, targets):
        recorded = torch.is_grad_enabled() or outputs.requires_grad
        self.saw_gradients = self.saw_gradients or recorded
        return nn.functional.cross_entropy(outputs, targets)

    def extra_repr(self):
        return ""


def evaluate_model_reference(model, loss_fn, loader):
    """(mean loss per example, accuracy) as Python floats, in eval mode and under no_grad."""
    was_training = model.training
    model.eval()
    total, correct, count = 0.0, 0, 0
    with torch.no_grad():
        for inputs, targets in loader:
            outputs = model(inputs)
            total += loss_fn(outputs, targets).item() * len(targets)
            correct += (outputs.argmax(dim=1) == targets).sum().item()
            count += len(targets)
    model.train(was_training)
    if count == 0:
        raise ValueError("the loader gave no examples")
    return total / count, correct / count


def _run_evaluation(answer, args):
    """(loss, accuracy, the model's mode afterwards, whether the loss saw gradients on), or
    "ValueError" for an empty loader."""
    model, loss_fn, loader = args
    try:
        if answer is evaluate_model_reference:
            result = answer(model, loss_fn, loader)
        else:
            with forbidden(FORBIDDEN_Q3):
                result = answer(model, loss_fn, loader)
    except ValueError:
        return "ValueError"
    if not isinstance(result, tuple) or len(result) != 2:
        return result
    return (*result, "training" if model.training else "eval", loss_fn.saw_gradients)


def _evaluation_case(name, sizes, seed, *, public=False, dropout=0.0, mode="train",
                     dtype=torch.float32, hint=""):
    def make_args(device):
        generator = torch.Generator().manual_seed(seed)
        model = nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Dropout(dropout), nn.Linear(16, 3))
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.copy_(torch.randn(parameter.shape, generator=generator))
        model = model.to(device=device, dtype=dtype)
        model.train(mode == "train")
        loader = []
        for k, size in enumerate(sizes):
            x = randn(seed + 10 + k, size, 5, dtype=dtype, device=device)
            y = (randn(seed + 50 + k, size, dtype=torch.float64).abs() * 100).long() % 3
            loader.append((x, y.to(device)))
        return model, RecordingLoss().watch(model), loader
    return Case(name, make_args, public=public, hint=hint)


Q3 = Question(
    id="q3", answer="evaluate_model", args=("model", "loss_fn", "loader"),
    reference=evaluate_model_reference, call=_run_evaluation, points=3,
    returns=("mean_loss", "accuracy", "mode_afterwards", "gradients_recorded"),
    title="An evaluation loop: loss and accuracy over uneven batches",
    hint="four things to get right: which examples each number averages over, which mode the "
         "model computes in (and whether a graph is recorded), what state you leave behind, and "
         "what an empty loader must do",
    cases=(
        _evaluation_case("three batches of 8", (8, 8, 8), 1000, public=True),
        _evaluation_case("uneven batches 10, 10, 3", (10, 10, 3), 1010, public=True,
                         hint="does the last batch of 3 count as much as a batch of 10?"),
        _evaluation_case("a model with dropout", (16, 16), 1020, dropout=0.5,
                         hint="which layers compute differently during training?"),
        _evaluation_case("a model already in eval mode stays so", (6, 4), 1030, mode="eval",
                         hint="leave the model as you found it"),
        _evaluation_case("one batch of one example", (1,), 1040),
        _evaluation_case("float64 model and inputs", (7, 5), 1050, dtype=torch.float64),
        _evaluation_case("an empty loader: raise ValueError", (), 1060,
                         hint="a mean over nothing is not a number"),
        _evaluation_case("dropout, uneven batches, eval mode before", (9, 2, 5), 1070,
                         dropout=0.3, mode="eval"),
    ),
)


# --------------------------------------------------------------------------- q4: fold_standardization

def fold_standardization_reference(weight, bias, mean, std):
    """(W', b') with x @ W'.T + b' = ((x - mean) / std) @ W.T + b for every x."""
    folded_weight = weight / std
    folded_bias = -(folded_weight @ mean)
    if bias is not None:
        folded_bias = folded_bias + bias
    return folded_weight, folded_bias


def _fold_case(name, n_out, n_in, seed, *, public=False, dtype=torch.float32, bias=True,
               spread=1.0, hint=""):
    def make_args(device):
        weight = randn(seed, n_out, n_in, dtype=dtype, device=device)
        b = randn(seed + 1, n_out, dtype=dtype, device=device) if bias else None
        mean = randn(seed + 2, n_in, dtype=dtype, device=device) * spread
        std = randn(seed + 3, n_in, dtype=dtype, device=device).abs() * spread + 0.5
        return weight, b, mean, std
    return Case(name, make_args, public=public, hint=hint)


Q4 = Question(
    id="q4", answer="fold_standardization", args=("weight", "bias", "mean", "std"),
    reference=fold_standardization_reference, points=2, returns=("weight", "bias"),
    title="Fold the standardization into the first layer",
    hint="write output j of the layer for a standardized input, expand the fraction, and sort the "
         "terms into those that multiply x and those that do not",
    cases=(
        _fold_case("4 outputs, 3 features", 4, 3, 1100, public=True),
        _fold_case("the phone network's first layer: 64 × 20", 64, 20, 1110, public=True),
        _fold_case("a layer without bias", 3, 5, 1120, bias=False,
                   hint="without a bias, is the folded bias zero too?"),
        _fold_case("float64", 2, 6, 1130, dtype=torch.float64),
        _fold_case("features in the thousands", 5, 4, 1140, spread=1000.0),
        _fold_case("one output, one feature", 1, 1, 1150),
    ),
)


EXERCISE_SET = ExerciseSet(name="08-phone-prices", title="Tabular classification: phone prices",
                           questions=(Q1, Q2, Q3, Q4))
