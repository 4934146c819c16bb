"""What every benchmark script shares: the machine, a printed table, a JSON file of results.

Each script writes ``benchmarks/results/<name>.json`` (``{"machine": ..., "date": ...,
"rows": [...], ...}``); the book's appendix page "Performance" renders those files
(``book/_ext/performance_tables.py``), and ``benchmarks/run_all.py`` regenerates them all.
"""

import datetime
import json
import os
import platform
import statistics
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def machine() -> dict:
    """The machine the numbers come from, in words a reader can compare with their own."""
    import torch

    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    memory = None
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        memory = f"{pages / 2**30:.0f} GiB"
    except (ValueError, OSError, AttributeError):
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {"cpu": model, "cores": cores, "memory": memory, "gpu": gpu,
            "python": platform.python_version(), "torch": torch.__version__,
            "system": f"{platform.system()} {platform.release()}"}


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                             text=True, timeout=10)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def percentile(values, q: float) -> float:
    """The q-th percentile (0-100), linear between the two nearest ranks."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    k = (len(ordered) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def median(values) -> float:
    return statistics.median(values)


def print_table(columns: list[tuple[str, str]], rows: list[dict], title: str = "") -> None:
    """Print ``rows`` (dicts) as a table; ``columns`` are (key, header) pairs."""
    def cell(value):
        if value is None:
            return "-"
        if isinstance(value, float):
            return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.3g}"
        if isinstance(value, bool):
            return "yes" if value else "NO"
        return str(value)

    text = [[cell(row.get(key)) for key, _ in columns] for row in rows]
    widths = [max([len(header)] + [len(line[i]) for line in text]) for i, (_, header) in enumerate(columns)]
    if title:
        print(f"\n{title}")
    print("  ".join(header.ljust(w) for (_, header), w in zip(columns, widths)))
    print("  ".join("-" * w for w in widths))
    for line in text:
        print("  ".join(value.rjust(w) if i else value.ljust(w) for i, (value, w) in enumerate(zip(line, widths))))


def write(name: str, data: dict, out_dir: Path = RESULTS) -> Path:
    """Write ``data`` with the machine, date and commit to ``<out_dir>/<name>.json``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    record = {"benchmark": name, "date": now(), "commit": commit(), "machine": machine(), **data}
    path = out_dir / f"{name}.json"
    path.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nwritten to {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return path
