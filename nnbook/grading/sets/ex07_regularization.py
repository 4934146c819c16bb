"""Exercise set 7, "Regularization": the questions of solutions/07-regularization.ipynb.

q1 ``dropout_with_mask(x, keep, p)``                   warm-up: inverted dropout with a given mask
                                                       of kept units, p = 1 included (1 point)
q2 ``batch_norm_train(x, gamma, beta, running_mean,    one training step of batch normalization
   running_var, momentum, eps, num_batches_tracked)``  for (N, C) or (N, C, L): the output and the
                                                       updated running statistics, momentum None
                                                       (a cumulative average), a clear error for a
                                                       single value per channel, without PyTorch's
                                                       or nnbook's batch norm (3 points)
q3 ``fold_batch_norm(weight, bias, gamma, beta,        derive the one linear layer that computes a
   running_mean, running_var, eps)``                   linear layer followed by batch norm in
                                                       evaluation mode (3 points)
q4 ``early_stopping_epochs(val_losses, patience)``     read a validation curve as early stopping
                                                       does: the epoch it restores and the epoch it
                                                       stops after (2 points)
q5 ``adam_first_step(w, grad, lr, weight_decay,        Adam's first step with the L2 penalty against
   decoupled)``                                        AdamW's decoupled decay (2 points)

Public cases are the ones the notebook's check cells run; the others are instructor cases that
only the grader runs (p = 0 and 1, float64, empty and 3-D inputs, momentum None, a batch of one,
a layer without bias, zero variances). Every case also checks that the inputs were not modified,
and tensor cases are repeated on the GPU when one is present.

What the forbidding can and cannot do: while an answer runs, q2 refuses every normalization of
PyTorch (``torch``, ``torch.nn.functional``, ``torch.ops.aten``, the Python decompositions in
``torch._decomp`` and ``torch._refs``, and, through :class:`nnbook.grading.forbidden.AtenOps`,
the ATen operators behind the read-only ``torch._C._VariableFunctions``) and every method of
``nnbook.nn.BatchNorm1d``; q4 refuses ``nnbook.train.EarlyStopping`` and its methods; q3 and q5
refuse PyTorch's fusion helpers and the Adam optimizers. Calling the library is forbidden; reading
it is not: ``nnbook/nn.py`` and ``nnbook/train.py`` contain working versions of q2 and q4, and a
learner who copies that source gets the points. We accept that: reading library source is
reading, and the questions' 1/(t + 1) weight, N·L count and restore-versus-stop epochs still
have to be understood to adapt it.
"""

import torch
import torch.nn.functional as TF
import torch.nn.utils.fusion

from importlib import import_module

import nnbook.nn
import nnbook.optim
import nnbook.train
from nnbook.grading.forbidden import AtenOps, forbidden, matching, methods_of, without
from nnbook.grading.inputs import randn, tensor
from nnbook.grading.questions import Case, ExerciseSet, Question

# (owner, attribute name) of the functions each question forbids
# every normalization function of torch, torch.nn.functional and torch.ops.aten (batch, instance,
# layer, group norm: each computes per-channel statistics), and every method of the two layers,
# nnbook's private helpers included
_NORMS = ("batch_norm", "instance_norm", "layer_norm", "group_norm")


def _importable(module):
    try:
        import_module(module)
    except ImportError:
        return False
    return True



FORBIDDEN_Q2 = (
    matching(TF, _NORMS) + matching(torch, _NORMS)
    + matching(torch.ops.aten, _NORMS, names=[prefix + name for name in _NORMS for prefix in
                                              ("", "native_", "_native_", "_")]
               + ["_native_batch_norm_legit", "_native_batch_norm_legit_no_training",
                  "_batch_norm_with_update", "_batch_norm_no_update", "cudnn_batch_norm"])
    + [(torch.nn.modules.batchnorm._BatchNorm, "forward")]
    + methods_of(nnbook.nn.BatchNorm1d)
    # PyTorch's Python decompositions and references of the same operators
    + [pair for module in ("torch._decomp.decompositions", "torch._refs",
                           "torch._refs.nn.functional") if _importable(module)
       for pair in matching(import_module(module), _NORMS)]
    # torch._C._VariableFunctions cannot be patched (its attributes are read-only): refuse the
    # ATen operators behind it, and behind every other name for them, at the dispatcher
    + [AtenOps(_NORMS)]
)
FORBIDDEN_Q4 = [(nnbook.train, "EarlyStopping"), *methods_of(nnbook.train.EarlyStopping)]
_ADAM = ("Adam", "adam")
FORBIDDEN_Q5 = (
    # the classes, and the modules behind them (which their package names shadow)
    [pair for module in ("torch.optim", "torch.optim.adam", "torch.optim.adamw",
                         "torch.optim._functional", "nnbook.optim", "nnbook.optim.adam")
     for pair in matching(import_module(module), _ADAM)]
    + matching(torch, ["_fused_adam"])
)
FORBIDDEN_Q3 = [(torch.nn.utils.fusion, name) for name in
                ("fuse_linear_bn_weights", "fuse_linear_bn_eval")]


# --------------------------------------------------------------------------- q1: dropout_with_mask

def dropout_with_mask_reference(x, keep, p):
    """Inverted dropout: x where keep is True, divided by 1 - p; 0 elsewhere (all 0 for p = 1)."""
    if p == 1:
        return torch.zeros_like(x)
    return torch.where(keep, x / (1 - p), torch.zeros_like(x))


def _dropout_case(name, shape, p, seed, *, public=False, dtype=torch.float32, hint=""):
    def make_args(device):
        x = randn(seed, *shape, dtype=dtype, device=device, scale=2.0)
        keep = (torch.rand(shape, generator=torch.Generator().manual_seed(seed + 1)) >= p)
        return x, keep.to(device), p
    return Case(name, make_args, public=public, hint=hint)


Q1 = Question(
    id="q1", answer="dropout_with_mask", args=("x", "keep", "p"),
    reference=dropout_with_mask_reference, points=1,
    title="Warm-up: inverted dropout with a given mask",
    hint="decide what the expected value of each output must be, and make sure every p from 0 to "
         "1 gives numbers",
    cases=(
        _dropout_case("p = 0.5, 8 values", (8,), 0.5, 700, public=True),
        _dropout_case("p = 0.2, a batch (4, 6)", (4, 6), 0.2, 710, public=True),
        _dropout_case("p = 0: nothing dropped", (3, 5), 0.0, 720),
        _dropout_case("p = 1: everything dropped", (3, 5), 1.0, 730,
                      hint="no unit survives: what is the only sensible output?"),
        _dropout_case("p = 0.9, float64", (5, 7), 0.9, 740, dtype=torch.float64),
        _dropout_case("3-D input (2, 3, 4), p = 0.3", (2, 3, 4), 0.3, 750),
        _dropout_case("an empty batch (0, 5)", (0, 5), 0.5, 760),
    ),
)


# --------------------------------------------------------------------------- q2: batch_norm_train

def batch_norm_train_reference(x, gamma, beta, running_mean, running_var, momentum=0.1, eps=1e-5,
                               num_batches_tracked=0):
    """(y, new running mean, new running variance) of one training-mode batch-norm step."""
    layer = nnbook.nn.BatchNorm1d(x.shape[1], eps=eps, momentum=momentum, dtype=x.dtype,
                                  device=x.device)
    with torch.no_grad():
        layer.weight.copy_(gamma)
        layer.bias.copy_(beta)
        layer.running_mean.copy_(running_mean)
        layer.running_var.copy_(running_var)
        layer.num_batches_tracked.fill_(num_batches_tracked)
        y = layer(x)
    return y, layer.running_mean.clone(), layer.running_var.clone()


def _run_batch_norm(answer, args):
    """The answer's three tensors, or "ValueError" when it raised one (a single value per channel)."""
    try:
        if answer is batch_norm_train_reference:
            result = answer(*args)
        else:
            with forbidden(FORBIDDEN_Q2):
                result = answer(*args)
    except ValueError:
        return "ValueError"
    return tuple(result)


def _bn_case(name, shape, seed, *, public=False, dtype=torch.float32, momentum=0.1, eps=1e-5,
             tracked=0, hint=""):
    def make_args(device):
        c = shape[1]
        x = randn(seed, *shape, dtype=dtype, device=device, scale=3.0) + 1.5
        gamma = randn(seed + 1, c, dtype=dtype, device=device) + 1.0
        beta = randn(seed + 2, c, dtype=dtype, device=device)
        running_mean = randn(seed + 3, c, dtype=dtype, device=device)
        running_var = randn(seed + 4, c, dtype=dtype, device=device).abs() + 0.5
        return x, gamma, beta, running_mean, running_var, momentum, eps, tracked
    return Case(name, make_args, public=public, hint=hint)


Q2 = Question(
    id="q2", answer="batch_norm_train", reference=batch_norm_train_reference, points=3,
    args=("x", "gamma", "beta", "running_mean", "running_var", "momentum", "eps",
          "num_batches_tracked"),
    returns=("y", "new_running_mean", "new_running_var"), call=_run_batch_norm,
    title="One training step of batch normalization, running statistics included",
    hint="list which statistics normalize the batch and which ones are remembered for later; "
         "they are not the same. Only the type of the error is graded.",
    cases=(
        _bn_case("a batch of 8, 3 features", (8, 3), 800, public=True),
        _bn_case("momentum 0.3, eps 0.1", (6, 4), 810, momentum=0.3, eps=0.1, public=True,
                 hint="eps goes where it keeps a division safe"),
        _bn_case("momentum None after 4 batches: a cumulative average", (5, 2), 820,
                 momentum=None, tracked=4, public=True,
                 hint="which weight makes the fifth batch count as much as each of the first four?"),
        _bn_case("momentum None, the very first batch", (4, 3), 830, momentum=None, tracked=0),
        _bn_case("sequences (N, C, L) = (3, 4, 5)", (3, 4, 5), 840,
                 hint="every position of every sequence is one more value of its channel"),
        _bn_case("a batch of two", (2, 5), 850,
                 hint="with two values, how many degrees of freedom does the spread have?"),
        _bn_case("a batch of one: raise ValueError", (1, 3), 860,
                 hint="one value per channel has no spread; refuse, as PyTorch does"),
        _bn_case("(1, C, 1): one value per channel again", (1, 3, 1), 870),
        _bn_case("(1, C, L) with L = 4 is fine", (1, 2, 4), 880),
        _bn_case("float64, 16 features", (10, 16), 890, dtype=torch.float64),
        _bn_case("momentum 1: forget the past", (6, 3), 895, momentum=1.0),
    ),
)


# --------------------------------------------------------------------------- q3: fold_batch_norm

def fold_batch_norm_reference(weight, bias, gamma, beta, running_mean, running_var, eps=1e-5):
    """(W', b') with x W'^T + b' = BN_eval(x W^T + b) for every x."""
    scale = gamma / torch.sqrt(running_var + eps)
    b = torch.zeros_like(running_mean) if bias is None else bias
    return weight * scale.unsqueeze(1), (b - running_mean) * scale + beta


def _fold_case(name, n_out, n_in, seed, *, public=False, dtype=torch.float32, bias=True, eps=1e-5,
               zero_var=False, hint=""):
    def make_args(device):
        weight = randn(seed, n_out, n_in, dtype=dtype, device=device)
        b = randn(seed + 1, n_out, dtype=dtype, device=device) if bias else None
        gamma = randn(seed + 2, n_out, dtype=dtype, device=device) + 1.0
        beta = randn(seed + 3, n_out, dtype=dtype, device=device)
        mean = randn(seed + 4, n_out, dtype=dtype, device=device, scale=2.0)
        var = randn(seed + 5, n_out, dtype=dtype, device=device).abs() * 3 + 0.1
        if zero_var:
            var[::2] = 0.0
        return weight, b, gamma, beta, mean, var, eps
    return Case(name, make_args, public=public, hint=hint)


Q3 = Question(
    id="q3", answer="fold_batch_norm",
    args=("weight", "bias", "gamma", "beta", "running_mean", "running_var", "eps"),
    reference=fold_batch_norm_reference, points=3, returns=("folded_weight", "folded_bias"),
    call=without(FORBIDDEN_Q3, fold_batch_norm_reference),
    title="Fold batch norm into the linear layer before it",
    hint="in evaluation mode every number batch norm uses is fixed: write its output for one "
         "feature as an affine function of that feature's pre-activation, then substitute",
    cases=(
        _fold_case("Linear(3, 2) then BatchNorm1d(2)", 2, 3, 900, public=True),
        _fold_case("Linear(5, 4) without bias", 4, 5, 910, bias=False, public=True,
                   hint="a missing bias is a bias of zeros"),
        _fold_case("Linear(8, 6), eps 0.1", 6, 8, 920, eps=0.1),
        _fold_case("running variance 0 in some features", 5, 3, 930, zero_var=True,
                   hint="what keeps that division finite?"),
        _fold_case("float64, Linear(16, 10)", 10, 16, 940, dtype=torch.float64),
        _fold_case("one output feature", 1, 7, 950),
    ),
)


# --------------------------------------------------------------------------- q4: early_stopping_epochs

def early_stopping_epochs_reference(val_losses, patience):
    """(restored epoch, last epoch trained) of nnbook.train.EarlyStopping(patience) on the curve."""
    stopper = nnbook.train.EarlyStopping(patience)
    model = torch.nn.Identity()
    for epoch, loss in enumerate(val_losses, start=1):
        if stopper.step(loss, model):
            return stopper.best_epoch, epoch
    return stopper.best_epoch, len(val_losses)


def _stop_case(name, losses, patience, *, public=False, hint=""):
    return Case(name, lambda device: (list(losses), patience), public=public, hint=hint, cuda=False)


Q4 = Question(
    id="q4", answer="early_stopping_epochs", args=("val_losses", "patience"),
    reference=early_stopping_epochs_reference, points=2, returns=("restored", "stopped"),
    call=without(FORBIDDEN_Q4, early_stopping_epochs_reference),
    title="Read a validation curve as early stopping does",
    hint="walk through the curve one epoch at a time, keeping what the stopper keeps",
    cases=(
        _stop_case("a curve that turns up, patience 3",
                   [2.0, 1.5, 1.2, 1.1, 1.15, 1.3, 1.4, 1.6, 1.8], 3, public=True),
        _stop_case("a noisy curve, patience 2",
                   [1.0, 0.8, 0.9, 0.7, 0.75, 0.72, 0.74, 0.6], 2, public=True),
        _stop_case("a tie does not improve", [1.0, 0.5, 0.5, 0.5, 0.4], 2,
                   hint="is an equal loss an improvement?"),
        _stop_case("never stops: always improving", [3.0, 2.0, 1.0, 0.5], 2),
        _stop_case("patience longer than the curve", [1.0, 2.0, 3.0], 5),
        _stop_case("worse from the first epoch, patience 1", [0.3, 0.4, 0.2], 1),
        _stop_case("a late improvement comes too late", [1.0, 1.1, 1.2, 1.3, 0.1], 3),
        _stop_case("one epoch", [0.7], 1),
    ),
)


# --------------------------------------------------------------------------- q5: adam_first_step

def adam_first_step_reference(w, grad, lr, weight_decay, decoupled):
    """w after the first step of torch.optim.AdamW (decoupled) or Adam (L2), default betas and eps."""
    p = w.detach().clone().requires_grad_(True)
    optimizer = (torch.optim.AdamW if decoupled else torch.optim.Adam)(
        [p], lr=lr, weight_decay=weight_decay)
    p.grad = grad.detach().clone()
    optimizer.step()
    return p.detach()


def _adam_case(name, n, seed, lr, weight_decay, decoupled, *, public=False, dtype=torch.float32,
               zero_grad=(), grad_scale=0.1, hint=""):
    def make_args(device):
        w = randn(seed, n, dtype=dtype, device=device)
        grad = randn(seed + 1, n, dtype=dtype, device=device, scale=grad_scale)
        for index in zero_grad:
            grad[index] = 0.0
        return w, grad, lr, weight_decay, decoupled
    return Case(name, make_args, public=public, hint=hint)


Q5 = Question(
    id="q5", answer="adam_first_step", args=("w", "grad", "lr", "weight_decay", "decoupled"),
    reference=adam_first_step_reference, points=2,
    call=without(FORBIDDEN_Q5, adam_first_step_reference),
    title="Adam's first step: the L2 penalty against decoupled weight decay",
    hint="write Adam's two averages after one step, with their corrections, and simplify; then "
         "decide where λ enters in each of the two optimizers",
    cases=(
        _adam_case("Adam with the L2 penalty, λ = 0.1", 6, 960, 1e-3, 0.1, False, public=True),
        _adam_case("AdamW, λ = 0.1", 6, 970, 1e-3, 0.1, True, public=True),
        _adam_case("AdamW, λ = 0: plain Adam", 5, 975, 1e-2, 0.0, True),
        _adam_case("Adam, a zero loss gradient in some weights", 8, 980, 1e-3, 0.5, False,
                   zero_grad=(0, 3, 5), hint="what is left of the gradient when the loss gives 0?"),
        _adam_case("AdamW, a zero loss gradient in some weights", 8, 985, 1e-3, 0.5, True,
                   zero_grad=(0, 3, 5)),
        _adam_case("AdamW, large decay lr 0.1, λ = 5", 4, 990, 0.1, 5.0, True),
        _adam_case("Adam, λ = 0 and a zero gradient", 4, 995, 1e-3, 0.0, False, zero_grad=(1,),
                   hint="a zero gradient must not give nan"),
        _adam_case("float64, AdamW", 7, 998, 1e-3, 1.0, True, dtype=torch.float64),
        _adam_case("float64, AdamW, gradients near eps (1e-8)", 5, 999, 1e-3, 0.0, True,
                   dtype=torch.float64, grad_scale=1e-8,
                   hint="with gradients this small, where does Adam's eps enter?"),
    ),
)


EXERCISE_SET = ExerciseSet(name="07-regularization", title="Regularization",
                           questions=(Q1, Q2, Q3, Q4, Q5))
