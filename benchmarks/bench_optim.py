"""Time one optimizer step of each hand-written optimizer against torch.optim.

The model is a ~1M-parameter MLP (1024-768-256-10, six tensors) with fixed random gradients;
only ``optimizer.step()`` is timed (warm-up, then the median over interleaved rounds).
Compared: ``nnbook.optim`` against ``torch.optim`` with ``foreach=False`` (the same per-tensor
loop; target: within 1.5x on the CPU), with torch's default (on CUDA its multi-tensor
"foreach" kernels; on the CPU the same per-tensor loop), and with ``fused=True`` where torch
offers it for the optimizer and device (one kernel for all tensors; "-" where it does not).
Prints a table per device and writes ``benchmarks/results/optim.json`` (``--out``).

    python benchmarks/bench_optim.py                 # CPU, and CUDA when present
    python benchmarks/bench_optim.py --device cpu --rounds 30 --threads 1
    python benchmarks/bench_optim.py --quick         # 5 rounds of 5 steps
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

import nnbook.optim

sys.path.insert(0, str(Path(__file__).resolve().parent))
import report  # noqa: E402

RATIO_TARGET = 1.5  # ours / torch's foreach=False

CONFIGS = [
    ("SGD", dict(lr=0.01, momentum=0.9)),
    ("Adagrad", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01)),
    ("Adam", dict(lr=1e-3)),
    ("AdamW", dict(lr=1e-3)),
    ("Adam", dict(lr=1e-3, amsgrad=True, weight_decay=1e-4)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True)),
]


def label(name, kwargs):
    return name + "(" + ", ".join(f"{k}={v}" for k, v in kwargs.items()) + ")"


def mlp_parameters(device):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(1024, 768), torch.nn.ReLU(),
                                torch.nn.Linear(768, 256), torch.nn.ReLU(),
                                torch.nn.Linear(256, 10)).to(device)
    params = list(model.parameters())
    for param in params:
        param.grad = torch.randn_like(param) * 1e-2
    return params


def time_steps(optimizers, device, rounds, steps_per_round):
    """Median seconds per ``step()`` of each optimizer, measured in interleaved rounds.

    Taking turns (ours, torch's, ours, ...) spreads any slow spell of a busy machine over all
    contenders instead of one; the median over rounds then ignores the spells.
    """
    def synchronize():
        if device.type == "cuda":
            torch.cuda.synchronize()

    for optimizer in optimizers.values():
        for _ in range(3):  # warm-up: lazy state creation, first-call overheads
            optimizer.step()
    times = {key: [] for key in optimizers}
    for _ in range(rounds):
        for key, optimizer in optimizers.items():
            synchronize()
            start = time.perf_counter()
            for _ in range(steps_per_round):
                optimizer.step()
            synchronize()  # a GPU step counts when the GPU is done, not when it is queued
            times[key].append((time.perf_counter() - start) / steps_per_round)
    return {key: statistics.median(values) for key, values in times.items()}


def fused(name, params, kwargs):
    """torch's fused optimizer for these parameters, or None where torch has none."""
    try:
        optimizer = getattr(torch.optim, name)(params, fused=True, **kwargs)
        optimizer.step()  # some combinations are refused only at the first step
    except (TypeError, RuntimeError, ValueError):
        return None
    return optimizer


def run(device, rounds, steps_per_round):
    params = mlp_parameters(device)
    count = sum(p.numel() for p in params)
    title = (f"{device.type.upper()}: MLP with {count:,} parameters in {len(params)} tensors, "
             f"{torch.get_num_threads()} threads, ms per step (median of {rounds} rounds "
             f"of {steps_per_round} steps)")
    rows = []
    for name, kwargs in CONFIGS:
        optimizers = {
            "ours": getattr(nnbook.optim, name)(params, **kwargs),
            "plain": getattr(torch.optim, name)(params, foreach=False, **kwargs),
            "default": getattr(torch.optim, name)(params, **kwargs),
        }
        fast = fused(name, params, kwargs)
        if fast is not None:
            optimizers["fused"] = fast
        ms = {key: 1e3 * t for key, t in time_steps(optimizers, device, rounds,
                                                    steps_per_round).items()}
        rows.append({"device": device.type, "optimizer": label(name, kwargs), "nnbook_ms": ms["ours"],
                     "foreach_false_ms": ms["plain"], "default_ms": ms["default"],
                     "fused_ms": ms.get("fused"), "ours_over_false": ms["ours"] / ms["plain"],
                     "ours_over_default": ms["ours"] / ms["default"],
                     "within_target": ms["ours"] / ms["plain"] <= RATIO_TARGET})
    report.print_table([("optimizer", "optimizer"), ("nnbook_ms", "nnbook"),
                        ("foreach_false_ms", "foreach=False"), ("default_ms", "default"),
                        ("fused_ms", "fused"), ("ours_over_false", "ours/False"),
                        ("ours_over_default", "ours/default")], rows, title="\n" + title)
    return {"device": device.type, "parameters": count, "tensors": len(params),
            "threads": torch.get_num_threads(), "rounds": rounds, "steps_per_round": steps_per_round,
            "rows": rows}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=["cpu", "cuda", "all"], default="all")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--steps-per-round", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="5 rounds of 5 steps")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--out", type=Path, default=report.RESULTS)
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.steps_per_round = 5, 5
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = ["cpu", "cuda"] if args.device == "all" else [args.device]
    results, skipped = [], []
    for name in devices:
        if name == "cuda" and not torch.cuda.is_available():
            print("\nCUDA: no GPU on this machine, skipped")
            skipped.append("cuda")
            continue
        results.append(run(torch.device(name), args.rounds, args.steps_per_round))
    data = {"devices": results, "skipped": skipped, "ratio_target": RATIO_TARGET}
    report.write("optim", data, args.out)
    return data


if __name__ == "__main__":
    main()
