

def test_the_autograd_entry_refuses_backward_copies_of_grad_and_torch_func():
    import torch
    from torch.autograd import grad as copied_grad

    from nnbook.grading.forbidden import AUTOGRAD, ForbiddenFunction, forbidden
    x = torch.ones(2, requires_grad=True)
    with forbidden([AUTOGRAD]):
        for attempt in (lambda: (x * 2).sum().backward(), lambda: copied_grad((x * 2).sum(), x),
                        lambda: torch.func.grad(lambda t: (t * 2).sum())(torch.ones(2))):
            try:
                attempt()
                raise AssertionError("autograd ran")
            except ForbiddenFunction:
                pass
    (x * 2).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]


def test_a_function_bound_under_another_name_refuses_too():
    import torch

    import nnbook.backprop
    from nnbook.backprop import relative_error as copy
    from nnbook.grading.forbidden import ForbiddenFunction, forbidden
    import pytest
    with forbidden([(nnbook.backprop, "relative_error")]):
        with pytest.raises(ForbiddenFunction, match="relative_error"):
            copy(torch.ones(2), torch.ones(2))
    assert copy(torch.ones(2), torch.ones(2)) == 0.0
