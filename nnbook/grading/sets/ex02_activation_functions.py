"""Exercise set 2: activation functions.

q1 ``log_sum_exp(x, dim)``                       log Σ exp along a dimension, for any logits
q2 ``clamp_from_relus(low, high)``               weights and biases of a 1 -> 2 -> 1 ReLU network that clamps x
q3 ``chain_slope(x, weights, biases, activation)``  d a_L / d x of a chain of units, by the chain rule
q4 ``logits_for(probs, dim)``                    logits whose softmax is the given probabilities

Public cases are the ones the notebook's check cells run; the others are instructor cases that
only the grader runs (extreme values, float64, empty batches, other dims; every case also checks
that the inputs were not modified, and tensor cases are repeated on the GPU when one is present).
"""

import torch
from torch import nn

from nnbook.grading.inputs import randn, tensor
from nnbook.grading.questions import Case, ExerciseSet, Question
from nnbook.grading.sets.ex01_neurons_and_layers import one_hidden_relu_network


# --------------------------------------------------------------------------- q1: log_sum_exp

def log_sum_exp_reference(x, dim):
    return torch.logsumexp(x, dim=dim)


def _lse_case(name, data, dim, *, public=False, dtype=torch.float32, hint=""):
    def make_args(device):
        return tensor(data, dtype=dtype, device=device), dim
    return Case(name, make_args, public=public, hint=hint)


def _lse_random(name, shape, dim, seed, *, scale=1.0, dtype=torch.float32, public=False, hint=""):
    def make_args(device):
        return randn(seed, *shape, dtype=dtype, device=device, scale=scale), dim
    return Case(name, make_args, public=public, hint=hint)


Q1 = Question(
    id="q1", answer="log_sum_exp", args=("x", "dim"), reference=log_sum_exp_reference, points=1,
    title="Warm-up: a log-sum-exp that never overflows",
    hint="exp overflows for large inputs and underflows for very negative ones; the result must be "
         "right for both, so compute with numbers that are neither.",
    cases=(
        _lse_case("small logits: [1, 2, 3]", [1.0, 2.0, 3.0], 0, public=True),
        _lse_case("large logits: [1000, 999, 998]", [1000.0, 999.0, 998.0], 0, public=True,
                  hint="exp(1000) is inf in float32; the answer is about 1000.41"),
        _lse_random("a batch of 4 rows of 5 logits, dim=1", (4, 5), 1, seed=100, public=True),
        _lse_case("very negative logits: [-1000, -1001]", [-1000.0, -1001.0], 0,
                  hint="exp(-1000) is 0 in float32, and log(0) is -inf: the true answer is near -1000"),
        _lse_random("dim=0 of a (3, 6) matrix", (3, 6), 0, seed=110,
                    hint="reduce along the dimension you are given, not always the last"),
        _lse_random("dim=-1 of a (2, 3, 4) tensor, logits of size 100", (2, 3, 4), -1, seed=120,
                    scale=100.0),
        _lse_random("float64 logits of size 500", (5, 7), 1, seed=130, scale=500.0,
                    dtype=torch.float64, hint="do not convert dtypes"),
        _lse_random("an empty batch: shape (0, 5), dim=1", (0, 5), 1, seed=140,
                    hint="a batch of no rows gives a result with no rows"),
        _lse_case("a row of -inf logits (probability 0 everywhere)",
                  [[0.0, 1.0], [float("-inf"), float("-inf")]], 1,
                  hint="the sum of exp over that row is exactly 0, so its log is -inf; what does "
                       "your shift do with a largest value of -inf?"),
        _lse_case("one logit", [[3.5]], 1),
        _lse_case("a row with a +inf logit", [[float("inf"), 0.0], [1.0, 2.0]], 1,
                  hint="exp(+inf) is +inf, so that row's sum and its log are +inf; what does your "
                       "shift do with a largest value of +inf?"),
    ),
)


# --------------------------------------------------------------------------- q2: clamp_from_relus

def clamp_from_relus_reference(low, high):
    """clamp(x, low, high) = low + relu(x - low) - relu(x - high): two kinks, one per unit."""
    W1 = torch.tensor([[1.0], [1.0]])
    b1 = torch.tensor([-float(low), -float(high)])
    W2 = torch.tensor([[1.0, -1.0]])
    b2 = torch.tensor([float(low)])
    return W1, b1, W2, b2


def relu_pair_network(parameters):
    """nn.Sequential(Linear(1, 2), ReLU(), Linear(2, 1)) holding (W1, b1, W2, b2)."""
    return one_hidden_relu_network(parameters, 2)


def _run_clamp(answer, args):
    low, high = args
    net = relu_pair_network(answer(low, high))
    margin = max(2.0, (high - low) / 2)
    x = torch.cat([torch.linspace(low - margin, high + margin, 41),
                   torch.tensor([low, high])]).unsqueeze(1)  # both sides of both kinks
    with torch.no_grad():
        return net(x).squeeze(1)


def _range_case(name, low, high, *, public=False, hint=""):
    return Case(name, lambda device: (low, high), public=public, hint=hint, cuda=False)


Q2 = Question(
    id="q2", answer="clamp_from_relus", args=("low", "high"), reference=clamp_from_relus_reference,
    points=3, call=_run_clamp, title="A clamp made of two ReLUs",
    hint="sketch the function first: where does its slope change, and by how much? Then ask what "
         "one ReLU unit can contribute to the output, and where.",
    cases=(
        _range_case("ReLU6: low 0, high 6", 0.0, 6.0, public=True),
        _range_case("hardtanh: low -1, high 1", -1.0, 1.0, public=True,
                    hint="below -1 the output must be -1, not 0"),
        _range_case("a range to the right of 0: low 2, high 5", 2.0, 5.0,
                    hint="the output for x < 2 must be 2"),
        _range_case("a range left of 0: low -5, high -2", -5.0, -2.0),
        _range_case("low = high = 3: a constant", 3.0, 3.0,
                    hint="with low = high the network must output 3 for every x"),
        _range_case("a wide range: low -0.5, high 100", -0.5, 100.0),
        _range_case("extreme values: low -1000, high 1000", -1000.0, 1000.0),
    ),
)


# --------------------------------------------------------------------------- q3: chain_slope

ACTIVATIONS = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}


def chain_slope_reference(x, weights, biases, activation):
    """Autograd's d a_L / d x for a_0 = x, a_l = f(w_l a_{l-1} + b_l), at every element of x."""
    f = ACTIVATIONS[activation]
    x = x.detach().clone().requires_grad_(True)
    a = x
    for w, b in zip(weights, biases):
        a = f(w * a + b)
    if a is x:
        return torch.ones_like(x).detach()
    (grad,) = torch.autograd.grad(a.sum(), x)
    return grad


def _chain_case(name, x, weights, biases, activation, *, public=False, dtype=torch.float32, hint=""):
    def make_args(device):
        data = x(device, dtype) if callable(x) else tensor(x, dtype=dtype, device=device)
        return data, list(weights), list(biases), activation
    return Case(name, make_args, public=public, hint=hint)


def _grid(lo, hi, n):
    return lambda device, dtype: torch.linspace(lo, hi, n, dtype=dtype).to(device)


Q3 = Question(
    id="q3", answer="chain_slope", args=("x", "weights", "biases", "activation"),
    reference=chain_slope_reference, points=4, title="The slope of a chain of units, by the chain rule",
    hint="go forward once and keep what each link needs for its own derivative; the derivative of "
         "the chain is built from one factor per link.",
    cases=(
        _chain_case("sigmoid, 3 links of weight 1, bias 0", _grid(-2, 2, 5), [1.0, 1.0, 1.0],
                    [0.0, 0.0, 0.0], "sigmoid", public=True),
        _chain_case("tanh, weights 2 and -0.5, biases 0.1 and 0.3", _grid(-3, 3, 7), [2.0, -0.5],
                    [0.1, 0.3], "tanh", public=True,
                    hint="a negative weight makes its factor negative"),
        _chain_case("relu, weights 1.5 and -1, biases 0 and 2", _grid(-2, 2, 9), [1.5, -1.0],
                    [0.0, 2.0], "relu", public=True,
                    hint="where a unit is off, everything before it stops mattering"),
        _chain_case("relu exactly at a kink (z = 0)", [0.0, 1.0, -1.0], [1.0], [0.0], "relu",
                    hint="use the same convention at z = 0 as PyTorch (see the chapter)"),
        _chain_case("saturated tanh: weights 10", _grid(-1, 1, 5), [10.0, 10.0], [0.0, 0.0], "tanh"),
        _chain_case("30 sigmoid links in float64", _grid(-1, 1, 4), [1.0] * 30, [0.0] * 30, "sigmoid",
                    dtype=torch.float64, hint="do not convert dtypes"),
        _chain_case("no links at all: a_0 = x", [1.0, -2.0, 3.0], [], [], "tanh",
                    hint="a chain of no links passes x through unchanged"),
        _chain_case("an empty batch of inputs", [], [2.0], [1.0], "sigmoid",
                    hint="no inputs, no slopes: the result is empty too"),
        _chain_case("relu with a negative bias that switches the unit off", _grid(-1, 3, 9),
                    [1.0, 1.0], [-1.0, 0.5], "relu"),
    ),
)


# --------------------------------------------------------------------------- q4: logits_for

def logits_for_reference(probs, dim):
    return probs.log()


def _run_logits(answer, args):
    probs, dim = args
    logits = answer(probs, dim)
    return torch.softmax(logits, dim=dim)


def _probs_case(name, data, dim, *, public=False, dtype=torch.float32, hint=""):
    def make_args(device):
        return tensor(data, dtype=dtype, device=device), dim
    return Case(name, make_args, public=public, hint=hint)


def _random_probs(name, shape, dim, seed, *, dtype=torch.float32, public=False, hint=""):
    def make_args(device):
        return torch.softmax(randn(seed, *shape, dtype=dtype, scale=2.0), dim=dim).to(device), dim
    return Case(name, make_args, public=public, hint=hint)


Q4 = Question(
    id="q4", answer="logits_for", args=("probs", "dim"), reference=logits_for_reference, points=2,
    call=_run_logits, title="Logits for given probabilities",
    hint="undo the softmax one step at a time, and remember which change to the logits the "
         "softmax cannot see.",
    cases=(
        _probs_case("three classes: [0.7, 0.2, 0.1]", [0.7, 0.2, 0.1], 0, public=True),
        _random_probs("a batch of 3 rows of 4 classes, dim=1", (3, 4), 1, seed=400, public=True),
        _random_probs("dim=0: probabilities down each column", (5, 2), 0, seed=410,
                      hint="the probabilities sum to 1 along dim, not along the rows"),
        _probs_case("a class with probability 0", [[0.5, 0.5, 0.0]], 1,
                    hint="which logit gives probability exactly 0 after the softmax?"),
        _probs_case("one class: probability 1", [[1.0]], 1),
        _random_probs("float64 probabilities", (4, 6), 1, seed=420, dtype=torch.float64,
                      hint="do not convert dtypes"),
        _random_probs("an empty batch: shape (0, 3)", (0, 3), 1, seed=430),
        _probs_case("tiny probabilities in float64", [1e-30, 1e-10, 1 - 1e-10 - 1e-30], 0,
                    dtype=torch.float64),
    ),
)


EXERCISE_SET = ExerciseSet(name="02-activation-functions", title="Activation functions",
                           questions=(Q1, Q2, Q3, Q4))
