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
            with pytest.raises(ForbiddenFunction, match="autograd is not allowed"):
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


# --- Chapter 7: refusing ATen operators at the dispatcher ---

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
