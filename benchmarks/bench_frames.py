"""Frame rendering per interactive figure, and the live figure's redraw latency per control.

Runs every chapter and solution notebook in a fresh kernel with ``frame_probe`` installed, so
each figure the book really makes is measured (a new figure is picked up by itself):

- ms per frame rendered three ways (a fresh figure per frame in one process, the way frames
  were made before; one figure moved from frame to frame; that split over worker processes),
  CPU ms per frame (worker processes included), the number of frames and their bytes;
- the live figure (Jupyter/Colab): time to redraw after each control moves, median and 95th
  percentile, on a figure that has rendered only its default frame (so most moves render a new
  frame; the frontend's round trip is not included). Target: median under 100 ms, p95 under 250.

    python benchmarks/bench_frames.py
    python benchmarks/bench_frames.py --fresh-sample 30 --repeat 1      # quicker
"""

import argparse
import json
import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
import report  # noqa: E402
from bench_notebooks import notebooks  # noqa: E402

MARKER = "FRAME-PROBE-RESULTS "
LIVE_MEDIAN_TARGET_MS, LIVE_P95_TARGET_MS, SPEEDUP_TARGET = 100.0, 250.0, 4.0


def probe_notebook(path: Path, fresh_sample, repeat, timeout=1800) -> list[dict]:
    nb = nbformat.read(path, as_version=4)
    if "interactive_figure" not in "".join(c.source for c in nb.cells if c.cell_type == "code"):
        return []
    here = Path(__file__).resolve().parent
    nb.cells.insert(0, nbformat.v4.new_code_cell(
        f"import sys; sys.path.insert(0, {str(here)!r})\n"
        f"import frame_probe; frame_probe.install(fresh_sample={fresh_sample!r}, repeat={repeat})"))
    nb.cells.append(nbformat.v4.new_code_cell(
        f"import json; print({MARKER!r} + json.dumps(frame_probe.RESULTS))"))
    saved = os.environ.get("NNBOOK_STATIC_FRAMES")
    os.environ["NNBOOK_STATIC_FRAMES"] = "0"  # the probe renders the grids itself
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    finally:
        if saved is None:
            os.environ.pop("NNBOOK_STATIC_FRAMES")
        else:
            os.environ["NNBOOK_STATIC_FRAMES"] = saved
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.output_type == "stream")
    return json.loads(text.split(MARKER, 1)[1])


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every chapter and solution")
    parser.add_argument("--fresh-sample", type=int, default=None,
                        help="time the fresh-figure baseline on the first N frames only")
    parser.add_argument("--repeat", type=int, default=3, help="passes over each control (latency)")
    parser.add_argument("--out", type=Path, default=report.RESULTS)
    args = parser.parse_args(argv)
    figures, controls = [], []
    for path in [p.resolve() for p in args.notebooks] or notebooks():
        name = path.relative_to(report.ROOT).as_posix()
        print(f"{name} ...", flush=True)
        for k, result in enumerate(probe_notebook(path, args.fresh_sample, args.repeat), 1):
            fresh = result["fresh_one_process"]["ms_per_frame"]
            row = {"notebook": name, "figure": k, "plot": result["plot"], "frames": result["frames"],
                   "kB": result["bytes"] / 1000, "fresh_ms": fresh,
                   "moved_ms": result["moved_one_process"]["ms_per_frame"],
                   "parallel_ms": result["moved_in_parallel"]["ms_per_frame"],
                   "workers": result["workers"],
                   "fresh_cpu_ms": result["fresh_one_process"]["cpu_ms_per_frame"],
                   "parallel_cpu_ms": result["moved_in_parallel"]["cpu_ms_per_frame"]}
            row["speedup"] = fresh / row["parallel_ms"]
            row["within_target"] = row["speedup"] >= SPEEDUP_TARGET
            figures.append(row)
            for control, times in result["live_ms"].items():
                med, p95 = report.median(times), report.percentile(times, 95)
                controls.append({"notebook": name, "figure": k, "control": control, "moves": len(times),
                                 "median_ms": med, "p95_ms": p95,
                                 "within_target": med < LIVE_MEDIAN_TARGET_MS and p95 < LIVE_P95_TARGET_MS})
    report.print_table([("notebook", "notebook"), ("figure", "#"), ("plot", "plot"), ("frames", "frames"),
                        ("kB", "kB"), ("fresh_ms", "fresh ms/frame"), ("moved_ms", "moved"),
                        ("parallel_ms", "moved+parallel"), ("workers", "procs"), ("speedup", "speed-up"),
                        ("within_target", "≥4×")], figures, title="Frame rendering per figure")
    report.print_table([("notebook", "notebook"), ("figure", "#"), ("control", "control"), ("moves", "moves"),
                        ("median_ms", "median ms"), ("p95_ms", "p95 ms"), ("within_target", "ok")],
                       controls, title="Live figure: redraw after a control moves")
    data = {"figures": figures, "controls": controls, "fresh_sample": args.fresh_sample,
            "targets": {"speedup": SPEEDUP_TARGET, "live_median_ms": LIVE_MEDIAN_TARGET_MS,
                        "live_p95_ms": LIVE_P95_TARGET_MS}}
    report.write("frames", data, args.out)
    return data


if __name__ == "__main__":
    main()
