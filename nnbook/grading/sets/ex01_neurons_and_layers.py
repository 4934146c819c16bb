"""Exercise set 1, "Neurons and layers": the questions of solutions/01-neurons-and-layers.ipynb.

q1 ``linear_forward(x, weight, bias)``   a linear layer's forward pass, y = x Wᵀ + b
q2 ``count_parameters(layer_sizes)``     the parameters of an MLP of nn.Linear layers
q3 ``compose_linear(w1, b1, w2, b2)``    two stacked linear layers as one: W = W2 W1, b = W2 b1 + b2

Public cases are the ones the notebook's check cells run; the others are instructor cases that
only the grader runs (edge cases, other dtypes and shapes; every case also checks that the inputs
were not modified, and is repeated on the GPU when one is present).
"""

import torch
from torch import nn
from torch.nn import functional as F

from nnbook.grading.inputs import randn, tensor
from nnbook.grading.questions import Case, ExerciseSet, Question


# --------------------------------------------------------------------------- q1: linear_forward

def _linear_case(name, batch_shape, n_in, n_out, seed, *, public=False, dtype=torch.float32,
                 bias=True, hint=""):
    def make_args(device):
        x = randn(seed, *batch_shape, n_in, dtype=dtype, device=device)
        weight = randn(seed + 1, n_out, n_in, dtype=dtype, device=device, scale=n_in ** -0.5)
        b = randn(seed + 2, n_out, dtype=dtype, device=device, scale=0.1) if bias else None
        return x, weight, b
    return Case(name, make_args, public=public, hint=hint)


def _one_sample_args(device):
    x = tensor([[1.0, 2.0, 3.0]], device=device)
    weight = tensor([[1.0, 0.0, -1.0], [0.5, 0.5, 0.5]], device=device)
    bias = tensor([0.5, -1.0], device=device)
    return x, weight, bias  # y = [[1 - 3 + 0.5, 3 - 1]] = [[-1.5, 2.0]]


Q1 = Question(
    id="q1", answer="linear_forward", args=("x", "weight", "bias"), reference=F.linear, points=3,
    title="A linear layer's forward pass",
    hint="nn.Linear stores weight as (out_features, in_features), so y = x @ weight.T + bias.",
    cases=(
        Case("one sample: 3 inputs -> 2 outputs", _one_sample_args, public=True,
             hint="each output is one row of weight dotted with x, plus its bias"),
        _linear_case("a batch of 4 images: 784 inputs -> 512 outputs", (4,), 784, 512, seed=10,
                     public=True, hint="the result has one row per sample and one column per output"),
        _linear_case("a single sample without a batch dimension: x of shape (3,)", (), 3, 2, seed=20,
                     hint="x @ weight.T + bias also works when x is one vector"),
        _linear_case("extra leading dimensions: x of shape (2, 5, 3)", (2, 5), 3, 4, seed=30,
                     hint="only the last dimension of x is the feature dimension"),
        _linear_case("no bias (bias=None, as in nn.Linear(3, 2, bias=False))", (4,), 3, 2, seed=40,
                     bias=False, hint="when bias is None, return x @ weight.T"),
        _linear_case("float64 inputs give a float64 result", (3,), 6, 5, seed=50, dtype=torch.float64,
                     hint="do not convert dtypes: compute with the tensors you are given"),
        _linear_case("an empty batch: x of shape (0, 3)", (0,), 3, 2, seed=60),
        _linear_case("one output: 256 inputs -> 1 output", (8,), 256, 1, seed=70),
    ),
)


# --------------------------------------------------------------------------- q2: count_parameters

def count_parameters_reference(layer_sizes):
    """Build the MLP on the meta device (no memory for the weights) and count what PyTorch counts."""
    sizes = list(layer_sizes)
    layers = [nn.Linear(n_in, n_out, device="meta") for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    return sum(p.numel() for p in nn.Sequential(*layers).parameters())


def _sizes_case(name, sizes, *, public=False, hint=""):
    def make_args(device):
        return (sizes[:],)  # a fresh copy: the answer may modify the list it is given
    return Case(name, make_args, public=public, hint=hint, cuda=False)


Q2 = Question(
    id="q2", answer="count_parameters", args=("layer_sizes",), reference=count_parameters_reference,
    points=3, title="Counting the parameters of an MLP",
    hint="nn.Linear(n_in, n_out) holds n_in * n_out weights and n_out biases; add these up over "
         "each pair of consecutive sizes.",
    cases=(
        _sizes_case("[784, 512, 10]: the MNIST MLP", [784, 512, 10], public=True,
                    hint="784 * 512 + 512 + 512 * 10 + 10"),
        _sizes_case("[3, 2]: a single layer", [3, 2], public=True, hint="3 * 2 weights and 2 biases"),
        _sizes_case("[5, 1]: one neuron with 5 inputs", [5, 1]),
        _sizes_case("[2, 3, 4, 5]: three layers", [2, 3, 4, 5],
                    hint="loop over every consecutive pair, not just the first two"),
        _sizes_case("a tuple (784, 256, 128, 10) instead of a list", (784, 256, 128, 10),
                    hint="accept any sequence of sizes"),
        _sizes_case("[10]: one size, so no layers and no parameters", [10],
                    hint="with a single size there is no pair of sizes, so the count is 0"),
        _sizes_case("[4096, 4096, 4096]: large layers", [4096, 4096, 4096]),
    ),
)


# --------------------------------------------------------------------------- q3: compose_linear

def compose_linear_reference(w1, b1, w2, b2):
    """y = (x W1ᵀ + b1) W2ᵀ + b2 = x (W2 W1)ᵀ + (W2 b1 + b2)."""
    return w2 @ w1, w2 @ b1 + b2


def _compose_case(name, n_in, n_hidden, n_out, seed, *, public=False, dtype=torch.float32, hint=""):
    def make_args(device):
        def draw(offset, *shape):
            return randn(seed + offset, *shape, dtype=dtype, device=device, scale=0.5)
        return draw(0, n_hidden, n_in), draw(1, n_hidden), draw(2, n_out, n_hidden), draw(3, n_out)
    return Case(name, make_args, public=public, hint=hint)


def _three_then_two_args(device):
    return (tensor([[3.0]], device=device), tensor([1.0], device=device),
            tensor([[2.0]], device=device), tensor([-1.0], device=device))  # W = [[6]], b = [1]


Q3 = Question(
    id="q3", answer="compose_linear", args=("w1", "b1", "w2", "b2"), reference=compose_linear_reference,
    points=4, returns=("W", "b"), title="Two linear layers are one linear layer",
    hint="substitute h = x W1ᵀ + b1 into y = h W2ᵀ + b2 and collect terms: W = W2 W1, b = W2 b1 + b2.",
    cases=(
        Case("weights 3 then 2 (biases 1 then -1)", _three_then_two_args, public=True,
             hint="y = 2 (3 x + 1) - 1 = 6 x + 1"),
        _compose_case("5 -> 4 -> 3", 5, 4, 3, seed=100, public=True,
                      hint="W has shape (out_features of layer 2, in_features of layer 1)"),
        _compose_case("1 -> 4 -> 2", 1, 4, 2, seed=110),
        _compose_case("784 -> 512 -> 10", 784, 512, 10, seed=120,
                      hint="the order matters: W2 @ W1, not W1 @ W2"),
        _compose_case("a wide hidden layer: 3 -> 64 -> 3", 3, 64, 3, seed=130),
        _compose_case("float64 weights give float64 results", 6, 5, 4, seed=140, dtype=torch.float64,
                      hint="do not convert dtypes: compute with the tensors you are given"),
    ),
)


EXERCISE_SET = ExerciseSet(name="01-neurons-and-layers", title="Neurons and layers", questions=(Q1, Q2, Q3))
