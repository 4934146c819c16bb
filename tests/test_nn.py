"""nnbook.nn equals torch.nn: initial weights, outputs, gradients, running statistics, state
dicts, train/eval behaviour and the errors on bad input."""

import pytest
import torch

import nnbook.nn as nn
from conftest import requires_torch_argument


def close(actual, expected):
    """float64: agree to ~1e-12; float32: torch.testing.assert_close defaults."""
    tolerance = {"rtol": 1e-12, "atol": 1e-12} if expected.dtype == torch.float64 else {}
    torch.testing.assert_close(actual, expected, **tolerance)


def assert_same_gradients(ours, theirs):
    for (name, mine), (reference_name, reference) in zip(ours.named_parameters(),
                                                         theirs.named_parameters()):
        assert name == reference_name
        close(mine.grad, reference.grad)


# --------------------------------------------------------------------------- Linear

@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_same_seed_gives_torchs_weights_outputs_and_gradients(bias, dtype, device):
    torch.manual_seed(0)
    ours = nn.Linear(20, 13, bias=bias, device=device, dtype=dtype)
    torch.manual_seed(0)
    theirs = torch.nn.Linear(20, 13, bias=bias, device=device, dtype=dtype)
    for (name, mine), (reference_name, reference) in zip(ours.named_parameters(),
                                                         theirs.named_parameters()):
        assert name == reference_name and torch.equal(mine, reference)
    x = torch.randn(2, 7, 20, dtype=dtype, device=device)  # extra leading dims are batch dims
    mine, reference = ours(x), theirs(x)
    close(mine, reference)
    upstream = torch.randn_like(reference)
    mine.backward(upstream)
    reference.backward(upstream)
    assert_same_gradients(ours, theirs)


def test_linear_init_bounds_are_one_over_sqrt_fan_in(device):
    layer = nn.Linear(400, 300, device=device, dtype=torch.float64)
    bound = 1 / 400**0.5
    for values in (layer.weight, layer.bias):
        assert values.abs().max().item() <= bound
        assert values.abs().max().item() > 0.95 * bound


def test_linear_state_dict_and_repr_are_interchangeable_with_torch(device):
    ours, theirs = nn.Linear(5, 3, device=device), torch.nn.Linear(5, 3, device=device)
    theirs.load_state_dict(ours.state_dict())
    assert torch.equal(theirs.weight, ours.weight)
    source = torch.nn.Linear(5, 3, device=device)
    ours.load_state_dict(source.state_dict())
    assert torch.equal(ours.weight, source.weight) and torch.equal(ours.bias, source.bias)
    assert repr(ours) == repr(theirs)
    assert repr(nn.Linear(2, 1, bias=False)) == repr(torch.nn.Linear(2, 1, bias=False))


def test_linear_rejects_the_wrong_number_of_features(device):
    with pytest.raises(RuntimeError, match="cannot be multiplied"):
        nn.Linear(4, 2, device=device)(torch.randn(3, 5, device=device))


# --------------------------------------------------------------------------- Dropout

def test_dropout_on_cpu_draws_exactly_torchs_mask():
    # On the CPU both flip the same Bernoulli(1 - p) coins; CUDA's fused kernel draws differently.
    x = torch.randn(50, 40, dtype=torch.float64)
    torch.manual_seed(5)
    mine = nn.Dropout(0.3)(x)
    torch.manual_seed(5)
    assert torch.equal(mine, torch.nn.Dropout(0.3)(x))


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_keeps_about_one_minus_p_and_scales_by_its_inverse(p, device):
    torch.manual_seed(0)
    x = torch.rand(200_000, dtype=torch.float64, device=device) + 1  # no zeros of its own
    y = nn.Dropout(p)(x)
    kept = y != 0
    # The kept fraction has standard error sqrt(p(1-p)/n) <= 0.0012; allow 5 of them.
    assert kept.double().mean().item() == pytest.approx(1 - p, abs=0.006)
    close(y[kept], x[kept] / (1 - p))
    # Inverted scaling keeps the expectation: E[y] = x, up to 5 standard errors of the mean.
    assert abs(y.mean() - x.mean()).item() < 5 * y.std().item() / len(y) ** 0.5


def test_dropout_gradient_is_the_scaled_mask(device):
    torch.manual_seed(0)
    x = torch.randn(100, 30, dtype=torch.float64, device=device, requires_grad=True)
    y = nn.Dropout(0.4)(x)
    y.sum().backward()
    expected = (y != 0).double() / 0.6
    close(x.grad, expected)


def test_dropout_in_eval_mode_returns_its_input(device):
    x = torch.randn(10, 4, device=device)
    assert nn.Dropout(0.5).eval()(x) is x


def test_dropout_with_p_zero_is_the_identity_and_p_one_zeroes_everything(device):
    x = torch.randn(10, 4, dtype=torch.float64, device=device, requires_grad=True)
    assert nn.Dropout(0.0)(x) is x
    y = nn.Dropout(1.0)(x)
    assert torch.equal(y, torch.zeros_like(x)) and not torch.isnan(y).any()
    y.sum().backward()
    assert torch.equal(x.grad, torch.zeros_like(x))
    close(y, torch.nn.Dropout(1.0)(x))


def test_inplace_dropout_overwrites_its_input(device):
    torch.manual_seed(0)
    x = torch.ones(1000, device=device)
    y = nn.Dropout(0.5, inplace=True)(x)
    assert y is x and set(torch.unique(x).tolist()) == {0.0, 2.0}


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_dropout_probability_outside_0_1_raises_value_error_like_torch(p):
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(p)
    with pytest.raises(ValueError):
        torch.nn.Dropout(p)


def test_dropout_repr_equals_torchs():
    assert repr(nn.Dropout(0.2, inplace=True)) == repr(torch.nn.Dropout(0.2, inplace=True))


# --------------------------------------------------------------------------- BatchNorm1d

# torch.nn.BatchNorm1d gained its bias= argument after torch 2.8: torch is given it only where it
# matters (affine, and no bias).
NEEDS_BATCHNORM_BIAS = requires_torch_argument(torch.nn.BatchNorm1d, "bias")


def batchnorm_pair(device, **options):
    ours = nn.BatchNorm1d(4, device=device, dtype=torch.float64, **options)
    if options.get("bias", True) or not options.get("affine", True):
        options.pop("bias", None)
    theirs = torch.nn.BatchNorm1d(4, device=device, dtype=torch.float64, **options)
    if ours.weight is not None:  # move gamma and beta away from 1 and 0 so that they matter
        with torch.no_grad():
            for module in (ours, theirs):
                module.weight.copy_(torch.linspace(0.5, 2.0, 4))
                if module.bias is not None:
                    module.bias.copy_(torch.linspace(-1.0, 1.0, 4))
    return ours, theirs


def assert_same_buffers(ours, theirs):
    for (name, mine), (reference_name, reference) in zip(ours.named_buffers(),
                                                         theirs.named_buffers()):
        assert name == reference_name
        if mine.is_floating_point():
            close(mine, reference)
        else:
            assert torch.equal(mine, reference)


def run_both(ours, theirs, x):
    """Forward and backward through both modules; assert equal outputs and input gradients."""
    x_ours, x_theirs = (x.clone().requires_grad_() for _ in range(2))
    mine, reference = ours(x_ours), theirs(x_theirs)
    close(mine, reference)
    upstream = torch.randn_like(reference)
    mine.backward(upstream)
    reference.backward(upstream)
    close(x_ours.grad, x_theirs.grad)


@pytest.mark.parametrize("affine,bias", [(True, True), pytest.param(True, False,
                                                                     marks=NEEDS_BATCHNORM_BIAS),
                                         (False, False)])
@pytest.mark.parametrize("momentum", [0.3, None])
@pytest.mark.parametrize("input_shape", [(8, 4), (5, 4, 3)])
def test_batchnorm_matches_torch_in_training_and_eval(input_shape, momentum, affine, bias, device):
    ours, theirs = batchnorm_pair(device, momentum=momentum, affine=affine, bias=bias)
    for step in range(3):  # several batches, so the running averages really average
        x = torch.randn(input_shape, dtype=torch.float64, device=device) * (step + 1) + step
        run_both(ours, theirs, x)
        assert_same_buffers(ours, theirs)
    if affine:
        assert_same_gradients(ours, theirs)
    assert ours.num_batches_tracked.item() == 3
    ours.eval(), theirs.eval()
    run_both(ours, theirs, torch.randn(input_shape, dtype=torch.float64, device=device))
    assert_same_buffers(ours, theirs)  # eval mode leaves the running statistics alone


def test_batchnorm_running_statistics_by_hand(device):
    layer = nn.BatchNorm1d(2, momentum=0.1, device=device, dtype=torch.float64)
    x = torch.tensor([[1.0, 10.0], [3.0, 10.0], [5.0, 16.0]], dtype=torch.float64, device=device)
    layer(x)
    # batch means (3, 12); unbiased variances (4, 12): running = 0.9 * old + 0.1 * batch
    close(layer.running_mean, torch.tensor([0.3, 1.2], dtype=torch.float64, device=device))
    close(layer.running_var, torch.tensor([0.9 + 0.4, 0.9 + 1.2], dtype=torch.float64,
                                          device=device))


def test_batchnorm_momentum_none_is_the_plain_average_of_batch_statistics(device):
    layer = nn.BatchNorm1d(3, momentum=None, device=device, dtype=torch.float64)
    batches = [torch.randn(6, 3, dtype=torch.float64, device=device) + i for i in range(4)]
    for batch in batches:
        layer(batch)
    close(layer.running_mean, torch.stack([b.mean(0) for b in batches]).mean(0))
    close(layer.running_var, torch.stack([b.var(0, unbiased=True) for b in batches]).mean(0))


@pytest.mark.parametrize("train", [True, False])
def test_batchnorm_without_running_stats_always_uses_the_batch(train, device):
    ours, theirs = batchnorm_pair(device, track_running_stats=False)
    ours.train(train), theirs.train(train)
    assert ours.running_mean is None and ours.num_batches_tracked is None
    run_both(ours, theirs, torch.randn(6, 4, 2, dtype=torch.float64, device=device))


@pytest.mark.parametrize("eps", [1e-3, 0.5, 4.0])
def test_batchnorm_uses_its_eps_like_torch(eps, device):
    # eps comparable to the variance, so that an eps ignored, or added outside the square root,
    # changes every output; in eval mode the running variance meets eps too.
    ours, theirs = batchnorm_pair(device, eps=eps, momentum=0.5)
    assert ours.eps == eps
    x = torch.randn(8, 4, 3, dtype=torch.float64, device=device) * 0.5
    run_both(ours, theirs, x)
    assert_same_buffers(ours, theirs)
    ours.eval(), theirs.eval()
    run_both(ours, theirs, x)
    by_hand = (x - ours.running_mean.view(1, -1, 1)) / torch.sqrt(
        ours.running_var.view(1, -1, 1) + eps) * ours.weight.view(1, -1, 1) + ours.bias.view(
        1, -1, 1)
    close(ours(x), by_hand)


def test_batchnorm_loads_a_checkpoint_from_before_num_batches_tracked(device):
    # torch.nn.BatchNorm1d's state-dict version 1 (torch < 0.4.1) had no num_batches_tracked;
    # torch fills in 0 (or keeps the module's count), and so must we.
    ours, theirs = batchnorm_pair(device)
    source = batchnorm_pair(device)[1]
    source(torch.randn(8, 4, dtype=torch.float64, device=device))
    state = source.state_dict()
    del state["num_batches_tracked"]
    state._metadata[""]["version"] = 1
    for module in (ours, theirs):
        module.load_state_dict(state)
    assert_same_buffers(ours, theirs)
    assert ours.num_batches_tracked.item() == 0


def test_batchnorm_float32_matches_torch(device):
    ours, theirs = nn.BatchNorm1d(4, device=device), torch.nn.BatchNorm1d(4, device=device)
    run_both(ours, theirs, torch.randn(16, 4, 5, device=device) * 3 + 2)
    assert_same_buffers(ours, theirs)


def test_batchnorm_state_dicts_load_both_ways(device):
    ours, theirs = batchnorm_pair(device)
    theirs(torch.randn(8, 4, dtype=torch.float64, device=device))  # give it non-default stats
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(theirs.state_dict())
    assert_same_buffers(ours, theirs)
    ours.eval(), theirs.eval()
    run_both(ours, theirs, torch.randn(3, 4, dtype=torch.float64, device=device))
    theirs.load_state_dict(nn.BatchNorm1d(4, device=device, dtype=torch.float64).state_dict())
    assert theirs.num_batches_tracked.item() == 0


@pytest.mark.parametrize("options", [{}, {"affine": False, "track_running_stats": False},
                                     {"momentum": None, "eps": 1e-3}])
@NEEDS_BATCHNORM_BIAS  # older torch leaves bias= out of the repr
def test_batchnorm_repr_equals_torchs(options):
    assert repr(nn.BatchNorm1d(3, **options)) == repr(torch.nn.BatchNorm1d(3, **options))


@pytest.mark.parametrize("shape", [(1, 4), (1, 4, 1)])
def test_batchnorm_refuses_one_value_per_channel_in_training_like_torch(shape, device):
    x = torch.randn(shape, device=device)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(4, device=device)(x)
    with pytest.raises(ValueError):
        torch.nn.BatchNorm1d(4, device=device)(x)
    nn.BatchNorm1d(4, device=device).eval()(x)  # running statistics need no batch


@pytest.mark.parametrize("shape", [(4,), (2, 4, 3, 3)])
def test_batchnorm1d_rejects_other_ranks_like_torch(shape, device):
    x = torch.randn(shape, device=device)
    with pytest.raises(ValueError, match="expected 2D or 3D input"):
        nn.BatchNorm1d(4, device=device)(x)
    with pytest.raises(ValueError):
        torch.nn.BatchNorm1d(4, device=device)(x)


def test_batchnorm_rejects_the_wrong_number_of_channels(device):
    x = torch.randn(8, 5, device=device)
    with pytest.raises(RuntimeError, match="expected 4 channels"):
        nn.BatchNorm1d(4, device=device)(x)
    with pytest.raises(RuntimeError):
        torch.nn.BatchNorm1d(4)(x.cpu())  # on the CPU: CUDA's message comes from another check
