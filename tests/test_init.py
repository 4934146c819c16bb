"""nnbook.init equals torch.nn.init: gains, fans, bounds, and (same generator, same seed) the very
same random tensors; plus the statistics of the draws and the errors on bad input."""

import math

import pytest
import torch
import torch.nn.init as TI

import nnbook.init as init

NONLINEARITIES = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                  "conv_transpose3d", "sigmoid", "tanh", "relu", "leaky_relu", "selu"]
WEIGHT_SHAPES = [(7, 5), (6, 3, 4), (8, 2, 3, 3), (4, 3, 2, 2, 2)]  # linear, conv1d/2d/3d


@pytest.mark.parametrize("nonlinearity", NONLINEARITIES)
def test_calculate_gain_equals_torch(nonlinearity):
    assert init.calculate_gain(nonlinearity) == TI.calculate_gain(nonlinearity)


@pytest.mark.parametrize("slope", [0, 0.01, 0.2, 1, 3.5])
def test_leaky_relu_gain_uses_the_slope(slope):
    assert init.calculate_gain("leaky_relu", slope) == TI.calculate_gain("leaky_relu", slope)
    assert init.calculate_gain("leaky_relu", slope) == math.sqrt(2 / (1 + slope**2))


def test_textbook_gain_values():
    assert init.calculate_gain("relu") == math.sqrt(2)
    assert init.calculate_gain("tanh") == 5 / 3
    assert init.calculate_gain("leaky_relu") == math.sqrt(2 / (1 + 0.01**2))


@pytest.mark.parametrize("call,message", [
    (lambda m: m.calculate_gain("softplus"), "Unsupported nonlinearity"),
    (lambda m: m.calculate_gain("leaky_relu", True), "not a valid number"),
    (lambda m: m.calculate_gain("leaky_relu", "0.2"), "not a valid number"),
], ids=["unknown nonlinearity", "bool slope", "string slope"])
def test_bad_gain_arguments_raise_value_error_like_torch(call, message):
    with pytest.raises(ValueError, match=message):
        call(init)
    with pytest.raises(ValueError):
        call(TI)


@pytest.mark.parametrize("shape", WEIGHT_SHAPES)
def test_fan_in_and_fan_out_equal_torch(shape):
    weight = torch.empty(shape)
    assert init.calculate_fan_in_and_fan_out(weight) == TI._calculate_fan_in_and_fan_out(weight)


def test_fans_by_hand():
    receptive_field = 3 * 3
    assert init.calculate_fan_in_and_fan_out(torch.empty(64, 32, 3, 3)) == (32 * receptive_field,
                                                                           64 * receptive_field)
    assert init.calculate_fan_in_and_fan_out(torch.empty(13, 20)) == (20, 13)


@pytest.mark.parametrize("shape", [(), (5,)])
def test_fans_need_two_dimensions(shape):
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.calculate_fan_in_and_fan_out(torch.empty(shape))
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(torch.empty(shape))


# Each case: (name, keyword arguments). Both libraries get the same arguments.
RANDOM_INITS = [
    ("uniform_", {}), ("uniform_", {"a": -0.3, "b": 0.7}),
    ("normal_", {}), ("normal_", {"mean": 0.5, "std": 0.2}),
    ("xavier_uniform_", {}), ("xavier_uniform_", {"gain": 5 / 3}),
    ("xavier_normal_", {}), ("xavier_normal_", {"gain": math.sqrt(2)}),
    ("kaiming_uniform_", {}), ("kaiming_uniform_", {"a": math.sqrt(5)}),
    ("kaiming_uniform_", {"mode": "fan_out", "nonlinearity": "relu"}),
    ("kaiming_normal_", {}), ("kaiming_normal_", {"mode": "fan_out", "nonlinearity": "relu"}),
    ("kaiming_normal_", {"a": 0.2, "nonlinearity": "leaky_relu"}),
    ("kaiming_normal_", {"mode": "FAN_IN", "nonlinearity": "tanh"}),
]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("shape", WEIGHT_SHAPES)
@pytest.mark.parametrize("name,kwargs", RANDOM_INITS, ids=[f"{n}{k}" for n, k in RANDOM_INITS])
def test_same_generator_seed_gives_the_same_tensor_as_torch(name, kwargs, shape, dtype, device):
    # Equal down to the last bit: proves the bound / standard deviation is the same number.
    ours = torch.empty(shape, dtype=dtype, device=device)
    theirs = torch.empty(shape, dtype=dtype, device=device)
    getattr(init, name)(ours, **kwargs, generator=torch.Generator(device).manual_seed(7))
    getattr(TI, name)(theirs, **kwargs, generator=torch.Generator(device).manual_seed(7))
    assert torch.equal(ours, theirs)


def test_global_seed_also_reproduces_torch(device):
    torch.manual_seed(3)
    ours = init.kaiming_uniform_(torch.empty(20, 10, device=device), nonlinearity="relu")
    torch.manual_seed(3)
    theirs = TI.kaiming_uniform_(torch.empty(20, 10, device=device), nonlinearity="relu")
    assert torch.equal(ours, theirs)


# The target standard deviation of each scheme for a (fan_out=400, fan_in=300) weight.
FAN_IN, FAN_OUT = 300, 400
EXPECTED_STD = [
    ("xavier_uniform_", {}, math.sqrt(2 / (FAN_IN + FAN_OUT))),
    ("xavier_normal_", {"gain": 2.0}, 2 * math.sqrt(2 / (FAN_IN + FAN_OUT))),
    ("kaiming_uniform_", {"nonlinearity": "relu"}, math.sqrt(2 / FAN_IN)),
    ("kaiming_normal_", {"nonlinearity": "relu"}, math.sqrt(2 / FAN_IN)),
    ("kaiming_normal_", {"mode": "fan_out", "nonlinearity": "relu"}, math.sqrt(2 / FAN_OUT)),
    ("kaiming_uniform_", {"a": math.sqrt(5)}, 1 / math.sqrt(3 * FAN_IN)),  # nn.Linear's default
    ("normal_", {"std": 0.05}, 0.05),
    ("uniform_", {"a": -0.1, "b": 0.1}, 0.1 / math.sqrt(3)),
]


@pytest.mark.parametrize("name,kwargs,std", EXPECTED_STD,
                         ids=[f"{n}{k}" for n, k, _ in EXPECTED_STD])
def test_draws_have_the_intended_mean_and_standard_deviation(name, kwargs, std, device):
    weight = torch.empty(FAN_OUT, FAN_IN, dtype=torch.float64, device=device)
    getattr(init, name)(weight, **kwargs, generator=torch.Generator(device).manual_seed(0))
    # 120,000 draws: the sample std's standard error is at most 0.2% of the true std, so 1% is
    # about 5 standard errors; the mean must lie within 4 standard errors of 0.
    assert weight.std().item() == pytest.approx(std, rel=0.01)
    assert abs(weight.mean().item()) < 4 * std / math.sqrt(weight.numel())


@pytest.mark.parametrize("name,kwargs,bound", [
    ("xavier_uniform_", {}, math.sqrt(6 / (FAN_IN + FAN_OUT))),
    ("kaiming_uniform_", {"nonlinearity": "relu"}, math.sqrt(6 / FAN_IN)),
    ("kaiming_uniform_", {"a": math.sqrt(5)}, 1 / math.sqrt(FAN_IN)),
])
def test_uniform_schemes_fill_their_whole_interval_and_no_more(name, kwargs, bound, device):
    weight = torch.empty(FAN_OUT, FAN_IN, dtype=torch.float64, device=device)
    getattr(init, name)(weight, **kwargs, generator=torch.Generator(device).manual_seed(0))
    assert weight.abs().max().item() <= bound
    assert weight.max().item() > 0.999 * bound and weight.min().item() < -0.999 * bound


@pytest.mark.parametrize("call", [
    lambda w: init.uniform_(w), lambda w: init.normal_(w), lambda w: init.constant_(w, 0.3),
    lambda w: init.zeros_(w), lambda w: init.ones_(w), lambda w: init.xavier_uniform_(w),
    lambda w: init.xavier_normal_(w), lambda w: init.kaiming_uniform_(w),
    lambda w: init.kaiming_normal_(w),
], ids=["uniform_", "normal_", "constant_", "zeros_", "ones_", "xavier_uniform_",
        "xavier_normal_", "kaiming_uniform_", "kaiming_normal_"])
def test_initializers_fill_parameters_in_place_without_recording_a_graph(call, device):
    parameter = torch.nn.Parameter(torch.full((6, 4), 123.0, device=device))
    storage = parameter.data_ptr()
    result = call(parameter)
    assert result is parameter and parameter.data_ptr() == storage
    assert not torch.any(parameter == 123.0)
    assert result.grad_fn is None and parameter.requires_grad


def test_constants(device):
    weight = torch.empty(3, 2, device=device)
    assert torch.equal(init.constant_(weight, 0.25), torch.full((3, 2), 0.25, device=device))
    assert torch.equal(init.zeros_(weight), torch.zeros(3, 2, device=device))
    assert torch.equal(init.ones_(weight), torch.ones(3, 2, device=device))


@pytest.mark.parametrize("name", ["kaiming_uniform_", "kaiming_normal_"])
def test_kaiming_on_an_empty_tensor_warns_and_does_nothing(name):
    empty = torch.empty(0, 5)
    with pytest.warns(UserWarning, match="zero-element"):
        assert getattr(init, name)(empty) is empty


@pytest.mark.parametrize("name", ["kaiming_uniform_", "kaiming_normal_"])
def test_unknown_fan_mode_raises_value_error_like_torch(name):
    with pytest.raises(ValueError, match="fan_avg not supported"):
        getattr(init, name)(torch.empty(3, 4), mode="fan_avg")
    with pytest.raises(ValueError):
        getattr(TI, name)(torch.empty(3, 4), mode="fan_avg")


def test_unknown_nonlinearity_in_kaiming_raises():
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.kaiming_normal_(torch.empty(3, 4), nonlinearity="gelu")
