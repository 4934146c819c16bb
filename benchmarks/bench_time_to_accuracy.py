"""Time to accuracy: seconds of training until each case study reaches the accuracy its chapter states.

Each case (Chapter 8's phone-price network, Chapter 9's digit MLP) is trained with exactly the
recipe of its chapter, built by the same functions of ``nnbook`` the chapter calls, one epoch at
a time. After each epoch the clock stops, the test accuracy is measured (not timed), and the run
ends at the first epoch that reaches the chapter's stated accuracy, or at the chapter's epoch
budget. Only training is timed (forward, loss, backward, step, and the data loader), as
``nnbook.train.fit`` runs it; a run is repeated ``--repeat`` times with the same seed and the
median is reported. ``--device all`` measures the CPU and, when one is present, the GPU.

    python benchmarks/bench_time_to_accuracy.py                 # 3 runs per case and device
    python benchmarks/bench_time_to_accuracy.py --repeat 1 --device cpu

Writes ``benchmarks/results/time_to_accuracy.json``. The numbers of a tiny model say little
about a GPU: a 20-64-32-4 network on 1,600 rows spends its time launching kernels and moving
small batches, so the GPU can be slower than the CPU here; the table reports what happened.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

import nnbook
from nnbook.train import evaluate, fit

sys.path.insert(0, str(Path(__file__).resolve().parent))
import report  # noqa: E402

def phones(device):
    """Chapter 8: the phone table's 20-64-32-4 network, Adam at 1e-3, batches of 32 (nnbook.tabular)."""
    from torch import nn

    from nnbook import tabular

    recipe = tabular.RECIPE
    (x_train, y_train), _, (x_test, y_test) = tabular.phone_split(recipe["split_seed"])
    mean, std = tabular.fit_standardizer(x_train)
    nnbook.seed_everything(recipe["seed"])
    model = tabular.phone_mlp().to(device)
    return {"model": model, "loss_fn": nn.CrossEntropyLoss(),
            "optimizer": torch.optim.Adam(model.parameters(), lr=recipe["lr"]),
            "train_loader": tabular.phone_loader(tabular.standardize(x_train, mean, std), y_train,
                                                 recipe["batch_size"], recipe["seed"]),
            "test_loader": [(tabular.standardize(x_test, mean, std), y_test)],
            "target": tabular.STATED_TEST_ACCURACY, "max_epochs": recipe["epochs"],
            "description": "Chapter 8: phone prices, 20-64-32-4, Adam"}


def digits(device):
    """Chapter 9: the 8x8 digits' 64-128-64-10 MLP, Adam at 1e-3, batches of 64 (nnbook.digits)."""
    from torch import nn

    from nnbook import digits as d

    nnbook.seed_everything(0)
    model = d.digits_mlp().to(device)
    train, _, test = d.digits_loaders(d.BATCH_SIZE, 0, pin_memory=device.type == "cuda")
    return {"model": model, "loss_fn": nn.CrossEntropyLoss(),
            "optimizer": d.make_optimizer("adam", model.parameters(), d.LR),
            "train_loader": train, "test_loader": test, "target": d.STATED_TEST_ACCURACY,
            "max_epochs": d.EPOCHS, "description": "Chapter 9: 8x8 digits, 64-128-64-10, Adam"}


CASES = {"phones": phones, "digits": digits}  # name -> function(device) returning a dict: see run_case


def run_case(name, device, seed=0):
    """Train case ``name`` on ``device`` until its target accuracy; return the measurements.

    The case function returns ``model`` (already on ``device``), ``loss_fn``, ``optimizer``,
    ``train_loader``, ``test_loader``, ``target`` (the accuracy its chapter states, as a fraction),
    ``max_epochs`` (the chapter's epoch budget) and optionally ``scheduler``.
    """
    nnbook.seed_everything(seed)
    case = CASES[name](device)
    model, loss_fn, optimizer = case["model"], case["loss_fn"], case["optimizer"]
    seconds, reached, accuracy = 0.0, None, float("nan")
    for epoch in range(1, case["max_epochs"] + 1):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fit(model, loss_fn, optimizer, case["train_loader"], epochs=1, device=device,
            scheduler=case.get("scheduler"), progress=False)
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds += time.perf_counter() - start
        _, accuracy = evaluate(model, loss_fn, case["test_loader"], device)
        if accuracy >= case["target"]:
            reached = epoch
            break
    return {"seconds": seconds, "epochs": reached if reached else case["max_epochs"],
            "reached": reached is not None, "accuracy": accuracy, "target": case["target"],
            "max_epochs": case["max_epochs"], "description": case["description"]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--device", choices=["cpu", "cuda", "all"], default="all")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--out", type=Path, default=report.RESULTS)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = ["cpu"] if args.device == "cpu" else ["cuda"] if args.device == "cuda" else ["cpu", "cuda"]
    skipped = []
    if "cuda" in devices and not torch.cuda.is_available():
        devices.remove("cuda")
        skipped.append("cuda")
    rows = []
    for name in CASES:
        for device_name in devices:
            device = torch.device(device_name)
            runs = [run_case(name, device) for _ in range(args.repeat)]
            first = runs[0]
            rows.append({"case": name, "description": first["description"], "device": device_name,
                         "target": first["target"], "max_epochs": first["max_epochs"],
                         "epochs": first["epochs"], "reached": all(r["reached"] for r in runs),
                         "accuracy": first["accuracy"],
                         "median_s": statistics.median(r["seconds"] for r in runs),
                         "max_s": max(r["seconds"] for r in runs), "threads": torch.get_num_threads()})
    report.print_table([("case", "case"), ("device", "device"), ("target", "target"),
                        ("epochs", "epochs"), ("reached", "reached"), ("accuracy", "accuracy"),
                        ("median_s", "median (s)"), ("max_s", "slowest (s)")], rows,
                       title="Seconds of training to the accuracy each chapter states")
    report.write("time_to_accuracy", {"repeat": args.repeat, "rows": rows, "skipped": skipped},
                 args.out)
    return 0 if all(r["reached"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
