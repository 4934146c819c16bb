"""Exercise set 5, "Backpropagation and gradient descent": the questions of
solutions/05-backpropagation.ipynb.

q1 ``linear_backward(x, weight, grad_output)``         the backward pass of ``nn.Linear`` for
                                                        inputs of shape (*, in_features): dL/dx,
                                                        dL/dW and dL/db from dL/dy, without
                                                        autograd (3 points)
q2 ``weighted_cross_entropy_grad(logits, target,        the gradient of the class-weighted mean
   weight)``                                            cross-entropy with respect to the logits,
                                                        derived by hand, without autograd
                                                        (2 points)
q3 ``largest_stable_lr(x)``                             predict, then verify: the learning rate
                                                        above which gradient descent diverges on
                                                        the least-squares loss
                                                        mean((x @ w - y)^2), without autograd
                                                        (3 points)

In q1, q2 and q3 autograd (``torch.autograd.grad``, ``Tensor.backward``, ``torch.autograd.backward``)
and the book's hand-written passes are *forbidden*: while the learner's answer runs they raise
:class:`nnbook.grading.forbidden.ForbiddenFunction`. The references run without that restriction.
The :data:`~nnbook.grading.forbidden.AUTOGRAD` entry also refuses an engine captured in an earlier
cell, a ``grad_fn`` node called directly (both through refusing any tensor saved for a backward
pass), forward mode (``torch.func.jvp``/``jacfwd``, ``torch.autograd.forward_ad``), ``torch.func``'s
other transforms, ``torch.autograd.functional`` and ATen's ``*_backward`` kernels. What the ban
cannot stop: a learner who reimplements autograd or finite differences by hand (which is doing the
exercise, or an approximation the float64 tolerances reject), or one who finds a route that is
not listed. It deters; it does not prove that no shortcut was taken.

Public cases are the ones the notebook's check cells run; the others are instructor cases that
only the grader runs (a batch of one, float64, non-contiguous inputs, extra leading dimensions,
empty batches, extreme logits; every case also checks that the inputs were not modified, and
tensor cases are repeated on the GPU when one is present).
"""

import torch
import torch.func
import torch.nn.functional as TF

import nnbook.autograd
import nnbook.backprop
from nnbook.grading.forbidden import AUTOGRAD, without
from nnbook.grading.inputs import randn, tensor
from nnbook.grading.questions import Case, ExerciseSet, Question

# (owner, attribute name) of the functions q1 and q2 forbid: autograd, and the book's own passes
# (the engine entry also refuses copies of torch.autograd.grad imported earlier, torch.func.grad
# and torch.func.vjp; every function of nnbook.backprop, private helpers included, refuses even
# when bound under another name)
FORBIDDEN_AUTOGRAD = (
    [AUTOGRAD, (torch.autograd, "grad"), (torch.autograd, "backward"), (torch.Tensor, "backward"),
     (torch.func, "vjp"), (torch.func, "grad")]
    + [(nnbook.backprop, name) for name, f in sorted(vars(nnbook.backprop).items())
       if callable(f) and getattr(f, "__module__", None) == "nnbook.backprop"
       and not isinstance(f, type)]
    + [(nnbook.autograd.Value, "backward")]
)


# --------------------------------------------------------------------------- q1: linear_backward

def linear_backward_reference(x, weight, grad_output):
    """Autograd's gradients of sum(grad_output * (x @ weight.T + b)) for x, weight and b."""
    x_ = x.detach().clone().requires_grad_()
    w_ = weight.detach().clone().requires_grad_()
    b_ = torch.zeros(weight.shape[0], dtype=weight.dtype, device=weight.device, requires_grad=True)
    y = TF.linear(x_, w_, b_)
    gx, gw, gb = torch.autograd.grad(y, (x_, w_, b_), grad_output)
    return gx, gw, gb


def _linear_case(name, lead, n_in, n_out, seed, *, public=False, dtype=torch.float64,
                 transposed=False, hint=""):
    def make_args(device):
        if transposed and len(lead) == 1:   # the transpose of a contiguous tensor: not contiguous
            x = randn(seed, n_in, *lead, dtype=dtype, device=device).T
        elif transposed:                    # the first two leading dimensions swapped
            x = randn(seed, lead[1], lead[0], *lead[2:], n_in, dtype=dtype,
                      device=device).transpose(0, 1)
        else:
            x = randn(seed, *lead, n_in, dtype=dtype, device=device)
        weight = randn(seed + 1, n_out, n_in, dtype=dtype, device=device)
        grad_output = randn(seed + 2, *lead, n_out, dtype=dtype, device=device)
        return x, weight, grad_output
    return Case(name, make_args, public=public, hint=hint)


Q1 = Question(
    id="q1", answer="linear_backward", args=("x", "weight", "grad_output"),
    returns=("grad_x", "grad_weight", "grad_bias"),
    reference=linear_backward_reference, points=3,
    call=without(FORBIDDEN_AUTOGRAD, linear_backward_reference),
    title="The backward pass of a linear layer, for inputs of any number of leading dimensions",
    hint="write y as a sum over indices, ask in which entries of y a given weight appears, and "
         "let the shapes tell you where a transpose goes",
    cases=(
        _linear_case("a batch of 4, 3 inputs, 2 outputs", (4,), 3, 2, 700, public=True),
        _linear_case("a batch of one", (1,), 5, 3, 710, public=True,
                     hint="one example: the bias gradient still has one entry per output"),
        _linear_case("sequences: x of shape (2, 3, 4)", (2, 3), 4, 5, 720, public=True,
                     hint="every position of every sequence is one use of the same weights"),
        # the instructor cases have more than one leading dimension (but one), so that the
        # chapter's (N, in) formulas alone earn little: the question is about any leading shape
        _linear_case("float32, x of shape (4, 4, 8)", (4, 4), 8, 6, 730, dtype=torch.float32),
        _linear_case("x not contiguous (a transposed tensor)", (7,), 4, 3, 740, transposed=True),
        _linear_case("x of shape (3, 2, 4), not contiguous", (3, 2), 4, 3, 745, transposed=True),
        _linear_case("three leading dimensions (2, 2, 3)", (2, 2, 3), 3, 2, 750),
        _linear_case("four leading dimensions (3, 1, 1, 2)", (3, 1, 1, 2), 2, 4, 755),
        _linear_case("an empty batch: x of shape (2, 0, 4)", (2, 0), 4, 3, 760,
                     hint="no examples: what do the sums over examples give?"),
        _linear_case("one input, one output, x of shape (5, 2, 1)", (5, 2), 1, 1, 770),
        _linear_case("float32, x of shape (5, 4, 3)", (5, 4), 3, 7, 780, dtype=torch.float32),
    ),
)


# --------------------------------------------------------------------------- q2: weighted CE grad

def weighted_cross_entropy_grad_reference(logits, target, weight=None):
    """Autograd's gradient of F.cross_entropy(logits, target, weight=weight) for the logits."""
    z = logits.detach().clone().requires_grad_()
    grad, = torch.autograd.grad(TF.cross_entropy(z, target, weight=weight), z)
    return grad


def _ce_case(name, n, c, seed, *, public=False, dtype=torch.float32, weighted=True, scale=2.0,
             transposed=False, hint=""):
    def make_args(device):
        if transposed:
            logits = randn(seed, c, n, dtype=dtype, device=device, scale=scale).T
        else:
            logits = randn(seed, n, c, dtype=dtype, device=device, scale=scale)
        target = ((randn(seed + 1, n, dtype=torch.float64).abs() * 1000).long() % c).to(device)
        weight = ((randn(seed + 2, c, dtype=dtype).abs() + 0.2).to(device) if weighted else None)
        return logits, target, weight
    return Case(name, make_args, public=public, hint=hint)


def _ce_extreme(device):
    logits = tensor([[1000.0, 0.0, -1000.0], [-1000.0, 1000.0, 0.0]], device=device)
    return logits, torch.tensor([2, 1], device=device), tensor([2.0, 0.5, 1.0], device=device)


Q2 = Question(
    id="q2", answer="weighted_cross_entropy_grad", args=("logits", "target", "weight"),
    reference=weighted_cross_entropy_grad_reference, points=2,
    call=without(FORBIDDEN_AUTOGRAD, weighted_cross_entropy_grad_reference),
    title="The gradient of the class-weighted cross-entropy with respect to the logits",
    hint="differentiate the question's formula for L with respect to one logit z_ij, keeping "
         "track of which terms contain it; the case with one example is a good first check",
    cases=(
        _ce_case("5 examples, 3 classes, no weights", 5, 3, 800, weighted=False, public=True,
                 hint="without weights this is the chapter's gradient"),
        _ce_case("6 examples, 4 classes, class weights", 6, 4, 810, public=True),
        _ce_case("a batch of one, weighted", 1, 3, 820,
                 hint="with one example, does its weight matter?"),
        _ce_case("float64, 10 classes", 8, 10, 830, dtype=torch.float64),
        Case("logits ±1000", _ce_extreme, hint="exp(1000) overflows"),
        _ce_case("logits not contiguous (a transposed tensor)", 7, 3, 840, transposed=True),
        _ce_case("large logits (scale 50), weighted", 6, 5, 850, scale=50.0),
    ),
)


# --------------------------------------------------------------------------- q3: largest_stable_lr

def largest_stable_lr_reference(x):
    """The learning rate above which gradient descent on L(w) = mean((x @ w - y)^2) diverges.

    L is quadratic in w with Hessian H = (2/N) x^T x, whatever y; along the eigenvector of H with
    the largest eigenvalue a step multiplies the error by 1 - lr * lambda_max, so the threshold is
    2 / lambda_max(H) = N / lambda_max(x^T x) (tests/test_exercise_set_05.py measures it by running
    gradient descent)."""
    x64 = x.detach().to(torch.float64).cpu()
    return x64.shape[0] / torch.linalg.eigvalsh(x64.T @ x64).max().item()


def _data_case(name, make, *, public=False, hint=""):
    return Case(name, make, public=public, hint=hint, cuda=False)


def _random_x(n, d, seed, dtype=torch.float32, column_scale=None, transposed=False):
    def make(device):
        x = (randn(seed, d, n, dtype=dtype).T if transposed else randn(seed, n, d, dtype=dtype))
        if column_scale is not None:
            x = x * torch.tensor(column_scale, dtype=dtype)
        return x.to(device),
    return make


Q3 = Question(
    id="q3", answer="largest_stable_lr", args=("x",),
    reference=largest_stable_lr_reference, points=3,
    call=without(FORBIDDEN_AUTOGRAD, largest_stable_lr_reference),
    title="Predict, then verify: the learning rate above which a least-squares fit diverges",
    hint="write L as a quadratic in w and find its matrix of second derivatives (watch the "
         "constants); then use what the chapter found about steps on a quadratic bowl",
    cases=(
        _data_case("one feature: x = (1, 2, 3) as a column",
                   lambda device: (tensor([[1.0], [2.0], [3.0]], device=device),), public=True,
                   hint="with one weight, L is a parabola: what is its second derivative?"),
        _data_case("20 rows, 3 features", _random_x(20, 3, 900), public=True),
        _data_case("a feature in the thousands", _random_x(30, 3, 905,
                                                           column_scale=[1.0, 1000.0, 1.0]),
                   public=True, hint="the chapter's phones: which direction is steepest now?"),
        _data_case("one row (N = 1)", lambda device: (tensor([[3.0, 4.0]], device=device),),
                   hint="one row: the loss only changes along one direction of w"),
        _data_case("two identical columns", lambda device: (
            tensor([[1.0, 1.0], [2.0, 2.0], [-1.0, -1.0], [0.5, 0.5]], device=device),)),
        _data_case("float64, 200 rows, 6 features", _random_x(200, 6, 910, torch.float64)),
        _data_case("x not contiguous (a transposed tensor)", _random_x(12, 4, 915,
                                                                       transposed=True)),
        _data_case("correlated features", lambda device: (
            tensor([[1.0, 0.9], [2.0, 2.1], [3.0, 2.9], [4.0, 4.2]], device=device),)),
    ),
)


EXERCISE_SET = ExerciseSet(name="05-backpropagation", title="Backpropagation and gradient descent",
                           questions=(Q1, Q2, Q3))
