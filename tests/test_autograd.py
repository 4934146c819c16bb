"""nnbook.autograd: every operation's gradient equals torch.autograd's in float64, a node used twice
gets both contributions, the worked network's gradients and a whole training run match PyTorch,
and bad input gets a clear error."""

import pytest
import torch

import nnbook.backprop as bp
from nnbook.autograd import Value, cross_entropy, linear, parameters_of


def close(actual, expected, tolerance=1e-12):
    torch.testing.assert_close(actual, expected, rtol=tolerance, atol=tolerance)


def randn(*shape, device="cpu"):
    return torch.randn(*shape, dtype=torch.float64, device=device)


def both(fn_values, fn_torch, *inputs):
    """Run one expression in nnbook.autograd and in torch.autograd; return both sets of grads."""
    values = [Value(x, requires_grad=True) for x in inputs]
    fn_values(*values).backward()
    tensors = [x.clone().requires_grad_() for x in inputs]
    fn_torch(*tensors).backward()
    return [v.grad for v in values], [t.grad for t in tensors]


OPS = {
    "add, same shape": (lambda a, b: (a + b).sum(), ((3, 4), (3, 4))),
    "add, bias broadcast over rows": (lambda a, b: ((a + b) * (a + b)).sum(), ((5, 3), (3,))),
    "add, a (N, 1) column broadcast": (lambda a, b: ((a + b) * a).mean(), ((4, 3), (4, 1))),
    "sub": (lambda a, b: ((a - b) * a).sum(), ((2, 3), (2, 3))),
    "mul": (lambda a, b: (a * b).sum(), ((3, 4), (3, 4))),
    "mul, broadcast": (lambda a, b: (a * b * a).sum(), ((3, 4), (1, 4))),
    "matmul": (lambda a, b: (a @ b).sum(), ((3, 4), (4, 2))),
    "transpose and matmul": (lambda a, b: ((a @ b.T) * (a @ b.T)).mean(), ((3, 4), (2, 4))),
    "relu": (lambda a: (a.relu() * a).sum(), ((4, 5),)),
    "sigmoid": (lambda a: (a.sigmoid() * a).sum(), ((4, 5),)),
    "mean": (lambda a: (a * a).mean(), ((6,),)),
}


@pytest.mark.parametrize("name", OPS)
def test_each_operation_matches_torch_autograd(name, device):
    fn, shapes = OPS[name]
    torch.manual_seed(0)
    inputs = [randn(*shape, device=device) for shape in shapes]
    ours, theirs = both(fn, fn, *inputs)
    for g, expected in zip(ours, theirs):
        assert g.shape == expected.shape
        close(g, expected)


def test_cross_entropy_matches_torch(device):
    torch.manual_seed(0)
    logits = randn(7, 3, device=device)
    target = torch.tensor([0, 2, 1, 1, 0, 2, 2], device=device)
    z = Value(logits, requires_grad=True)
    loss = cross_entropy(z, target)
    loss.backward()
    t = logits.clone().requires_grad_()
    expected = torch.nn.functional.cross_entropy(t, target)
    expected.backward()
    close(loss.data, expected.detach())
    close(z.grad, t.grad)


def test_a_node_used_twice_gets_both_contributions():
    x = Value(torch.tensor(3.0, dtype=torch.float64), requires_grad=True)
    y = x * x + x          # dy/dx = 2x + 1 = 7: x feeds three places
    y.backward()
    assert x.grad.item() == 7.0
    a = Value(randn(4), requires_grad=True)
    b = a.sigmoid()
    (b * b + b).sum().backward()     # b is used twice, and by two operations
    s = torch.sigmoid(a.data)
    close(a.grad, (2 * s + 1) * s * (1 - s))


def test_grad_accumulates_until_reset():
    x = Value(torch.tensor(2.0, dtype=torch.float64), requires_grad=True)
    (x * x).backward()
    (x * x).backward()
    assert x.grad.item() == 8.0        # 4 + 4, as torch does without zero_grad
    x.grad = None
    (x * x).backward()
    assert x.grad.item() == 4.0


def test_only_leaves_that_require_grad_get_a_gradient():
    a = Value(randn(3), requires_grad=True)
    c = Value(randn(3))
    hidden = a * c
    hidden.sum().backward()
    assert c.grad is None and hidden.grad is None and a.grad is not None
    close(a.grad, c.data)


def worked_network_loss(params, x, y):
    h1 = linear(x, params["0.weight"], params["0.bias"]).relu()
    h2 = linear(h1, params["2.weight"], params["2.bias"]).sigmoid()
    return cross_entropy(linear(h2, params["4.weight"], params["4.bias"]), y)


def worked_data(device, n=500):
    g = torch.Generator().manual_seed(420)
    x = torch.randn(n, 20, dtype=torch.float64, generator=g).to(device)
    return x, torch.randint(0, 3, (n,), generator=g).to(device)


def test_worked_network_gradients_equal_torch_autograd_and_the_hand_written_pass(device):
    torch.manual_seed(0)
    model = bp.make_mlp(device=device, dtype=torch.float64)
    x, y = worked_data(device)
    params = parameters_of(model)
    loss = worked_network_loss(params, x, y)
    loss.backward()
    expected = torch.nn.functional.cross_entropy(model(x), y)
    expected.backward()
    close(loss.data, expected.detach())
    _, by_hand = bp.loss_and_gradients(model, x, y)
    for name, p in model.named_parameters():
        close(params[name].grad, p.grad)
        close(params[name].grad, by_hand[name])


def test_a_training_run_matches_torch_step_for_step(device):
    torch.manual_seed(0)
    model = bp.make_mlp(device=device, dtype=torch.float64)
    x, y = worked_data(device, n=100)
    params = parameters_of(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    for _ in range(25):
        loss = worked_network_loss(params, x, y)
        for p in params.values():
            p.grad = None
        loss.backward()
        for p in params.values():
            p.data = p.data - 0.5 * p.grad
        optimizer.zero_grad()
        expected = torch.nn.functional.cross_entropy(model(x), y)
        expected.backward()
        optimizer.step()
        close(loss.data, expected.detach(), 1e-10)
    for name, p in model.named_parameters():
        close(params[name].data, p.detach(), 1e-10)


def test_parameters_of_copies():
    model = bp.make_mlp(dtype=torch.float64)
    params = parameters_of(model)
    params["0.weight"].data += 1
    assert not torch.equal(params["0.weight"].data, model[0].weight.detach())
    assert all(v.requires_grad for v in params.values())


# --------------------------------------------------------------------------- bad input

def test_backward_on_a_non_scalar_needs_a_gradient():
    v = Value(randn(3), requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="scalar"):
        v.backward()
    with pytest.raises(ValueError, match="shape"):
        v.backward(torch.ones(4))
    v.backward(torch.ones(3, dtype=torch.float64))   # the gradient of v.sum()
    close(v.parents[0].grad, torch.full((3,), 2.0, dtype=torch.float64))


def test_backward_of_a_constant_is_an_error():
    with pytest.raises(RuntimeError, match="requires_grad"):
        (Value(randn(2)) * 3).sum().backward()


@pytest.mark.parametrize("expression, message", [
    (lambda: Value(randn(3, 4)) @ Value(randn(3, 4)), "matmul"),
    (lambda: Value(randn(3)) @ Value(randn(3, 4)), "matmul"),
    (lambda: Value(randn(3, 4)) + Value(randn(3)), "cannot add"),
    (lambda: Value(randn(3, 4)) * Value(randn(2, 4)), "cannot multiply"),
    (lambda: cross_entropy(Value(randn(4, 3)), torch.tensor([0, 1])), "cross_entropy"),
    (lambda: Value(randn(3)).T, "matrix"),
])
def test_shape_mismatches_raise_value_errors(expression, message):
    with pytest.raises(ValueError, match=message):
        expression()


def test_a_deep_chain_does_not_hit_the_recursion_limit():
    x = Value(torch.tensor(1.0, dtype=torch.float64), requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0
    y.backward()
    assert x.grad.item() == 1.0
