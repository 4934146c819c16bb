"""The benchmark scripts' own logic (not their timings): the time-to-accuracy loop and the
Performance appendix's tables, which render every results file the book ships."""

import json
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "book" / "_ext"))

import bench_time_to_accuracy as tta  # noqa: E402
import performance_tables  # noqa: E402


def _easy_case(device, target=0.9, max_epochs=50):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 2, generator=g)
    y = (x[:, 0] > 0).long()
    model = nn.Linear(2, 2).to(device)
    return {"model": model, "loss_fn": nn.CrossEntropyLoss(),
            "optimizer": torch.optim.SGD(model.parameters(), lr=0.5),
            "train_loader": [(x, y)], "test_loader": [(x, y)], "target": target,
            "max_epochs": max_epochs, "description": "easy"}


def test_time_to_accuracy_stops_at_the_first_epoch_that_reaches_the_target(monkeypatch):
    monkeypatch.setitem(tta.CASES, "easy", _easy_case)
    run = tta.run_case("easy", torch.device("cpu"))
    assert run["reached"] and 1 <= run["epochs"] < 50 and run["accuracy"] >= 0.9
    # the same seeded run, done by hand, first reaches the target at that epoch
    torch.manual_seed(0)
    case = _easy_case(torch.device("cpu"))
    accuracies = []
    for _ in range(run["epochs"]):
        tta.fit(case["model"], case["loss_fn"], case["optimizer"], case["train_loader"], epochs=1,
                progress=False)
        accuracies.append(tta.evaluate(case["model"], case["loss_fn"], case["test_loader"])[1])
    assert accuracies[-1] >= 0.9 and all(a < 0.9 for a in accuracies[:-1])
    monkeypatch.setitem(tta.CASES, "easy", lambda device: _easy_case(device, target=1.01, max_epochs=3))
    run = tta.run_case("easy", torch.device("cpu"))
    assert not run["reached"] and run["epochs"] == 3


@pytest.mark.parametrize("name", sorted(performance_tables.TABLES))
def test_every_stored_benchmark_result_renders(name):
    path = ROOT / "benchmarks" / "results" / f"{name}.json"
    if not path.exists():
        pytest.skip(f"{path.name} not measured yet")
    lines = performance_tables.TABLES[name](json.loads(path.read_text(encoding="utf-8")))
    assert lines and all(isinstance(line, str) for line in lines)


def test_the_time_to_accuracy_table_says_when_a_target_was_missed():
    row = {"description": "d", "device": "cpu", "target": 0.9, "epochs": 5, "max_epochs": 5,
           "reached": False, "accuracy": 0.5, "median_s": 1.0, "max_s": 1.2}
    lines = performance_tables.time_to_accuracy({"repeat": 1, "rows": [row], "skipped": ["cuda"]})
    assert any("not reached" in line for line in lines) and "GPU: not measured" in lines[-1]
