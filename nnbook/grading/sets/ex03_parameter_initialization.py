"""Exercise set 3, "Parameter initialization": the questions of solutions/03-parameter-initialization.ipynb.

q1 ``fans(shape)``                                 fan-in and fan-out of a weight shape (linear or
                                                   convolution); a clear ValueError below 2-D
q2 ``predicted_rms(depth, fan_in, weight_std,      predict, before measuring, the size of the
   negative_slope)``                               signal after ``depth`` leaky-ReLU layers
q3 ``he_normal_(tensor, positive_slope,            derive the He standard deviation for an
   negative_slope, mode, generator)``              activation with two slopes; fill in place under
                                                   no_grad, returning the tensor
q4 ``count_distinct_units(weight, bias, atol)``    detect symmetry in a trained layer

Public cases are the ones the notebook's check cells run; the others are instructor cases that
only the grader runs (unusual shapes, 1-D tensors, float64, parameters that require gradients; the
in-place question is repeated on the GPU, by what it can check there, when one is present).
"""

import math

import torch

from nnbook.grading.inputs import randn
from nnbook.grading.questions import Case, ExerciseSet, Question


# --------------------------------------------------------------------------- q1: fans

def fans_reference(shape):
    """(fan_in, fan_out) = (in · receptive field, out · receptive field) for (out, in, k1, ...)."""
    shape = tuple(shape)
    if len(shape) < 2:
        raise ValueError(f"fan-in and fan-out need a shape of at least 2 dimensions, got {shape}")
    receptive_field = math.prod(shape[2:])
    return shape[1] * receptive_field, shape[0] * receptive_field


def _run_fans(answer, args):
    """The answer's (fan_in, fan_out), or the name of the exception it raised for a bad shape."""
    (shape,) = args
    try:
        return tuple(answer(shape))
    except ValueError:
        return "ValueError"


def _fans_case(name, shape, *, public=False, hint=""):
    return Case(name, lambda device: (tuple(shape),), public=public, hint=hint, cuda=False)


Q1 = Question(
    id="q1", answer="fans", args=("shape",), reference=fans_reference, points=2, call=_run_fans,
    returns=("fan_in", "fan_out"), title="Warm-up: fan-in and fan-out of any weight",
    hint="for each number in the shape, ask which neuron it belongs to: the one that receives, "
         "the one that sends, or the window both share. Only the type of the error is graded.",
    cases=(
        _fans_case("nn.Linear(784, 512).weight: shape (512, 784)", (512, 784), public=True,
                   hint="the weight of a linear layer is (out_features, in_features)"),
        _fans_case("nn.Conv2d(3, 16, 5).weight: shape (16, 3, 5, 5)", (16, 3, 5, 5), public=True,
                   hint="each output of a convolution sums over every input channel and every "
                        "position of its window"),
        _fans_case("a 1-D bias of shape (10,) has no fans: raise ValueError", (10,), public=True,
                   hint="raise ValueError, as torch.nn.init does, when there is no (out, in) pair"),
        _fans_case("a square layer (64, 64)", (64, 64)),
        _fans_case("nn.Conv1d(8, 4, 3).weight: shape (4, 8, 3)", (4, 8, 3)),
        _fans_case("nn.Conv3d(2, 6, (3, 4, 5)).weight: shape (6, 2, 3, 4, 5)", (6, 2, 3, 4, 5),
                   hint="a window with several dimensions covers the product of their sizes"),
        _fans_case("a 1x1 convolution (32, 16, 1, 1)", (32, 16, 1, 1)),
        _fans_case("a scalar of shape () has no fans either", (),
                   hint="any shape with fewer than two dimensions is an error"),
        _fans_case("one output, one input (1, 1)", (1, 1)),
    ),
)


# --------------------------------------------------------------------------- q2: predicted_rms

def predicted_rms_reference(depth, fan_in, weight_std, negative_slope):
    r"""sqrt(E[h_L²]) for unit-variance inputs: each layer multiplies E[h²] by
    fan_in · weight_std² · (1 + negative_slope²) / 2."""
    return (fan_in * weight_std**2 * (1 + negative_slope**2) / 2) ** (depth / 2)


def _rms_case(name, depth, fan_in, weight_std, negative_slope, *, public=False, hint=""):
    return Case(name, lambda device: (depth, fan_in, weight_std, negative_slope), public=public,
                hint=hint, cuda=False)


Q2 = Question(
    id="q2", answer="predicted_rms", args=("depth", "fan_in", "weight_std", "negative_slope"),
    reference=predicted_rms_reference, points=3, title="Predict the size of the signal",
    hint="follow the mean square E[h²] through one layer: first through the weighted sum, then "
         "through the activation, treating negative and positive pre-activations separately.",
    cases=(
        _rms_case("ReLU, He's std: 10 layers of 256", 10, 256, math.sqrt(2 / 256), 0.0, public=True,
                  hint="He's std was chosen to keep the signal's size: what should you get?"),
        _rms_case("ReLU, std 0.05: 20 layers of 512", 20, 512, 0.05, 0.0, public=True),
        _rms_case("slope 1 (no bend at all), std 1/sqrt(fan_in)", 7, 100, 0.1, 1.0, public=True,
                  hint="with slope 1 the activation does nothing"),
        _rms_case("leaky ReLU 0.2, std 0.1, 5 layers of 300", 5, 300, 0.1, 0.2,
                  hint="the negative half is scaled by the slope, not removed"),
        _rms_case("no layers at all", 0, 64, 0.3, 0.0, hint="zero layers leave the input as it is"),
        _rms_case("one layer of 1 unit", 1, 1, 1.0, 0.0),
        _rms_case("leaky ReLU 0.01 with He's ReLU std, 50 layers", 50, 128, math.sqrt(2 / 128), 0.01),
        _rms_case("a negative slope -0.5 (folds the negative half over)", 12, 64, 0.15, -0.5,
                  hint="only the square of the slope can matter"),
        _rms_case("standard-normal weights: 10 layers of 100", 10, 100, 1.0, 0.0),
    ),
)


# --------------------------------------------------------------------------- q3: he_normal_

def he_normal_reference(tensor, positive_slope=1.0, negative_slope=0.0, mode="fan_in",
                        generator=None):
    r"""N(0, σ²) in place under no_grad, for f(z) = p·z (z > 0), n·z (z ≤ 0): E[f(z)²] =
    (p² + n²)/2 · E[z²] for a symmetric z, so σ = sqrt(2 / (p² + n²)) / sqrt(fan)."""
    fan_in, fan_out = fans_reference(tensor.shape)
    fan = {"fan_in": fan_in, "fan_out": fan_out}[mode]
    std = math.sqrt(2.0 / (positive_slope**2 + negative_slope**2)) / math.sqrt(fan)
    with torch.no_grad():
        return tensor.normal_(0.0, std, generator=generator)


def _target_std(shape, positive_slope, negative_slope, mode):
    fan_in, fan_out = fans_reference(shape)
    fan = {"fan_in": fan_in, "fan_out": fan_out}[mode]
    return math.sqrt(2.0 / (positive_slope**2 + negative_slope**2) / fan)


def _run_he_normal(answer, args):
    shape, dtype, positive_slope, negative_slope, mode, seed, device, exact = args
    tensor = torch.empty(shape, dtype=dtype, device=device, requires_grad=True)
    generator = torch.Generator(device=device).manual_seed(seed)
    try:
        result = answer(tensor, positive_slope, negative_slope, mode, generator)
    except ValueError:
        return "ValueError"
    same = result is tensor
    kept = (tensor.is_leaf and tensor.requires_grad and tensor.dtype == dtype
            and tensor.device.type == torch.device(device).type)
    if exact:  # the same generator draws the same numbers on the CPU: compare them all
        return same, kept, tensor.detach().clone()
    # On another device the draws differ: compare the spread, to one decimal, with the target's.
    target = _target_std(shape, positive_slope, negative_slope, mode)
    return same, kept, round(tensor.detach().std().item() / target, 1)


def _he_case(name, shape, positive_slope=1.0, negative_slope=0.0, mode="fan_in", *, seed=0,
             dtype=torch.float32, public=False, exact=True, hint=""):
    def make_args(device):
        return shape, dtype, positive_slope, negative_slope, mode, seed, str(device), exact
    return Case(name, make_args, public=public, hint=hint, cuda=not exact)


Q3 = Question(
    id="q3", answer="he_normal_",
    args=("tensor", "positive_slope", "negative_slope", "mode", "generator"),
    reference=he_normal_reference, points=3, call=_run_he_normal,
    returns=("returned the same tensor", "still a leaf that requires grad, same dtype and device",
             "the values"),
    title="Derive an initializer, then write it in place",
    hint="derive first: what fraction of E[z²] survives the activation when each half of a "
         "symmetric z is scaled by its own slope? Then the tensor you were given must be filled "
         "and returned, also when it is a parameter.",
    cases=(
        _he_case("the ReLU (slopes 1 and 0), weight (256, 128), fan_in", (256, 128), public=True,
                 hint="with slopes 1 and 0 this is the chapter's ReLU"),
        _he_case("a leaky ReLU (1, 0.2), fan_out, weight (64, 32)", (64, 32), 1.0, 0.2, "fan_out",
                 seed=1, public=True, hint="the slopes change the gain; the mode changes the fan"),
        _he_case("a ReLU scaled by 3 (slopes 3 and 0)", (40, 60), 3.0, 0.0, seed=8, public=True,
                 hint="a steeper positive half lets less variance through the weights"),
        _he_case("the absolute value (slopes 1 and -1), conv weight (16, 3, 5, 5)", (16, 3, 5, 5),
                 1.0, -1.0, seed=2, hint="a negative slope keeps the square of its half"),
        _he_case("a conv weight (8, 4, 3, 3), fan_out, slopes (0.5, 0.1)", (8, 4, 3, 3), 0.5, 0.1,
                 "fan_out", seed=3),
        _he_case("a linear layer scaled by 0.5 (slopes 0.5 and 0.5)", (30, 20), 0.5, 0.5, seed=9,
                 hint="two equal slopes: the activation is a plain scaling"),
        _he_case("float64 stays float64", (50, 70), seed=4, dtype=torch.float64,
                 hint="fill the tensor you were given; do not make a new one"),
        _he_case("a 1-D tensor has no fans: ValueError", (10,), seed=5,
                 hint="a tensor with fewer than 2 dimensions should raise ValueError"),
        _he_case("a single weight (1, 1)", (1, 1), seed=6),
        _he_case("a large weight, by its spread (also on the GPU when present)", (512, 512), 1.0,
                 0.3, "fan_out", seed=7, exact=False,
                 hint="the sample standard deviation should be close to the one you aimed for"),
    ),
)


# --------------------------------------------------------------------------- q4: count_distinct_units

def count_distinct_units_reference(weight, bias, atol=1e-6):
    """Units i and j are the same when row i of [W | b] equals row j within atol everywhere;
    count the groups (greedily, in order: each unit joins the first group whose first unit it
    matches, or starts a new group)."""
    rows = torch.cat([weight, bias.unsqueeze(1)], dim=1)
    representatives = []
    for row in rows:
        if not any(torch.all((row - other).abs() <= atol) for other in representatives):
            representatives.append(row)
    return len(representatives)


def _units_case(name, make, *, atol=1e-6, public=False, dtype=torch.float32, hint=""):
    def make_args(device):
        weight, bias = make()
        return weight.to(dtype).to(device), bias.to(dtype).to(device), atol
    return Case(name, make_args, public=public, hint=hint)


def _all_equal():
    row = randn(400, 1, 5)
    return row.repeat(6, 1), torch.full((6,), 0.3)


def _random():
    return randn(401, 8, 5), randn(402, 8)


def _two_groups():
    a, b = randn(403, 1, 4), randn(404, 1, 4)
    return torch.cat([a, b, a, a, b]), torch.tensor([0.1, -0.2, 0.1, 0.1, -0.2])


def _same_weights_other_bias():
    row = randn(405, 1, 3)
    return row.repeat(3, 1), torch.tensor([0.0, 0.5, 0.0])


def _nearly_equal():
    row = randn(406, 1, 6).to(torch.float64)
    noise = randn(407, 4, 6, dtype=torch.float64, scale=1e-9)
    return row.repeat(4, 1) + noise, torch.zeros(4, dtype=torch.float64)


def _sign_flipped():
    row = randn(408, 1, 4)
    return torch.cat([row, -row]), torch.zeros(2)


def _one_unit():
    return randn(409, 1, 7), randn(410, 1)


def _no_units():
    return torch.zeros(0, 3), torch.zeros(0)


def _trained_symmetric():
    """What 50 steps of training do to a 2 -> 4 -> 2 tanh network started with every weight 0.5."""
    g = torch.Generator().manual_seed(411)
    x = torch.randn(32, 2, generator=g)
    y = (x[:, 0] * x[:, 1] > 0).long()
    hidden, output = torch.nn.Linear(2, 4), torch.nn.Linear(4, 2)
    with torch.no_grad():
        for p in [*hidden.parameters(), *output.parameters()]:
            p.fill_(0.5)
    for _ in range(50):
        loss = torch.nn.functional.cross_entropy(output(torch.tanh(hidden(x))), y)
        hidden.zero_grad()
        output.zero_grad()
        loss.backward()
        with torch.no_grad():
            for p in [*hidden.parameters(), *output.parameters()]:
                p -= 0.5 * p.grad
    return hidden.weight.detach().clone(), hidden.bias.detach().clone()


Q4 = Question(
    id="q4", answer="count_distinct_units", args=("weight", "bias", "atol"),
    reference=count_distinct_units_reference, points=3, title="Detect symmetry in a trained layer",
    hint="a hidden unit is everything that decides what it computes; two units are the same when "
         "all of that agrees, to within the tolerance.",
    cases=(
        _units_case("six copies of one unit", _all_equal, public=True,
                    hint="identical units compute the same function: they count once"),
        _units_case("eight random units", _random, public=True),
        _units_case("a layer trained from all-0.5 weights", _trained_symmetric, public=True,
                    hint="what does the chapter prove about units that start equal?"),
        _units_case("two kinds of unit, interleaved", _two_groups,
                    hint="equal units need not be next to each other"),
        _units_case("equal weights but different biases", _same_weights_other_bias,
                    hint="the bias is part of what a unit computes"),
        _units_case("equal up to rounding noise of 1e-9 (float64)", _nearly_equal, atol=1e-6,
                    dtype=torch.float64, hint="compare within atol, not with =="),
        _units_case("the same noise with atol 1e-12: all different", _nearly_equal, atol=1e-12,
                    dtype=torch.float64, hint="atol decides how close is equal"),
        _units_case("a unit and its negative", _sign_flipped,
                    hint="a unit with every weight negated computes something else"),
        _units_case("a layer of one unit", _one_unit),
        _units_case("a layer with no units", _no_units, hint="no units: nothing to count"),
    ),
)


EXERCISE_SET = ExerciseSet(name="03-parameter-initialization", title="Parameter initialization",
                           questions=(Q1, Q2, Q3, Q4))
