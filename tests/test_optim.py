"""nnbook.optim follows torch.optim step for step.

Every test runs our optimizer and torch's side by side on identical copies of the same
parameters, feeds both the same gradients, and compares:

* every hyperparameter combination (itertools.product over value sets, maximize, nesterov,
  centered, amsgrad, weight decay, momentum, dampening and a tensor learning rate included),
  with two parameter groups whose hyperparameters differ, over 100 steps whose gradients depend
  on the current parameters and on fresh random targets, with a save/restore of our optimizer's
  state dict halfway: float64 to 1e-12;
* a small MLP trained on random data: float32 to assert_close's default tolerances, float64 to
  1e-12;
* the state dicts themselves (same keys, same values), in both directions of loading;
* torch's own errors for bad hyperparameters, and our clear refusals of what we leave out.

Every comparison runs on the CPU, and on CUDA too when a GPU is present (``device`` fixture).
"""

import ast
import copy
import inspect
import io
import itertools
from pathlib import Path

import pytest
import torch

import nnbook.optim
from conftest import requires_torch_behaviour

NAMES = ["SGD", "Adagrad", "RMSprop", "Adam", "AdamW"]
STEPS = 100
SHAPES = [(5, 4), (3,)]  # one tensor per parameter group
F64 = dict(rtol=1e-12, atol=1e-12)


def tensor_lr(lr):
    return torch.tensor(lr)  # a float32 0-d tensor, as a user would most often write it


# ------------------------------------------------------------------ hyperparameter grids

def grid(**value_sets):
    """Every combination of the given values, as keyword dicts (itertools.product)."""
    names = list(value_sets)
    return [dict(zip(names, values)) for values in itertools.product(*value_sets.values())]


LRS = [0.05, "tensor"]  # "tensor": the same rate given as a 0-d tensor

GRIDS = {
    "SGD": grid(lr=LRS, momentum=[0, 0.9], dampening=[0, 0.3], weight_decay=[0, 0.1],
                nesterov=[False, True], maximize=[False, True]),
    "Adagrad": grid(lr=LRS, lr_decay=[0, 0.05], weight_decay=[0, 0.1],
                    initial_accumulator_value=[0, 0.5], maximize=[False, True]),
    "RMSprop": grid(lr=LRS, alpha=[0.99, 0.6], weight_decay=[0, 0.1], momentum=[0, 0.9],
                    centered=[False, True], maximize=[False, True]),
    "Adam": grid(lr=LRS, betas=[(0.9, 0.999), (0.5, 0.8)], weight_decay=[0, 0.1],
                 amsgrad=[False, True], maximize=[False, True]),
}
GRIDS["AdamW"] = GRIDS["Adam"]

# The second parameter group overrides its learning rate and more. eps changes no code path,
# only a number, so it varies between the groups rather than in the grids.
SECOND_GROUP = {
    "SGD": dict(lr=0.02, weight_decay=0.05),
    "Adagrad": dict(lr=0.2, lr_decay=0.01, eps=1e-3),
    "RMSprop": dict(lr=0.003, alpha=0.9, eps=1e-3),
    "Adam": dict(lr=0.02, betas=(0.8, 0.9), weight_decay=0.05, eps=1e-3),
    "AdamW": dict(lr=0.02, betas=(0.8, 0.9), weight_decay=0.05, eps=1e-3),
}

CASES = [(name, kwargs) for name in NAMES for kwargs in GRIDS[name]]


def case_id(case):
    name, kwargs = case
    return name + "-" + "-".join(f"{k}={v}" for k, v in kwargs.items())


def resolve(kwargs):
    return {k: tensor_lr(0.05) if v == "tensor" else v for k, v in kwargs.items()}


# ------------------------------------------------------------------ the side-by-side harness

def make_params(device, dtype, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(shape, generator=generator, dtype=dtype).to(device) for shape in SHAPES]


def leaves(tensors):
    return [torch.nn.Parameter(t.clone()) for t in tensors]


def param_groups(params, name):
    return [{"params": params[:1]}, {"params": params[1:], **SECOND_GROUP[name]}]


def set_gradients(params, targets, maximize):
    """The gradient of sum(log cosh(θ - target)): it depends on θ and changes every step.

    When maximizing we hand the optimizer the gradient of the *negated* loss, so that both
    directions walk towards the targets and the numbers stay finite.
    """
    sign = -1.0 if maximize else 1.0
    for param, target in zip(params, targets):
        param.grad = sign * torch.tanh(param.detach() - target)


def random_targets(generator, device, dtype):
    sizes = [torch.Size(shape).numel() for shape in SHAPES]
    flat = torch.randn(sum(sizes), generator=generator, dtype=dtype).to(device)
    return [part.view(shape) for part, shape in zip(flat.split(sizes), SHAPES)]


def save_and_restore(optimizer, make_optimizer):
    """A fresh optimizer that continues from ``optimizer``'s state dict, via torch.save/load."""
    buffer = io.BytesIO()
    torch.save(optimizer.state_dict(), buffer)
    buffer.seek(0)
    restored = make_optimizer()
    restored.load_state_dict(torch.load(buffer, weights_only=True))
    return restored


def assert_state_dicts_close(ours, theirs, **tolerance):
    """Same groups (hyperparameters, flags, parameter indices) and the same state, key by key."""
    for group, other in zip(ours["param_groups"], theirs["param_groups"], strict=True):
        assert group.keys() == other.keys()
        for key, value in group.items():
            if isinstance(value, torch.Tensor):
                torch.testing.assert_close(value, other[key])
            else:
                assert value == other[key], key
    assert ours["state"].keys() == theirs["state"].keys()
    for index, state in ours["state"].items():
        assert state.keys() == theirs["state"][index].keys()
        for key, value in state.items():
            torch.testing.assert_close(value, theirs["state"][index][key], **tolerance)


def run_side_by_side(name, kwargs, device, dtype, steps=STEPS):
    """Run ours and torch's (foreach=False) for ``steps``; ours is saved and restored halfway."""
    start = make_params(device, dtype)
    ours_params, torch_params = leaves(start), leaves(start)

    def make_ours():  # foreach=False on both sides, so that even the flags compare equal
        return getattr(nnbook.optim, name)(param_groups(ours_params, name), foreach=False,
                                           **kwargs)

    ours = make_ours()
    theirs = getattr(torch.optim, name)(param_groups(torch_params, name), foreach=False, **kwargs)
    generator = torch.Generator().manual_seed(1)
    maximize = kwargs.get("maximize", False)
    for step in range(steps):
        if step == steps // 2:
            ours = save_and_restore(ours, make_ours)
        targets = random_targets(generator, device, dtype)
        for params, optimizer in ((ours_params, ours), (torch_params, theirs)):
            set_gradients(params, targets, maximize)
            optimizer.step()
    return ours_params, torch_params, ours, theirs


def misuses_nesterov(kwargs):
    return kwargs.get("nesterov") and (kwargs["momentum"] == 0 or kwargs["dampening"] != 0)


# ------------------------------------------------------------------ trajectories

@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_every_hyperparameter_combination_follows_torch(case, device):
    name, kwargs = case[0], resolve(case[1])
    if misuses_nesterov(kwargs):  # torch refuses these combinations, and so must we
        for module in (nnbook.optim, torch.optim):
            with pytest.raises(ValueError, match="Nesterov momentum requires"):
                getattr(module, name)(leaves(make_params(device, torch.float64)), **kwargs)
        return
    ours_params, torch_params, ours, theirs = run_side_by_side(name, kwargs, device,
                                                               torch.float64)
    for mine, reference in zip(ours_params, torch_params):
        torch.testing.assert_close(mine, reference, **F64)
    assert_state_dicts_close(ours.state_dict(), theirs.state_dict(), **F64)
    start = make_params(device, torch.float64)
    distance = sum((p.detach() - s).abs().sum() for p, s in zip(ours_params, start))
    assert distance > 1e-3  # the parameters did move: we did not compare two idle copies


def train_mlp(optimizer_class, kwargs, device, dtype, restore_at=None):
    """100 steps of a 4-16-3 MLP on fresh random data; weights and biases in separate groups."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.Tanh(),
                                torch.nn.Linear(16, 3)).to(device, dtype)
    weights = [p for n, p in model.named_parameters() if n.endswith("weight")]
    biases = [p for n, p in model.named_parameters() if n.endswith("bias")]

    def make():
        return optimizer_class([{"params": weights}, {"params": biases, "lr": 0.003}], **kwargs)

    optimizer = make()
    generator = torch.Generator().manual_seed(2)
    for step in range(STEPS):
        if step == restore_at:
            optimizer = save_and_restore(optimizer, make)
        x = torch.randn(32, 4, generator=generator, dtype=dtype).to(device)
        y = torch.randn(32, 3, generator=generator, dtype=dtype).to(device)
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        (-loss if kwargs.get("maximize") else loss).backward()
        optimizer.step()
    return list(model.parameters())


MLP_CASES = {
    "SGD": dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
    "Adagrad": dict(lr=0.05, lr_decay=1e-3, weight_decay=1e-3, initial_accumulator_value=0.1),
    "RMSprop": dict(lr=1e-3, momentum=0.5, centered=True, weight_decay=1e-3),
    "Adam": dict(lr=1e-3, amsgrad=True, weight_decay=1e-3),
    "AdamW": dict(lr=tensor_lr(1e-3), maximize=True),
}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
@pytest.mark.parametrize("name", NAMES)
def test_mlp_training_follows_torch(name, dtype, device):
    kwargs = MLP_CASES[name]
    mine = train_mlp(getattr(nnbook.optim, name), kwargs, device, dtype, restore_at=STEPS // 2)
    reference = train_mlp(getattr(torch.optim, name), dict(kwargs, foreach=False), device, dtype)
    tolerance = F64 if dtype == torch.float64 else {}
    for p, q in zip(mine, reference):
        torch.testing.assert_close(p, q, **tolerance)


@pytest.mark.parametrize("name", NAMES)
def test_matches_torch_default_implementation(name, device):
    # On CUDA torch's default is its multi-tensor (foreach) code, rounded a little differently;
    # that code refuses a tensor lr, so the rate is given as a float here.
    if device.type == "cpu":
        pytest.skip("on the CPU torch's default is the single-tensor code, compared above")
    kwargs = {k: float(v) if isinstance(v, torch.Tensor) else v
              for k, v in MLP_CASES[name].items()}
    mine = train_mlp(getattr(nnbook.optim, name), kwargs, device, torch.float32)
    reference = train_mlp(getattr(torch.optim, name), kwargs, device, torch.float32)
    for p, q in zip(mine, reference):
        torch.testing.assert_close(p, q)


def _torch_adam_steps_with_one_element_betas():
    param = torch.nn.Parameter(torch.ones(2, dtype=torch.float64))
    param.grad = torch.ones_like(param)
    torch.optim.Adam([param], betas=(torch.tensor([0.8]), torch.tensor([0.95])),
                     foreach=False).step()


@pytest.mark.parametrize("betas", [
    (torch.tensor(0.8), torch.tensor(0.95)),
    pytest.param((torch.tensor(0.8), torch.tensor([0.95])), marks=requires_torch_behaviour(
        _torch_adam_steps_with_one_element_betas, "step Adam with 1-element (not 0-d) betas"))],
    ids=["0-d betas", "1-element betas"])
def test_tensor_betas_and_one_element_lr_follow_torch(betas, device):
    kwargs = dict(lr=torch.tensor([0.01]), betas=betas, amsgrad=True, weight_decay=0.1)
    for name in ("Adam", "AdamW"):
        ours_params, torch_params, _, _ = run_side_by_side(name, kwargs, device, torch.float64)
        for mine, reference in zip(ours_params, torch_params):
            torch.testing.assert_close(mine, reference, **F64)


def test_adam_with_decoupled_weight_decay_is_adamw(device):
    kwargs = dict(lr=0.01, weight_decay=0.1)
    adam, _, _, _ = run_side_by_side("Adam", dict(kwargs, decoupled_weight_decay=True), device,
                                     torch.float64)
    adamw, _, _, _ = run_side_by_side("AdamW", kwargs, device, torch.float64)
    for p, q in zip(adam, adamw):
        torch.testing.assert_close(p, q, rtol=0, atol=0)


# ------------------------------------------------------------------ state dicts and API

@pytest.mark.parametrize("name", NAMES)
def test_state_dicts_load_across_libraries(name, device):
    """A checkpoint of torch's optimizer resumes in ours, and the other way round, exactly as
    torch resumes its own."""
    kwargs = MLP_CASES[name]
    start = make_params(device, torch.float64)
    generator = torch.Generator()
    results = []
    for first, second in ((torch.optim, torch.optim), (torch.optim, nnbook.optim),
                          (nnbook.optim, torch.optim)):
        params = leaves(start)
        generator.manual_seed(3)
        optimizer = getattr(first, name)(param_groups(params, name), **kwargs)
        for step in range(20):
            if step == 10:
                state = optimizer.state_dict()
                optimizer = getattr(second, name)(param_groups(params, name), **kwargs)
                optimizer.load_state_dict(state)
            set_gradients(params, random_targets(generator, device, torch.float64),
                          kwargs.get("maximize", False))
            optimizer.step()
        results.append(params)
    reference = results[0]
    for params in results[1:]:
        for p, q in zip(params, reference):
            torch.testing.assert_close(p, q, **F64)


def continue_from(state, module, name, params, generator, steps=10, **kwargs):
    """Load ``state`` into a fresh ``module.<name>`` over ``params`` and take ``steps`` steps."""
    optimizer = getattr(module, name)(param_groups(params, name), **kwargs)
    optimizer.load_state_dict(state)
    for _ in range(steps):
        set_gradients(params, random_targets(generator, params[0].device, params[0].dtype),
                      kwargs.get("maximize", False))
        optimizer.step()
    return optimizer


def checkpoint_after(module, name, device, steps=10, **kwargs):
    """(params, state dict) of ``module.<name>`` after ``steps`` steps from make_params."""
    params = leaves(make_params(device, torch.float64))
    optimizer = getattr(module, name)(param_groups(params, name), **kwargs)
    generator = torch.Generator().manual_seed(4)
    for _ in range(steps):
        set_gradients(params, random_targets(generator, device, torch.float64),
                      kwargs.get("maximize", False))
        optimizer.step()
    return params, optimizer.state_dict()


def resume_in_both(state, params, name, **kwargs):
    """The parameters after torch's and our optimizer each resume from ``state``."""
    results = []
    for module in (torch.optim, nnbook.optim):
        copies = leaves([p.detach() for p in params])
        continue_from(copy.deepcopy(state), module, name, copies,
                      torch.Generator().manual_seed(5), **kwargs)
        results.append(copies)
    return results


@pytest.mark.parametrize("name", NAMES)
def test_a_checkpoint_from_an_older_torch_resumes_as_torch_resumes_it(name, device):
    # Older releases wrote fewer group options (Adam's decoupled_weight_decay, fused,
    # differentiable, ...) and plain numbers as step counts; torch fills in the defaults.
    params, state = checkpoint_after(torch.optim, name, device, **MLP_CASES[name])
    missing = nnbook.optim.__dict__[name]._options_added_over_releases
    for group in state["param_groups"]:
        for option in missing:
            group.pop(option, None)
    for param_state in state["state"].values():
        if "step" in param_state:
            param_state["step"] = float(param_state["step"])
    theirs, ours = resume_in_both(state, params, name, **MLP_CASES[name])
    for p, q in zip(ours, theirs):
        torch.testing.assert_close(p, q, **F64)


@pytest.mark.parametrize("name", NAMES)
def test_a_checkpoint_from_a_newer_torch_keeps_the_options_it_does_not_know(name, device):
    params, state = checkpoint_after(torch.optim, name, device, **MLP_CASES[name])
    for group in state["param_groups"]:
        group["an_option_of_a_later_release"] = "kept"
    optimizer = continue_from(state, nnbook.optim, name, params,
                              torch.Generator().manual_seed(5), **MLP_CASES[name])
    assert all(group["an_option_of_a_later_release"] == "kept"
               for group in optimizer.state_dict()["param_groups"])


def test_adamw_resumes_an_adam_checkpoint_with_decoupled_weight_decay(device):
    # AdamW.__setstate__ (torch's and ours) switches decoupled decay on whatever the checkpoint
    # says, so torch.optim.Adam's checkpoint continues as AdamW, not as coupled Adam.
    kwargs = dict(lr=0.01, weight_decay=0.5)
    params, state = checkpoint_after(torch.optim, "Adam", device, **kwargs)
    assert not any(group.get("decoupled_weight_decay") for group in state["param_groups"])
    theirs, ours = resume_in_both(state, params, "AdamW", **kwargs)
    for p, q in zip(ours, theirs):
        torch.testing.assert_close(p, q, **F64)
    as_adam = leaves([p.detach() for p in params])
    continue_from(copy.deepcopy(state), torch.optim, "Adam", as_adam,
                  torch.Generator().manual_seed(5), **kwargs)
    assert not torch.allclose(as_adam[0], ours[0])  # the two decays really do differ here
    optimizer = nnbook.optim.AdamW(param_groups(params, "AdamW"))
    optimizer.load_state_dict(state)
    assert all(group["decoupled_weight_decay"] for group in optimizer.param_groups)


def _torch_adagrad_initialises_groups_added_later():
    param = torch.nn.Parameter(torch.ones(2))
    optimizer = torch.optim.Adagrad([torch.nn.Parameter(torch.ones(2))])
    optimizer.add_param_group({"params": [param]})
    param.grad = torch.ones(2)
    optimizer.step()


@pytest.mark.parametrize("added_later", [
    False, pytest.param(True, marks=requires_torch_behaviour(
        _torch_adagrad_initialises_groups_added_later, "step a group added to Adagrad later"))])
def test_adagrad_uses_the_constructors_initial_accumulator_value_for_every_group(added_later,
                                                                              device):
    # A group's own initial_accumulator_value is stored but not used: torch fills every sum with
    # the constructor's value, for the groups given to it and for those added later.
    start = make_params(device, torch.float64)
    results = []
    for module in (torch.optim, nnbook.optim):
        params = leaves(start)
        groups = [{"params": params[:1]},
                  {"params": params[1:], "initial_accumulator_value": 5.0}]
        optimizer = module.Adagrad(groups[:1] if added_later else groups, lr=0.1,
                                   initial_accumulator_value=0.25)
        if added_later:
            optimizer.add_param_group(groups[1])
        set_gradients(params, random_targets(torch.Generator().manual_seed(6), device,
                                             torch.float64), False)
        optimizer.step()
        assert optimizer.param_groups[1]["initial_accumulator_value"] == 5.0
        sums = [optimizer.state[p]["sum"] for p in params]
        results.append((params, sums))
    (theirs, their_sums), (ours, our_sums) = results
    for p, q in zip(ours + our_sums, theirs + their_sums):
        torch.testing.assert_close(p, q, **F64)
    squared = params[1].grad ** 2  # the sum after one step: 0.25 + g^2, not 5 + g^2
    torch.testing.assert_close(our_sums[1], 0.25 + squared, **F64)


@pytest.mark.parametrize("name", NAMES)
def test_signature_mirrors_torch(name):
    def describe(cls):
        return [(p.name, p.kind, p.default) for p in inspect.signature(cls).parameters.values()]
    assert describe(getattr(nnbook.optim, name)) == describe(getattr(torch.optim, name))


def test_closure_is_evaluated_with_gradients_and_its_loss_returned():
    param = torch.nn.Parameter(torch.tensor([3.0]))
    optimizer = nnbook.optim.SGD([param], lr=0.1)

    def closure():
        optimizer.zero_grad()
        loss = (param**2).sum()
        loss.backward()
        return loss

    assert optimizer.step(closure).item() == 9.0
    assert param.item() == pytest.approx(3.0 - 0.1 * 6.0)


def test_first_adam_step_moves_each_coordinate_by_the_learning_rate():
    # Bias correction makes m̂ = g and v̂ = g² on step 1, so it moves lr·g/(|g| + ε) ≈ lr·sign(g).
    param = torch.nn.Parameter(torch.tensor([1.0, 1.0, 1.0], dtype=torch.float64))
    param.grad = torch.tensor([1e-3, -5.0, 200.0], dtype=torch.float64)
    nnbook.optim.Adam([param], lr=0.01).step()
    torch.testing.assert_close(param.detach(), 1.0 - 0.01 * torch.sign(param.grad), atol=1e-6,
                               rtol=0)


def test_parameters_without_gradients_are_left_alone():
    used, unused = torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(2))
    optimizer = nnbook.optim.Adam([used, unused], lr=0.1)
    used.grad = torch.ones(2)
    optimizer.step()
    assert torch.equal(unused.detach(), torch.ones(2)) and unused not in optimizer.state
    assert not torch.equal(used.detach(), torch.ones(2))


def test_update_rules_are_hand_written():
    """The code (docstrings aside) never reaches into torch.optim beyond the Optimizer base,
    nor into torch's private foreach/fused/functional optimizer kernels."""
    for module in Path(nnbook.optim.__file__).parent.glob("*.py"):
        tree = ast.parse(module.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith("torch.optim"), module.name
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("torch.optim") for a in node.names)
            if isinstance(node, ast.Attribute):
                name = ast.unparse(node)
                if name.startswith("torch.optim"):
                    assert name in ("torch.optim", "torch.optim.Optimizer"), module.name
                assert not any(part in name for part in ("torch._", "_foreach", "_fused",
                                                         "_single_tensor", "_functional"))


# ------------------------------------------------------------------ bad input

def one_param():
    return [torch.nn.Parameter(torch.zeros(2))]


TORCH_ERRORS = [
    ("SGD", dict(lr=-0.1), "Invalid learning rate: -0.1"),
    ("SGD", dict(lr=torch.tensor([0.1, 0.2])), "Tensor lr must be 1-element"),
    ("SGD", dict(momentum=-0.5), "Invalid momentum value: -0.5"),
    ("SGD", dict(weight_decay=-1.0), "Invalid weight_decay value: -1.0"),
    ("SGD", dict(nesterov=True), "Nesterov momentum requires a momentum and zero dampening"),
    ("SGD", dict(nesterov=True, momentum=0.9, dampening=0.1), "Nesterov momentum requires"),
    ("Adagrad", dict(lr=-1.0), "Invalid learning rate"),
    ("Adagrad", dict(lr_decay=-0.1), "Invalid lr_decay value: -0.1"),
    ("Adagrad", dict(weight_decay=-0.1), "Invalid weight_decay value"),
    ("Adagrad", dict(initial_accumulator_value=-1.0), "Invalid initial_accumulator_value"),
    ("Adagrad", dict(eps=-1e-10), "Invalid epsilon value"),
    ("RMSprop", dict(lr=-1.0), "Invalid learning rate"),
    ("RMSprop", dict(alpha=-0.9), "Invalid alpha value: -0.9"),
    ("RMSprop", dict(eps=-1.0), "Invalid epsilon value"),
    ("RMSprop", dict(momentum=-0.9), "Invalid momentum value"),
    ("RMSprop", dict(weight_decay=-0.1), "Invalid weight_decay value"),
    ("Adam", dict(lr=-1e-3), "Invalid learning rate"),
    ("Adam", dict(eps=-1e-8), "Invalid epsilon value"),
    ("Adam", dict(betas=(1.0, 0.999)), r"Invalid beta parameter at index 0: 1\.0"),
    ("Adam", dict(betas=(0.9, -0.1)), r"Invalid beta parameter at index 1: -0\.1"),
    ("Adam", dict(weight_decay=-0.1), "Invalid weight_decay value"),
    ("Adam", dict(betas=(0.9, torch.tensor(0.999))), "betas must be either both floats or"),
    ("AdamW", dict(lr=torch.tensor(-1.0)), "Invalid learning rate"),
    ("AdamW", dict(betas=(0.9, 1.5)), "Invalid beta parameter at index 1"),
]


@pytest.mark.parametrize("name, kwargs, message", TORCH_ERRORS,
                         ids=[f"{n}-{k}" for n, k, _ in TORCH_ERRORS])
def test_bad_hyperparameters_raise_torchs_error(name, kwargs, message):
    for module in (torch.optim, nnbook.optim):
        with pytest.raises(ValueError, match=message):
            getattr(module, name)(one_param(), **kwargs)


@pytest.mark.parametrize("name", NAMES)
def test_bad_parameter_lists_raise_torchs_error(name):
    cls = getattr(nnbook.optim, name)
    with pytest.raises(ValueError, match="empty parameter list"):
        cls([])
    with pytest.raises(TypeError, match="iterable of Tensors or dicts"):
        cls(torch.zeros(2, requires_grad=True))


FAST_PATHS = {
    "SGD": ["foreach", "fused", "differentiable"],
    "Adagrad": ["foreach", "fused", "differentiable"],
    "RMSprop": ["foreach", "capturable", "differentiable"],
    "Adam": ["foreach", "fused", "capturable", "differentiable"],
    "AdamW": ["foreach", "fused", "capturable", "differentiable"],
}


@pytest.mark.parametrize("name, flag", [(n, f) for n, flags in FAST_PATHS.items()
                                        for f in flags])
def test_fast_paths_are_refused_not_ignored(name, flag):
    cls = getattr(nnbook.optim, name)
    cls(one_param(), **{flag: None if flag in ("foreach", "fused") else False})  # defaults work
    with pytest.raises(ValueError, match=f"{flag}=True is not supported"):
        cls(one_param(), **{flag: True})


def test_a_checkpoint_asking_for_foreach_is_refused():
    params = one_param()
    state = torch.optim.Adam(params, foreach=True).state_dict()
    with pytest.raises(ValueError, match="foreach=True is not supported"):
        nnbook.optim.Adam(params).load_state_dict(state)


@pytest.mark.parametrize("name", NAMES)
def test_complex_parameters_and_sparse_gradients_are_refused(name):
    cls = getattr(nnbook.optim, name)
    with pytest.raises(TypeError, match="real parameters only"):
        cls([torch.nn.Parameter(torch.zeros(2, dtype=torch.complex64))])
    param = torch.nn.Parameter(torch.zeros(3))
    optimizer = cls([param])
    param.grad = torch.zeros(3).to_sparse()
    with pytest.raises(RuntimeError, match="does not support sparse gradients"):
        optimizer.step()
