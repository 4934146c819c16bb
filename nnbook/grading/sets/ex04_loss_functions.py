"""Exercise set 4, "Loss functions": the questions of solutions/04-loss-functions.ipynb.

q1 ``kl_bits(p, q)``                                       warm-up: KL(p ‖ q) in bits, where p or q
                                                           may hold zeros (1 point)
q2 ``cross_entropy_weighted(logits, target, weight,        cross-entropy from logits (N, C) or
   ignore_index)``                                         (N, C, L) with class weights and ignored
                                                           targets, without PyTorch's log-softmax,
                                                           softmax, logsumexp or logcumsumexp
                                                           (3 points)
q3 ``bce_with_logits(z, y, pos_weight, reduction)``        binary cross-entropy of logits with a
                                                           positive weight, without logsigmoid,
                                                           softplus or logaddexp: derived to be
                                                           stable (3 points)
q4 ``smoothing_floor(num_classes, epsilon)``               predict, then verify: the smallest loss
                                                           label smoothing allows (2 points)

In q2 and q3 the library functions that would do the question's work are *forbidden*: while the
learner's answer runs (in the check cells and in the grader) they raise
:class:`nnbook.grading.forbidden.ForbiddenFunction`.
The references run without that restriction.

Public cases are the ones the notebook's check cells run; the others are instructor cases that
only the grader runs (extreme logits, zeros, float64, empty batches, every reduction; every case
also checks that the inputs were not modified, and tensor cases are repeated on the GPU when one
is present).
"""

import math

import torch
import torch.nn.functional as TF

import nnbook.functional
from nnbook import functional as F
from nnbook.grading.inputs import randn, tensor
from nnbook.grading.forbidden import without
from nnbook.grading.questions import Case, ExerciseSet, Question


def _distribution(seed, *shape, dtype=torch.float32, device="cpu", zeros=0.0):
    """Random distributions along the last dimension; a share ``zeros`` of entries set to 0."""
    logits = randn(seed, *shape, dtype=torch.float64, scale=2.0)
    if zeros:
        mask = randn(seed + 1, *shape, dtype=torch.float64) < -abs(zeros)
        mask[..., 0] = False                         # keep at least one outcome possible
        logits = logits.masked_fill(mask, -math.inf)
    return torch.softmax(logits, dim=-1).to(dtype=dtype, device=device)


# --------------------------------------------------------------------------- forbidden functions

# (owner, attribute name) of the functions each question forbids
FORBIDDEN_Q2 = (
    [(torch, name) for name in ("logsumexp", "logcumsumexp", "log_softmax", "softmax")]
    + [(torch.Tensor, name) for name in ("logsumexp", "logcumsumexp", "log_softmax", "softmax")]
    + [(torch.special, name) for name in ("logsumexp", "log_softmax", "softmax")]
    + [(TF, name) for name in ("log_softmax", "softmax", "cross_entropy", "nll_loss")]
    + [(nnbook.functional, name) for name in ("log_softmax", "softmax", "cross_entropy", "nll_loss")]
)
FORBIDDEN_Q3 = (
    [(TF, name) for name in ("logsigmoid", "softplus", "binary_cross_entropy",
                             "binary_cross_entropy_with_logits")]
    + [(torch._C._nn, name) for name in ("log_sigmoid", "softplus")]
    + [(torch, "binary_cross_entropy_with_logits")]
    + [(owner, name) for owner in (torch, torch.Tensor) for name in ("logaddexp", "logaddexp2")]
    + [(nnbook.functional, name) for name in ("binary_cross_entropy",
                                              "binary_cross_entropy_with_logits")]
)


# --------------------------------------------------------------------------- q1: kl_bits

def kl_bits_reference(p, q):
    """KL(p ‖ q) = sum_k p_k log2(p_k / q_k) over the last dimension, 0 where p_k = 0."""
    return F.kl_divergence(p, q, base=2)


def _kl_case(name, make, *, public=False, hint=""):
    return Case(name, make, public=public, hint=hint)


def _kl_simple(device):
    p = tensor([0.5, 0.5], device=device)
    q = tensor([0.25, 0.75], device=device)
    return p, q     # 0.5 log2 2 + 0.5 log2(2/3) = 0.5 - 0.2925 = 0.2075 bits


def _kl_random(seed, shape, dtype=torch.float32, p_zeros=0.0, q_zeros=0.0):
    def make(device):
        return (_distribution(seed, *shape, dtype=dtype, device=device, zeros=p_zeros),
                _distribution(seed + 10, *shape, dtype=dtype, device=device, zeros=q_zeros))
    return make


def _kl_p_zero(device):
    p = tensor([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]], device=device)
    q = tensor([[0.25, 0.25, 0.5], [0.5, 0.25, 0.25]], device=device)
    return p, q


def _kl_q_zero(device):
    p = tensor([[0.5, 0.5, 0.0], [0.25, 0.25, 0.5]], device=device)
    q = tensor([[0.5, 0.5, 0.0], [0.5, 0.5, 0.0]], device=device)
    return p, q     # first row: 0 (the zeros match); second: +inf


Q1 = Question(
    id="q1", answer="kl_bits", args=("p", "q"), reference=kl_bits_reference, points=1,
    title="Warm-up: the KL divergence in bits, zeros included",
    hint="decide for each term what its limit is when p_k or q_k is 0, before you write code",
    cases=(
        _kl_case("two outcomes: p = (1/2, 1/2), q = (1/4, 3/4)", _kl_simple, public=True),
        _kl_case("p has zeros", _kl_p_zero, public=True,
                 hint="an outcome that never happens under p adds no surprise"),
        _kl_case("a batch of 5 distributions over 6 outcomes", _kl_random(400, (5, 6))),
        _kl_case("q is 0 where p is not, and both 0 together", _kl_q_zero,
                 hint="what does it cost to call impossible something that happens?"),
        _kl_case("float64, extra leading dimensions (2, 3, 4)", _kl_random(410, (2, 3, 4), torch.float64)),
        _kl_case("p equal to q gives 0", lambda device: (_distribution(420, 3, 5, device=device),) * 2),
        _kl_case("an empty batch: shape (0, 4)", _kl_random(430, (0, 4))),
        _kl_case("many zeros in p", _kl_random(440, (4, 8), p_zeros=0.3)),
    ),
)


# --------------------------------------------------------------------------- q2: cross_entropy_weighted

def cross_entropy_weighted_reference(logits, target, weight=None, ignore_index=-100):
    """Mean over the kept examples of -w_y log softmax(z)_y, divided by the summed w_y."""
    return F.cross_entropy(logits, target, weight, ignore_index=ignore_index)


def _ce_case(name, n, c, seed, *, public=False, dtype=torch.float32, weighted=False, ignored=0,
             scale=3.0, ignore_index=-100, hint=""):
    def make_args(device):
        logits = randn(seed, n, c, dtype=dtype, device=device, scale=scale)
        target = (randn(seed + 1, n, dtype=torch.float64).abs() * 1000).long() % c
        target[:ignored] = ignore_index
        weight = (randn(seed + 2, c, dtype=dtype).abs() + 0.5).to(device) if weighted else None
        return logits, target.to(device), weight, ignore_index
    return Case(name, make_args, public=public, hint=hint)


def _ce_sequence_case(name, n, c, length, seed, *, public=False, dtype=torch.float32,
                      weighted=False, ignored=0, scale=3.0, ignore_index=-100, hint=""):
    """Logits (N, C, L) and targets (N, L): one class per position of a sequence."""
    def make_args(device):
        logits = randn(seed, n, c, length, dtype=dtype, device=device, scale=scale)
        target = (randn(seed + 1, n, length, dtype=torch.float64).abs() * 1000).long() % c
        target[:, :ignored] = ignore_index
        weight = (randn(seed + 2, c, dtype=dtype).abs() + 0.5).to(device) if weighted else None
        return logits, target.to(device), weight, ignore_index
    return Case(name, make_args, public=public, hint=hint)


def _ce_extreme(device):
    logits = tensor([[1000.0, 0.0, -1000.0], [-1000.0, 1000.0, 0.0], [0.0, 0.0, 1000.0]],
                    device=device)
    target = torch.tensor([0, 0, 2], device=device)   # right, wrong by 2000, right
    return logits, target, None, -100


Q2 = Question(
    id="q2", answer="cross_entropy_weighted", args=("logits", "target", "weight", "ignore_index"),
    reference=cross_entropy_weighted_reference, points=3,
    call=without(FORBIDDEN_Q2, cross_entropy_weighted_reference),
    title="Cross-entropy from logits, with class weights and ignored targets, for (N, C) and (N, C, L)",
    hint="separate ideas: log-probabilities that cannot overflow, a weight per example taken from "
         "its target's class, examples that count neither above nor below the fraction bar, and "
         "a class dimension that is always dimension 1",
    cases=(
        _ce_case("4 examples, 3 classes, no weights", 4, 3, 500, public=True),
        _ce_case("class weights", 6, 4, 510, weighted=True, public=True,
                 hint="a weighted mean divides by the weights it used"),
        _ce_case("two ignored targets (-100)", 5, 3, 520, ignored=2, public=True,
                 hint="an ignored target is not a class: it cannot pick a logit"),
        Case("extreme logits: ±1000", _ce_extreme,
             hint="exp(1000) overflows; find a form of log-softmax that never computes it"),
        _ce_case("weights and ignored targets together", 8, 5, 530, weighted=True, ignored=3),
        _ce_case("another ignore_index: 0 means 'no label'", 6, 4, 540, ignored=2, ignore_index=0,
                 hint="use the ignore_index you are given"),
        _ce_case("float64, 10 classes", 7, 10, 550, dtype=torch.float64, weighted=True),
        _ce_case("large logits (scale 300)", 5, 4, 560, scale=300.0),
        _ce_case("every target ignored: the mean of nothing", 3, 3, 570, ignored=3,
                 hint="0 divided by 0"),
        _ce_sequence_case("sequences: logits (2, 3, 4), targets (2, 4)", 2, 3, 4, 580, public=True,
                          hint="the classes are in dimension 1; every other position is one "
                               "example"),
        _ce_sequence_case("sequences with weights and ignored positions", 3, 5, 6, 590,
                          weighted=True, ignored=2),
        _ce_sequence_case("sequences, float64, logits ±300", 2, 4, 3, 595, dtype=torch.float64,
                          scale=300.0, weighted=True),
        _ce_sequence_case("sequences where L equals C", 2, 3, 3, 598, weighted=True, ignored=1,
                          hint="which dimension holds the classes?"),
    ),
)


# --------------------------------------------------------------------------- q3: bce_with_logits

def bce_with_logits_reference(z, y, pos_weight=None, reduction="mean"):
    """-[w y log σ(z) + (1 - y) log(1 - σ(z))], reduced."""
    return F.binary_cross_entropy_with_logits(z, y, pos_weight=pos_weight, reduction=reduction)


def _bce_case(name, shape, seed, *, public=False, dtype=torch.float32, pos_weight=None,
              reduction="mean", scale=3.0, soft=False, hint=""):
    def make_args(device):
        z = randn(seed, *shape, dtype=dtype, device=device, scale=scale)
        y = (randn(seed + 1, *shape, dtype=dtype) > 0).to(dtype)
        if soft:
            y = torch.sigmoid(randn(seed + 2, *shape, dtype=dtype))
        w = None if pos_weight is None else torch.as_tensor(pos_weight, dtype=dtype)
        return z, y.to(device), None if w is None else w.to(device), reduction
    return Case(name, make_args, public=public, hint=hint)


def _bce_extreme(reduction, pos_weight=None):
    def make_args(device):
        z = tensor([1000.0, -1000.0, 1000.0, -1000.0, 0.0], device=device)
        y = tensor([1.0, 0.0, 0.0, 1.0, 1.0], device=device)  # right, right, wrong, wrong, unsure
        w = None if pos_weight is None else tensor(pos_weight, device=device)
        return z, y, w, reduction
    return make_args


Q3 = Question(
    id="q3", answer="bce_with_logits", args=("z", "y", "pos_weight", "reduction"),
    reference=bce_with_logits_reference, points=3,
    call=without(FORBIDDEN_Q3, bce_with_logits_reference),
    title="Binary cross-entropy of logits, with a weight for the positives",
    hint="write log(1 - σ(z)) in terms of log σ(z), collect the terms, and then look for a way to "
         "compute log σ(z) that never overflows for either sign of z",
    cases=(
        _bce_case("8 logits, no pos_weight", (8,), 600, public=True),
        _bce_case("pos_weight 3 on a batch of 4 x 2", (4, 2), 610, pos_weight=[3.0, 3.0],
                  public=True),
        Case("logits ±1000, reduction 'none'", _bce_extreme("none"), public=True,
             hint="a confident wrong answer costs about |z|; a confident right one about 0"),
        _bce_case("one pos_weight per column", (5, 3), 620, pos_weight=[0.5, 1.0, 10.0],
                  hint="pos_weight lines up with the last dimension"),
        _bce_case("reduction 'sum'", (6,), 630, reduction="sum"),
        _bce_case("soft targets between 0 and 1", (7,), 640, soft=True),
        Case("logits ±1000 with pos_weight, reduction 'mean'", _bce_extreme("mean", [4.0])),
        _bce_case("float64, large logits (scale 100)", (3, 4), 650, dtype=torch.float64,
                  scale=100.0, pos_weight=[2.0, 2.0, 2.0, 2.0]),
        _bce_case("an empty batch, reduction 'sum'", (0, 3), 660, reduction="sum"),
    ),
)


# --------------------------------------------------------------------------- q4: smoothing_floor

def smoothing_floor_reference(num_classes, epsilon):
    """Measured, not reasoned: minimise nn.CrossEntropyLoss(label_smoothing=epsilon) over the
    logits of one example by gradient descent, in float64, and return the loss it reaches."""
    if epsilon == 0:
        return 0.0          # only reached as the logits grow without bound
    logits = torch.zeros(1, num_classes, dtype=torch.float64, requires_grad=True)
    target = torch.tensor([0])
    # The loss is convex in the logits; Newton-like L-BFGS reaches the minimum in a few steps.
    optimizer = torch.optim.LBFGS([logits], lr=1.0, max_iter=200, tolerance_grad=1e-14,
                                  tolerance_change=1e-16, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = F.cross_entropy(logits, target, label_smoothing=epsilon)
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        return F.cross_entropy(logits, target, label_smoothing=epsilon).item()


def _floor_case(name, c, eps, *, public=False, hint=""):
    return Case(name, lambda device: (c, eps), public=public, hint=hint, cuda=False)


Q4 = Question(
    id="q4", answer="smoothing_floor", args=("num_classes", "epsilon"),
    reference=smoothing_floor_reference, points=2,
    title="Predict, then verify: the floor that label smoothing puts under the loss",
    hint="the loss is a cross-entropy between two distributions, one of which the model cannot "
         "change",
    cases=(
        _floor_case("3 classes, epsilon 0.1", 3, 0.1, public=True),
        _floor_case("10 classes, epsilon 0.1", 10, 0.1, public=True),
        _floor_case("2 classes, epsilon 0.2", 2, 0.2),
        _floor_case("1000 classes, epsilon 0.1", 1000, 0.1,
                    hint="count how many classes share the smoothed mass"),
        _floor_case("no smoothing: epsilon 0", 5, 0.0,
                    hint="without smoothing, how small can -log q_y get?"),
        _floor_case("all smoothing: epsilon 1", 4, 1.0, hint="what is the target now?"),
        _floor_case("100 classes, epsilon 0.5", 100, 0.5),
    ),
)


EXERCISE_SET = ExerciseSet(name="04-loss-functions", title="Loss functions",
                           questions=(Q1, Q2, Q3, Q4))
