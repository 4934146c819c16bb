"""Exercise set 4 grades correctly: the solutions get full marks from ``nnbook-grade`` (with the
instructor's private tests), the generated exercises get zero, every question has more instructor
cases than public ones, typical wrong answers lose points, and no stub, docstring or hint gives an
answer away."""

import math
import re
from pathlib import Path

import nbformat
import pytest
import torch

import exercise_set_checks as checks  # noqa: E402  (a module next to this file)
import nnbook.functional
from nnbook.grading.sets.ex04_loss_functions import EXERCISE_SET as EX
from nnbook.grading.forbidden import ForbiddenFunction, forbidden
from nnbook.grading.sets.ex04_loss_functions import (FORBIDDEN_Q2, FORBIDDEN_Q3,
                                                     bce_with_logits_reference,
                                                     cross_entropy_weighted_reference,
                                                     smoothing_floor_reference)

ROOT = Path(__file__).resolve().parents[1]
NAME = "04-loss-functions.ipynb"
SOLUTION, EXERCISE = ROOT / "solutions" / NAME, ROOT / "exercises" / NAME


def grade(tmp_path, notebook):
    return checks.grade(tmp_path, notebook)


def test_the_solutions_get_full_marks_with_the_private_tests(tmp_path):
    rows, report = grade(tmp_path, SOLUTION)
    assert len(rows) == len(EX.questions)
    assert f"Score: {EX.max_points:g} / {EX.max_points:g}" in report, report
    cases = len(EX.question("q2").cases) + 1  # the private file adds one case to q2
    assert re.search(rf"^q2 +cross_entropy_weighted +3 / 3 +ok +{cases} of {cases} cases passed$",
                     report, re.M), report


def test_the_generated_exercises_get_zero(tmp_path):
    checks.assert_zero(tmp_path, EX, EXERCISE)


def test_every_question_has_more_instructor_cases_than_public_ones():
    checks.assert_more_instructor_cases_than_public_ones(EX)


# --------------------------------------------------------------------------- the references

def test_the_measured_smoothing_floor_is_the_entropy_of_the_smoothed_target():
    for c, eps in [(3, 0.1), (7, 0.4), (2, 1.0)]:
        on, off = 1 - eps + eps / c, eps / c
        entropy = -(on * math.log(on) + (c - 1) * off * math.log(off))
        assert math.isclose(smoothing_floor_reference(c, eps), entropy, rel_tol=1e-9)


def test_the_references_equal_torch():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(6, 4, generator=g) * 5
    target = torch.tensor([0, 3, -100, 2, 1, 3])
    weight = torch.tensor([1.0, 2.0, 0.5, 3.0])
    torch.testing.assert_close(cross_entropy_weighted_reference(logits, target, weight),
                               torch.nn.CrossEntropyLoss(weight=weight)(logits, target))
    z, y = torch.randn(5, 3, generator=g) * 5, (torch.rand(5, 3, generator=g) > 0.5).float()
    pos_weight = torch.tensor([0.5, 2.0, 7.0])
    for reduction in ("mean", "sum", "none"):
        torch.testing.assert_close(
            bce_with_logits_reference(z, y, pos_weight, reduction),
            torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight, reduction=reduction)(z, y))


# --------------------------------------------------------------------------- wrong answers fail

def failures(question_id, answer):
    return checks.failures(EX, question_id, answer)


def test_a_kl_without_care_for_zeros_or_in_nats_fails():
    def naive(p, q):
        return (p * torch.log2(p / q)).sum(dim=-1)

    def nats(p, q):
        terms = torch.where(p > 0, p * torch.log(torch.where(p > 0, p / q, 1.0)), 0.0)
        return terms.sum(dim=-1)

    assert failures("q1", naive) >= 2
    assert failures("q1", nats) >= 5


def test_cross_entropy_with_a_plain_mean_or_a_naive_softmax_fails():
    def plain_mean(logits, target, weight=None, ignore_index=-100):
        kept = target != ignore_index
        log_q = torch.log_softmax(logits, dim=1)[kept]
        picked = log_q.gather(1, target[kept].unsqueeze(1)).squeeze(1)
        w = torch.ones_like(picked) if weight is None else weight[target[kept]]
        return -(w * picked).mean()          # divides by N, not by the summed weights

    def naive_softmax(logits, target, weight=None, ignore_index=-100):
        q = logits.exp() / logits.exp().sum(dim=1, keepdim=True)
        return cross_entropy_weighted_reference(q.log(), target, weight, ignore_index)

    assert failures("q2", plain_mean) >= 3
    assert failures("q2", naive_softmax) >= 2


def test_bce_through_the_sigmoid_or_with_pos_weight_on_the_wrong_term_fails():
    def through_sigmoid(z, y, pos_weight=None, reduction="mean"):
        p = torch.sigmoid(z)
        w = 1.0 if pos_weight is None else pos_weight
        loss = -(w * y * p.log() + (1 - y) * (1 - p).log())
        return {"mean": loss.mean(), "sum": loss.sum()}.get(reduction, loss)

    def weight_on_negatives(z, y, pos_weight=None, reduction="mean"):
        w = 1.0 if pos_weight is None else pos_weight
        loss = -(y * torch.nn.functional.logsigmoid(z) + w * (1 - y) * torch.nn.functional.logsigmoid(-z))
        return {"mean": loss.mean(), "sum": loss.sum()}.get(reduction, loss)

    assert failures("q3", through_sigmoid) >= 2
    assert failures("q3", weight_on_negatives) >= 3


def test_a_smoothing_floor_that_forgets_the_other_classes_fails():
    def one_term(num_classes, epsilon):
        on = 1 - epsilon + epsilon / num_classes
        return -on * math.log(on)

    def no_floor(num_classes, epsilon):
        return 0.0

    assert failures("q4", one_term) >= 5 and failures("q4", no_floor) >= 5


def test_the_chapters_cells_reassembled_do_not_pass_q2_or_q3():
    """Q2 and Q3 cannot be answered by pasting the chapter's cells: its log-softmax, logsumexp,
    logsigmoid and softplus are forbidden while the answer runs, and its row-wise indexing does not
    handle sequences."""
    def weighted_mean_by_rows(log_q, target, weight, ignore_index):
        """The chapter's row-wise picking: one example per row, so (N, C) only."""
        kept = target != ignore_index
        safe = torch.where(kept, target, 0)
        per_example = -log_q[torch.arange(len(target)), safe]
        w = torch.ones_like(per_example) if weight is None else weight[safe]
        w = torch.where(kept, w, 0.0)
        return (w * per_example).sum() / w.sum()

    def chapter_q2(logits, target, weight=None, ignore_index=-100):
        log_q = logits - logits.logsumexp(dim=1, keepdim=True)
        return weighted_mean_by_rows(log_q, target, weight, ignore_index)

    def only_batches(logits, target, weight=None, ignore_index=-100):
        m = logits.max(dim=1, keepdim=True).values
        log_q = logits - m - (logits - m).exp().sum(dim=1, keepdim=True).log()
        return weighted_mean_by_rows(log_q, target, weight, ignore_index)

    def chapter_q3(z, y, pos_weight=None, reduction="mean"):
        w = 1.0 if pos_weight is None else pos_weight
        loss = -(w * y * torch.nn.functional.logsigmoid(z)
                 + (1 - y) * torch.nn.functional.logsigmoid(-z))
        return {"mean": loss.mean(), "sum": loss.sum()}.get(reduction, loss)

    def softplus_as_written(z, y, pos_weight=None, reduction="mean"):
        w = 1.0 if pos_weight is None else pos_weight
        log_sigmoid = -torch.log(1 + torch.exp(-z))           # overflows for z << 0
        loss = (1 - y) * z - (1 + (w - 1) * y) * log_sigmoid
        return {"mean": loss.mean(), "sum": loss.sum()}.get(reduction, loss)

    assert failures("q2", chapter_q2) == len(EX.question("q2").cases)
    assert failures("q2", only_batches) >= 4               # every sequence case
    assert failures("q3", chapter_q3) == len(EX.question("q3").cases)
    assert failures("q3", softplus_as_written) >= 2


def test_answers_built_on_logcumsumexp_or_logaddexp_fail():
    """torch.logcumsumexp (its last entry is a stable logsumexp) and torch.logaddexp / logaddexp2
    (logaddexp(0, -z) is softplus(-z)) would skip the derivations of Q2 and Q3: they are
    forbidden, in both their torch. and Tensor. forms, so answers built on them fail every case,
    although they are right when nothing is forbidden."""
    def ce_logcumsumexp(logits, target, weight=None, ignore_index=-100, method=True):
        lse = (logits.logcumsumexp(1) if method else torch.logcumsumexp(logits, 1))
        log_q = logits - lse.narrow(1, logits.shape[1] - 1, 1)
        kept = target != ignore_index
        safe = torch.where(kept, target, 0)
        picked = -log_q.gather(1, safe.unsqueeze(1)).squeeze(1)
        w = torch.ones_like(picked) if weight is None else weight[safe]
        w = torch.where(kept, w, 0.0)
        return (w * picked).sum() / w.sum()

    def bce_logaddexp(z, y, pos_weight=None, reduction="mean", form="torch"):
        w = 1.0 if pos_weight is None else pos_weight
        zeros = torch.zeros_like(z)
        softplus_minus_z = {"torch": lambda: torch.logaddexp(zeros, -z),
                            "method": lambda: zeros.logaddexp(-z),
                            "base 2": lambda: torch.logaddexp2(zeros, -z / math.log(2))
                            * math.log(2)}[form]()
        loss = (1 - y) * z + (1 + (w - 1) * y) * softplus_minus_z
        return {"mean": loss.mean(), "sum": loss.sum()}.get(reduction, loss)

    logits = torch.tensor([[1000.0, 0.0, -1000.0], [3.0, -2.0, 0.5]], dtype=torch.float64)
    target = torch.tensor([2, -100])
    for method in (True, False):
        torch.testing.assert_close(ce_logcumsumexp(logits, target, method=method),
                                   cross_entropy_weighted_reference(logits, target, None, -100))
        answer = (lambda *a, method=method, **k: ce_logcumsumexp(*a, **k, method=method))
        assert failures("q2", answer) == len(EX.question("q2").cases)
    z = torch.tensor([-1000.0, -3.0, 0.0, 2.0, 1000.0], dtype=torch.float64)
    y = torch.tensor([1.0, 0.0, 1.0, 0.3, 0.0], dtype=torch.float64)
    pos_weight = torch.tensor(3.0, dtype=torch.float64)
    for form in ("torch", "method", "base 2"):
        torch.testing.assert_close(bce_logaddexp(z, y, pos_weight, "none", form=form),
                                   bce_with_logits_reference(z, y, pos_weight, "none"))
        answer = (lambda *a, form=form, **k: bce_logaddexp(*a, **k, form=form))
        assert failures("q3", answer) == len(EX.question("q3").cases)


def test_forbidden_functions_raise_inside_and_are_restored_after():
    x = torch.randn(2, 3)
    before = torch.logsumexp(x, dim=1)
    with forbidden(FORBIDDEN_Q2 + FORBIDDEN_Q3):
        for call in (lambda: torch.logsumexp(x, dim=1), lambda: x.logsumexp(dim=1),
                     lambda: x.log_softmax(dim=1), lambda: torch.nn.CrossEntropyLoss()(x, x.softmax(1)),
                     lambda: torch.nn.functional.logsigmoid(x), lambda: torch.nn.Softplus()(x),
                     lambda: nnbook.functional.cross_entropy(x, torch.tensor([0, 1]))):
            with pytest.raises(ForbiddenFunction):
                call()
        assert torch.exp(x).shape == x.shape and x.max(dim=1).values.shape == (2,)
    torch.testing.assert_close(x.logsumexp(dim=1), before)
    torch.testing.assert_close(torch.nn.functional.log_softmax(x, 1), x - before[:, None])
    assert "logsumexp" not in vars(torch.Tensor)
    torch.nn.functional.logsigmoid(x)
    nnbook.functional.cross_entropy(x, torch.tensor([0, 1]))


# --------------------------------------------------------------------------- no answer leaks

TRIVIAL = frozenset({"return loss", "return loss.sum()", "return loss.mean()",
                     'if reduction == "mean":', 'if reduction == "sum":'})


def solution_lines():
    return checks.solution_lines(SOLUTION, TRIVIAL)


def hints_and_stubs():
    return checks.hints_and_stubs(EX, EXERCISE)


def test_no_stub_or_hint_contains_a_line_of_a_solution():
    lines = solution_lines()
    checks.assert_no_solution_line_leaks(lines, hints_and_stubs(), at_least=12)


@pytest.mark.parametrize("giveaway", [
    r"log1p", r"logsumexp", r"\.max\(", r"clamp", r"softplus", r"log_softmax", r"num_classes - 1",
    r"C - 1", r"weight\[", r"p > 0", r"H\(p\)", r"H\(p_", r"entropy of", r"- *z\b", r"\bgather\b",
])
def test_hints_and_stubs_do_not_state_the_formulas(giveaway):
    checks.assert_no_giveaway(giveaway, hints_and_stubs())


def test_the_exercise_notebook_states_no_answer_in_its_questions():
    markdown = "\n".join(c.source for c in nbformat.read(EXERCISE, 4).cells if c.cell_type == "markdown")
    for giveaway in ["entropy of the smoothed", "H(p^", "subtract the largest", "max(-z", "|z|)",
                     "divided by the sum of the weights", "q = p^", "m + log"]:
        assert giveaway not in markdown, giveaway


def test_the_demo_of_q4_measures_other_sizes_than_the_graded_cases():
    graded = {case.make_args("cpu") for case in EX.question("q4").cases}
    demo = next(c.source for c in nbformat.read(EXERCISE, 4).cells
                if c.cell_type == "code" and "Predict, then measure" in c.source)
    pairs = {(int(c), float(e)) for c, e in re.findall(r"\((\d+), ([\d.]+)\)", demo)}
    assert len(pairs) == 3 and not pairs & graded
