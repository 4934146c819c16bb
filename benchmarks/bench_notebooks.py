"""Execution time of every chapter and solution notebook, each in a fresh kernel.

Finds the notebooks itself (``chapters/*.ipynb`` and ``solutions/*.ipynb``), so a new chapter is
measured as soon as it lands. Each notebook is executed top to bottom in a new kernel, ``--repeat``
times, nothing written back; the table gives the median and the slowest run, against the
targets (a chapter under 30 s, a case study under 60 s, the whole book under 5 minutes).

Two ways of running are timed:

- ``outputs``: as ``tools/execute_notebooks.py`` stores the committed outputs and nbval checks
  them (``NNBOOK_STATIC_FRAMES=1``: every frame of every interactive figure is rendered);
- ``reader``: as a reader runs it in Jupyter or Colab (only the default frames; ``--skip-reader``
  leaves this out).

    python benchmarks/bench_notebooks.py                 # 3 runs each, both ways
    python benchmarks/bench_notebooks.py --repeat 1 --skip-reader
    python benchmarks/bench_notebooks.py chapters/01-neurons-and-layers.ipynb
"""

import argparse
import os
import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
import report  # noqa: E402

ROOT = report.ROOT
CHAPTER_TARGET_S, CASE_STUDY_TARGET_S, BOOK_TARGET_S = 30.0, 60.0, 300.0
FRAMES_ENV = "NNBOOK_STATIC_FRAMES"


def notebooks() -> list[Path]:
    return sorted((ROOT / "chapters").glob("*.ipynb")) + sorted((ROOT / "solutions").glob("*.ipynb"))


def is_case_study(path: Path) -> bool:
    """A case study is a chapter whose file name or opening cell says it is one ("This chapter,
    the second case study, ..."; "the first of the book's two case studies")."""
    if "case" in path.stem.lower():
        return True
    nb = nbformat.read(path, as_version=4)
    first = next((c.source for c in nb.cells if c.cell_type == "markdown"), "")
    text = " ".join(first.lower().split())
    return re.search(r"\b(first|second|third)( of the book's \w+)? case stud", text) is not None


def run_once(path: Path, static_frames: bool, timeout: int) -> float:
    """Seconds to start a fresh kernel and run every cell (wall clock)."""
    nb = nbformat.read(path, as_version=4)
    saved = os.environ.get(FRAMES_ENV)
    os.environ[FRAMES_ENV] = "1" if static_frames else "0"  # the kernel inherits it
    try:
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(path.parent)}})
        start = time.perf_counter()
        client.execute()
        return time.perf_counter() - start
    finally:
        if saved is None:
            os.environ.pop(FRAMES_ENV, None)
        else:
            os.environ[FRAMES_ENV] = saved


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every chapter and solution")
    parser.add_argument("--repeat", type=int, default=3, help="runs per notebook and way (median)")
    parser.add_argument("--skip-reader", action="store_true", help="time only the 'outputs' way")
    parser.add_argument("--timeout", type=int, default=1200, help="seconds a cell may run")
    parser.add_argument("--out", type=Path, default=report.RESULTS)
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    paths = [p.resolve() for p in args.notebooks] or notebooks()
    ways = ["outputs"] + ([] if args.skip_reader else ["reader"])
    rows = []
    for path in paths:
        name = path.relative_to(ROOT).as_posix()
        target = CASE_STUDY_TARGET_S if is_case_study(path) else CHAPTER_TARGET_S
        row = {"notebook": name, "target_s": target, "runs": args.repeat}
        for way in ways:
            times = []
            for i in range(args.repeat):
                print(f"{name} ({way}, run {i + 1}/{args.repeat}) ...", flush=True)
                times.append(run_once(path, way == "outputs", args.timeout))
            row[f"{way}_median_s"] = report.median(times)
            row[f"{way}_max_s"] = max(times)
        row["within_target"] = row["outputs_median_s"] < target
        rows.append(row)
    total = {way: sum(row[f"{way}_median_s"] for row in rows) for way in ways}
    columns = [("notebook", "notebook"), ("outputs_median_s", "outputs s (median)"),
               ("outputs_max_s", "slowest")]
    if "reader" in ways:
        columns += [("reader_median_s", "reader s (median)")]
    columns += [("target_s", "target s"), ("within_target", "ok")]
    report.print_table(columns, rows, title=f"Notebook execution, fresh kernel, median of {args.repeat}")
    print(f"\nwhole book: {total['outputs']:.1f} s storing outputs"
          + (f", {total['reader']:.1f} s as a reader" if "reader" in total else "")
          + f" (target {BOOK_TARGET_S:.0f} s)")
    data = {"repeat": args.repeat, "ways": ways, "rows": rows, "total_s": total,
            "book_target_s": BOOK_TARGET_S, "book_within_target": total["outputs"] < BOOK_TARGET_S}
    report.write("notebooks", data, args.out)
    return data


if __name__ == "__main__":
    main()
