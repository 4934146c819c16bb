"""nnbook.grading.forbidden: what a question forbids refuses under every name, and comes back."""

import pytest
import torch

import nnbook.backprop
from nnbook.backprop import cross_entropy_backward as imported_earlier
from nnbook.grading.forbidden import AUTOGRAD, ForbiddenFunction, forbidden


def test_a_python_function_refuses_under_an_alias_imported_before_the_block():
    logits, target = torch.randn(4, 3), torch.tensor([0, 1, 2, 0])
    expected = imported_earlier(logits, target)
    with forbidden([(nnbook.backprop, "cross_entropy_backward")]):
        with pytest.raises(ForbiddenFunction, match="cross_entropy_backward is not allowed"):
            imported_earlier(logits, target)
        with pytest.raises(ForbiddenFunction):
            nnbook.backprop.cross_entropy_backward(logits, target)
    torch.testing.assert_close(imported_earlier(logits, target), expected)   # restored
    assert nnbook.backprop.cross_entropy_backward is imported_earlier


def test_the_autograd_entry_refuses_backward_grad_and_torch_func_then_restores_them():
    from torch.autograd import grad as grad_imported_earlier
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    with forbidden([AUTOGRAD]):
        for attempt in (lambda: (w * w).sum().backward(),
                        lambda: grad_imported_earlier((w * w).sum(), w),
                        lambda: torch.func.grad(lambda x: (x * x).sum())(w.detach())):
            with pytest.raises(ForbiddenFunction, match="is not allowed"):
                attempt()
        assert torch.equal((w * 3).detach(), torch.tensor([3.0, 6.0]))   # plain maths still runs
    (w * w).sum().backward()
    assert torch.equal(w.grad, torch.tensor([2.0, 4.0]))


def test_a_builtin_is_refused_through_its_owner_and_restored_even_after_an_error():
    with pytest.raises(ZeroDivisionError):
        with forbidden([(torch, "logsumexp"), (torch.Tensor, "logsumexp")]):
            with pytest.raises(ForbiddenFunction, match="torch.logsumexp"):
                torch.logsumexp(torch.zeros(2), 0)
            with pytest.raises(ForbiddenFunction, match="Tensor.logsumexp"):
                torch.zeros(2).logsumexp(0)
            1 / 0
    assert float(torch.logsumexp(torch.zeros(1), 0)) == 0.0
    assert torch.zeros(1).logsumexp(0) == 0.0


def test_a_function_listed_under_two_owners_comes_back_whole():
    import nnbook.functional as F
    before = F.softmax.__code__
    with forbidden([(F, "softmax"), (F, "softmax")]):
        with pytest.raises(ForbiddenFunction):
            F.softmax(torch.zeros(2), dim=0)
    assert F.softmax.__code__ is before


def test_in_the_grader_an_answer_that_calls_a_reference_answer_scores_nothing(monkeypatch):
    """The answer keys ship in the package: in the grader, calling one (even under an alias) is
    refused; the key works again afterwards, and check cells outside the grader are unaffected."""
    from nnbook.grading import questions, runner
    from nnbook.grading.sets.ex04_loss_functions import EXERCISE_SET
    from nnbook.grading.sets.ex04_loss_functions import kl_bits_reference as key

    def honest(p, q):
        return torch.where(p > 0, p * (p / q).log2(), torch.zeros_like(p)).sum(-1)

    question = EXERCISE_SET.question("q1")
    assert runner.check_answer(question, lambda p, q: key(p, q)).passed > 0   # a check cell
    monkeypatch.setattr(questions, "_grading_mode", True)                     # the grader's child
    cheat = runner.check_answer(question, lambda p, q: key(p, q))
    assert cheat.passed == 0 and all("ForbiddenFunction" in c.message for c in cheat.cases)
    fair = runner.check_answer(question, honest)
    assert fair.passed == len(fair.cases) > 0
    p = torch.tensor([0.5, 0.5])
    assert float(key(p, p)) == 0.0                                        # restored afterwards
    names = {name for _, name in runner.reference_answers()}
    assert {"kl_bits_reference", "fold_batch_norm_reference", "linear_backward_reference",
            "sgd_step_reference"} <= names


def test_nnbook_grade_gives_nothing_for_answers_imported_from_the_answer_keys(tmp_path):
    """End to end: a set-4 notebook whose every answer is the grader's own key scores 0."""
    from pathlib import Path

    import nbformat

    from exercise_set_checks import grade

    root = Path(__file__).resolve().parents[1]
    notebook = nbformat.read(root / "exercises" / "04-loss-functions.ipynb", 4)
    keys = ("kl_bits", "cross_entropy_weighted", "bce_with_logits", "smoothing_floor")
    cell = nbformat.v4.new_code_cell("from nnbook.grading.sets.ex04_loss_functions import (\n" + "".join(
        f"    {name}_reference as {name},\n" for name in keys) + ")")
    notebook.cells.append(cell)                          # after the stubs: the keys win
    path = tmp_path / "cheat.ipynb"
    nbformat.write(notebook, path)
    from nnbook.grading.sets.ex04_loss_functions import EXERCISE_SET
    _, report = grade(tmp_path, path)
    assert f"Score: 0 / {EXERCISE_SET.max_points:g}" in report, report
    assert "ForbiddenFunction" in report
# --- routes around the engine that the AUTOGRAD entry also refuses (second teacher read) ---
from torch.func import jacfwd as jacfwd_imported_earlier  # noqa: E402

ENGINE_CAPTURED_EARLIER = torch.autograd.Variable._execution_engine


def _linear_inputs():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, 3, generator=g, dtype=torch.float64)
    w = torch.randn(2, 3, generator=g, dtype=torch.float64)
    return x, w, torch.randn(4, 2, generator=g, dtype=torch.float64)


def _attack(route):
    import torch.autograd.forward_ad as fwad
    import torch.nn.functional as F
    x, w, G = _linear_inputs()
    if route == "jacfwd":
        return torch.func.jacfwd(lambda a: (F.linear(a, w) * G).sum())(x)
    if route == "jacfwd imported earlier":
        return jacfwd_imported_earlier(lambda a: (F.linear(a, w) * G).sum())(x)
    if route == "jvp":
        return torch.func.jvp(lambda a: F.linear(a, w), (x,), (x,))
    if route == "jacrev":
        return torch.func.jacrev(lambda a: (F.linear(a, w) * G).sum())(x)
    if route == "hessian":
        return torch.func.hessian(lambda a: (a * a).sum())(x)
    if route == "forward_ad":
        with fwad.dual_level():
            return fwad.unpack_dual(F.linear(fwad.make_dual(x, torch.ones_like(x)), w)).tangent
    if route == "autograd.functional":
        return torch.autograd.functional.jacobian(lambda a: (F.linear(a, w) * G).sum(), x)
    if route == "engine captured earlier":
        x_ = x.requires_grad_()
        loss = (F.linear(x_, w) * G).sum()
        return ENGINE_CAPTURED_EARLIER.run_backward((loss,), (torch.ones_like(loss),), False, False,
                                                    (x_,), False, False)
    if route == "grad_fn called directly":
        return F.linear(x.requires_grad_(), w.requires_grad_()).grad_fn(G)
    if route == "aten nll_loss_backward":
        logp = torch.randn(3, 4).log_softmax(1)
        return torch.ops.aten.nll_loss_backward(torch.tensor(1.0), logp, torch.tensor([0, 1, 2]),
                                                None, 1, -100, torch.tensor(3.0))
    if route == "aten _log_softmax_backward_data":
        return torch.ops.aten._log_softmax_backward_data(torch.randn(3, 4), torch.randn(3, 4), 1,
                                                         torch.float32)
    if route == "torch._softmax_backward_data":
        return torch._softmax_backward_data(torch.randn(3, 4), torch.randn(3, 4), 1, torch.float32)
    raise ValueError(route)


ROUTES = ["jacfwd", "jacfwd imported earlier", "jvp", "jacrev", "hessian", "forward_ad",
          "autograd.functional", "engine captured earlier", "grad_fn called directly",
          "aten nll_loss_backward", "aten _log_softmax_backward_data",
          "torch._softmax_backward_data"]


@pytest.mark.parametrize("route", ROUTES)
def test_the_autograd_entry_refuses_every_route_around_the_engine_and_restores_it(route):
    _attack(route)                                   # works before the block
    with forbidden([AUTOGRAD]), pytest.raises(ForbiddenFunction):
        _attack(route)
    _attack(route)                                   # and after it


def test_honest_tensor_maths_runs_under_the_autograd_entry():
    x, w, G = _linear_inputs()
    with forbidden([AUTOGRAD]):
        grad_x, grad_w = G @ w, G.T @ x
        p = torch.softmax(torch.randn(3, 4), dim=1)
    torch.testing.assert_close(grad_x, G @ w)
    assert grad_w.shape == w.shape and p.shape == (3, 4)


def test_the_saved_tensor_refusal_and_every_route_come_back_after_an_exception():
    with pytest.raises(ZeroDivisionError):
        with forbidden([AUTOGRAD]):
            1 / 0
    for route in ROUTES:
        _attack(route)
    x = torch.ones(2, requires_grad=True)
    torch.sigmoid(x).sum().backward()                # sigmoid saves its output again
    s = torch.sigmoid(torch.ones(2))
    torch.testing.assert_close(x.grad, s * (1 - s))
# Refusing ATen operators at the dispatcher (set 7)

def test_aten_ops_refuses_operators_whatever_python_name_leads_to_them():
    import torch

    from nnbook.grading.forbidden import AtenOps, ForbiddenFunction, forbidden
    x = torch.randn(5, 3)
    with forbidden([AtenOps(["batch_norm"])]):
        for call in (lambda: torch._C._VariableFunctions.batch_norm(x, None, None, None, None,
                                                                    True, 0.1, 1e-5, False),
                     lambda: torch.ops.aten.native_batch_norm(x, None, None, None, None, True,
                                                              0.1, 1e-5)):
            try:
                call()
                raise AssertionError("expected ForbiddenFunction")
            except ForbiddenFunction as error:
                assert "batch_norm" in str(error)
        assert torch.allclose(x.mean(dim=0), x.sum(dim=0) / 5)    # other operators still run
    torch._C._VariableFunctions.batch_norm(x, None, None, None, None, True, 0.1, 1e-5, False)


def test_a_check_in_a_fresh_process_passes_an_honest_answer_while_torch_loads_lazily():
    """PyTorch imports torch._dynamo on first use; if that happened while operators were replaced
    by refusing functions, an honest batch-norm answer failed in a fresh notebook. Run set 7's q2
    check in a new interpreter, where nothing has loaded it yet."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    script = '''
import json, sys
nb = json.load(open(sys.argv[1]))
src = next("".join(c["source"]) for c in nb["cells"]
           if c["cell_type"] == "code" and "def batch_norm_train" in "".join(c["source"]))
ns = {}
exec("import torch\\nimport torch.nn.functional as F\\n" + src, ns)
from nnbook.grading import runner
from nnbook.grading.sets.ex07_regularization import EXERCISE_SET
assert "torch._dynamo" not in sys.modules        # nothing has loaded it before the check
result = runner.check_answer(EXERCISE_SET.question("q2"), ns["batch_norm_train"])
print(result.passed, len(result.cases), [c.message for c in result.cases if not c.passed])
'''
    out = subprocess.run([sys.executable, "-c", script, str(root / "solutions" / "07-regularization.ipynb")],
                         capture_output=True, text=True, timeout=300, check=True).stdout.split()
    assert out[0] == out[1] == "3", out


def test_in_the_grader_a_question_s_call_may_still_use_its_own_set_s_other_references(monkeypatch):
    """Set 3's third question measures the answer's tensor with the first question's reference
    (fans_reference) while the answer runs; only the question's own key, and other sets' keys,
    are refused."""
    from nnbook.grading import questions, runner
    from nnbook.grading.sets.ex03_parameter_initialization import EXERCISE_SET as SET3

    monkeypatch.setattr(questions, "_grading_mode", True)
    q3 = SET3.question("q3")
    refused = {name for _, name in runner._refused_for(q3)}
    assert "he_normal_reference" in refused and "fans_reference" not in refused
    assert "kl_bits_reference" in refused                                 # another set's key
