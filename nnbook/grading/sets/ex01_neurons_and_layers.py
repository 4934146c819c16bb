"""Exercise set 1, "Neurons and layers": the questions of solutions/01-neurons-and-layers.ipynb.

q1 ``linear_forward(x, weight, bias)``     warm-up: a linear layer's forward pass, y = x Wᵀ + b
q2 ``hat_parameters(center, height)``      set by hand the weights of a 1 → 3 → 1 ReLU network
                                           that draws a hat; graded by what the network computes
q3 ``SkipNet(n_in, n_hidden, n_out)``      an nn.Module written from a diagram; graded by its
                                           parameter names and shapes and by its outputs
q4 ``collapse(weights, biases)``           any stack of linear layers as one (W, b)
q5 ``rank_limit(layer_sizes)``             the largest rank a collapsed linear stack can have

Public cases are the ones the notebook's check cells run; the others are instructor cases that
only the grader runs (edge cases, other dtypes and shapes; every case also checks that the inputs
were not modified, and tensor cases are repeated on the GPU when one is present).
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
    id="q1", answer="linear_forward", args=("x", "weight", "bias"), reference=F.linear, points=2,
    title="Warm-up: a linear layer's forward pass",
    hint="weight holds one row per output neuron; check the shapes of every product you write.",
    cases=(
        Case("one sample: 3 inputs -> 2 outputs", _one_sample_args, public=True,
             hint="each output is one neuron: its row of weight dotted with x, plus its bias"),
        _linear_case("a batch of 4 images: 784 inputs -> 512 outputs", (4,), 784, 512, seed=10,
                     public=True, hint="the result has one row per sample and one column per output"),
        _linear_case("a single sample without a batch dimension: x of shape (3,)", (), 3, 2, seed=20,
                     hint="your formula should not depend on x having a batch dimension"),
        _linear_case("extra leading dimensions: x of shape (2, 5, 3)", (2, 5), 3, 4, seed=30,
                     hint="only the last dimension of x is the feature dimension"),
        _linear_case("no bias (bias=None, as in nn.Linear(3, 2, bias=False))", (4,), 3, 2, seed=40,
                     bias=False, public=True, hint="a layer built with bias=False adds nothing"),
        _linear_case("float64 inputs give a float64 result", (3,), 6, 5, seed=50, dtype=torch.float64,
                     hint="do not convert dtypes: compute with the tensors you are given"),
        _linear_case("an empty batch: x of shape (0, 3)", (0,), 3, 2, seed=60),
        _linear_case("one output: 256 inputs -> 1 output", (8,), 256, 1, seed=70),
    ),
)


# --------------------------------------------------------------------------- q2: hat_parameters

def hat(x, center, height):
    """The hat: height · max(0, 1 − |x − center|), zero outside [center − 1, center + 1]."""
    return height * torch.clamp(1 - (x - center).abs(), min=0)


def hat_parameters_reference(center, height):
    """relu(x − c + 1) − 2 relu(x − c) + relu(x − c − 1) is the hat of height 1 at c."""
    W1 = torch.ones(3, 1)
    b1 = torch.tensor([1.0 - center, -center, -1.0 - center])
    W2 = height * torch.tensor([[1.0, -2.0, 1.0]])
    b2 = torch.zeros(1)
    return W1, b1, W2, b2


def one_hidden_relu_network(parameters, hidden):
    """nn.Sequential(Linear(1, hidden), ReLU(), Linear(hidden, 1)) holding the learner's four tensors
    (W1, b1, W2, b2), each checked against its shape (b2 may also be a single number, shape ())."""
    if not isinstance(parameters, (tuple, list)) or len(parameters) != 4:
        raise ValueError("return the four tensors (W1, b1, W2, b2) as a tuple")
    net = nn.Sequential(nn.Linear(1, hidden), nn.ReLU(), nn.Linear(hidden, 1))
    shapes = {"W1": (hidden, 1), "b1": (hidden,), "W2": (1, hidden), "b2": (1,)}
    targets = (net[0].weight, net[0].bias, net[2].weight, net[2].bias)
    with torch.no_grad():
        for (name, shape), target, value in zip(shapes.items(), targets, parameters):
            value = torch.as_tensor(value, dtype=torch.float32).detach().cpu()
            if name == "b2" and value.shape == ():
                value = value.reshape(1)          # a single number: shape () is fine too
            if tuple(value.shape) != shape:
                raise ValueError(f"{name} should have shape {shape}, but it has {tuple(value.shape)}")
            target.copy_(value)
    return net


def hat_network(parameters):
    """nn.Sequential(Linear(1, 3), ReLU(), Linear(3, 1)) holding the four given tensors."""
    return one_hidden_relu_network(parameters, 3)


def _run_hat(answer, args):
    center, height = args
    net = hat_network(answer(center, height))
    x = torch.linspace(center - 3, center + 3, 61).unsqueeze(1)
    with torch.no_grad():
        return net(x).squeeze(1)


def _hat_case(name, center, height, *, public=False, hint=""):
    return Case(name, lambda device: (center, height), public=public, hint=hint, cuda=False)


Q2 = Question(
    id="q2", answer="hat_parameters", args=("center", "height"), reference=hat_parameters_reference,
    points=3, call=_run_hat, title="A hat made of three ReLUs",
    hint="the network's output is a sum of hinges; each hinge adds a kink where its hidden unit "
         "switches on, and the output weight sets how much the slope changes there.",
    cases=(
        _hat_case("a hat of height 1 at 0", 0.0, 1.0, public=True,
                  hint="left of -1 the slope is 0, between -1 and 0 it is 1, between 0 and 1 it is -1"),
        _hat_case("a hat of height 2 at 3", 3.0, 2.0, public=True,
                  hint="moving the hat moves every kink: where does each unit switch on now?"),
        _hat_case("a hat of height 0.5 at -1.5", -1.5, 0.5),
        _hat_case("an upside-down hat: height -1 at 0.5", 0.5, -1.0,
                  hint="a negative height flips every slope"),
        _hat_case("a flat hat: height 0", 2.0, 0.0),
        _hat_case("far from the origin: height 3 at 40", 40.0, 3.0,
                  hint="the network must be exactly 0 far to the right as well as to the left"),
    ),
)


# --------------------------------------------------------------------------- q3: SkipNet

def _fill_by_name(model):
    """Give every parameter deterministic values chosen by its name, so that two models with the
    same parameter names and shapes compute the same function."""
    with torch.no_grad():
        for index, (name, p) in enumerate(sorted(model.named_parameters())):
            p.copy_(randn(1000 + index, *p.shape, scale=0.5).to(p.device, p.dtype))


def _run_skipnet(cls, args):
    n_in, n_hidden, n_out, x = args
    model = cls(n_in, n_hidden, n_out)
    if not isinstance(model, nn.Module):
        raise TypeError(f"SkipNet(...) should build an nn.Module, but it built a {type(model).__name__}")
    shapes = [[name, list(p.shape)] for name, p in sorted(model.named_parameters())]
    model = model.to(x.device)
    _fill_by_name(model)
    with torch.no_grad():
        return shapes, model(x)


class SkipNetReference(nn.Module):
    """y = output(relu(hidden(x))) + skip(x), the skip layer without a bias."""

    def __init__(self, n_in, n_hidden, n_out):
        super().__init__()
        self.hidden = nn.Linear(n_in, n_hidden)
        self.output = nn.Linear(n_hidden, n_out)
        self.skip = nn.Linear(n_in, n_out, bias=False)

    def forward(self, x):
        return self.output(torch.relu(self.hidden(x))) + self.skip(x)


def _skip_case(name, n_in, n_hidden, n_out, batch, seed, *, public=False, dtype=torch.float32,
               hint=""):
    def make_args(device):
        return n_in, n_hidden, n_out, randn(seed, batch, n_in, dtype=dtype, device=device)
    return Case(name, make_args, public=public, hint=hint)


Q3 = Question(
    id="q3", answer="SkipNet", args=("n_in", "n_hidden", "n_out", "x"), reference=SkipNetReference,
    points=4, call=_run_skipnet, returns=("parameter names and shapes", "output"),
    title="A model from a diagram",
    hint="compare your parameter names and shapes with the diagram's boxes, then follow each arrow "
         "of the diagram in forward.",
    cases=(
        _skip_case("4 -> 8 -> 3, a batch of 5", 4, 8, 3, 5, seed=200, public=True,
                   hint="the names come from the attributes you assign in __init__"),
        _skip_case("2 -> 16 -> 2, a batch of 7", 2, 16, 2, 7, seed=210, public=True,
                   hint="both paths start at x and meet at the sum"),
        _skip_case("1 -> 1 -> 1, a batch of 3", 1, 1, 1, 3, seed=220),
        _skip_case("784 -> 32 -> 10, a batch of 4", 784, 32, 10, 4, seed=230),
        _skip_case("a narrow hidden layer: 6 -> 2 -> 5", 6, 2, 5, 9, seed=240,
                   hint="the skip path goes straight from the inputs to the outputs"),
        _skip_case("a batch of 1", 3, 4, 2, 1, seed=250),
    ),
)


# --------------------------------------------------------------------------- q4: collapse

def collapse_reference(weights, biases):
    """y = W_L(...(W_2(W_1 x + b_1) + b_2)...) + b_L as one layer: fold the layers in one by one."""
    W, b = weights[0], biases[0]
    for weight, bias in zip(weights[1:], biases[1:]):
        W, b = weight @ W, weight @ b + bias
    return W, b


def _stack_case(name, sizes, seed, *, public=False, dtype=torch.float32, hint=""):
    def make_args(device):
        pairs = list(zip(sizes[:-1], sizes[1:]))
        weights = [randn(seed + 2 * k, n_out, n_in, dtype=dtype, device=device, scale=n_in ** -0.5)
                   for k, (n_in, n_out) in enumerate(pairs)]
        biases = [randn(seed + 2 * k + 1, n_out, dtype=dtype, device=device, scale=0.5)
                  for k, (_, n_out) in enumerate(pairs)]
        return weights, biases
    return Case(name, make_args, public=public, hint=hint)


def _three_then_two_args(device):
    return ([tensor([[3.0]], device=device), tensor([[2.0]], device=device)],
            [tensor([1.0], device=device), tensor([-1.0], device=device)])  # y = 6 x + 1


Q4 = Question(
    id="q4", answer="collapse", args=("weights", "biases"), reference=collapse_reference, points=3,
    returns=("W", "b"), title="Any stack of linear layers is one layer",
    hint="write what the first two layers give as one layer; then that layer and the third are "
         "again two layers.",
    cases=(
        Case("weights 3 then 2 (biases 1 then -1)", _three_then_two_args, public=True,
             hint="y = 2 (3 x + 1) - 1"),
        _stack_case("three layers: 5 -> 4 -> 3 -> 2", [5, 4, 3, 2], seed=300, public=True,
                    hint="W has shape (out_features of the last layer, in_features of the first)"),
        _stack_case("one layer: nothing to merge", [4, 3], seed=310,
                    hint="a stack of one layer is that layer"),
        _stack_case("five layers: 3 -> 6 -> 6 -> 6 -> 6 -> 2", [3, 6, 6, 6, 6, 2], seed=320,
                    hint="every bias is carried through every later layer"),
        _stack_case("784 -> 2 -> 10", [784, 2, 10], seed=330,
                    hint="the order matters: the last layer's weight is on the left"),
        _stack_case("float64 layers give float64 results", [6, 5, 4, 3], seed=340,
                    dtype=torch.float64, hint="do not convert dtypes"),
    ),
)


# --------------------------------------------------------------------------- q5: rank_limit

def rank_limit_reference(layer_sizes):
    """Measured, not reasoned: collapse random float64 layers and ask torch for the rank."""
    sizes = list(layer_sizes)
    generator = torch.Generator().manual_seed(0)
    W = torch.eye(sizes[0], dtype=torch.float64)
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        W = torch.randn(n_out, n_in, generator=generator, dtype=torch.float64) @ W
    return int(torch.linalg.matrix_rank(W))


def _rank_case(name, sizes, *, public=False, hint=""):
    return Case(name, lambda device: (list(sizes),), public=public, hint=hint, cuda=False)


Q5 = Question(
    id="q5", answer="rank_limit", args=("layer_sizes",), reference=rank_limit_reference, points=2,
    title="What a narrow layer costs",
    hint="every output of the stack is computed from the numbers that pass through each layer in "
         "turn; how many independent directions can survive a layer of width k?",
    cases=(
        _rank_case("784 -> 2 -> 10", [784, 2, 10], public=True),
        _rank_case("5 -> 8 -> 3", [5, 8, 3], public=True,
                   hint="what can the last layer's matrix do on its own?"),
        _rank_case("one layer 10 -> 10", [10, 10]),
        _rank_case("3 -> 100 -> 100 -> 3", [3, 100, 100, 3]),
        _rank_case("a bottleneck: 50 -> 3 -> 50", [50, 3, 50]),
        _rank_case("100 -> 5 -> 200 -> 6 -> 80", [100, 5, 200, 6, 80],
                   hint="look at every layer, not only the first and the last"),
        _rank_case("the input is narrowest: 4 -> 30 -> 40", [4, 30, 40],
                   hint="think about the columns of W as well as its rows"),
        _rank_case("a single size: no layers, the identity", [7],
                   hint="a stack with no layers passes its input through unchanged"),
    ),
)


EXERCISE_SET = ExerciseSet(name="01-neurons-and-layers", title="Neurons and layers",
                           questions=(Q1, Q2, Q3, Q4, Q5))
