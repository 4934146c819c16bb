"""``{benchmark-table}``: a table of the book's Performance appendix, read from a benchmark's JSON.

    :::{benchmark-table} notebooks
    :::

renders ``benchmarks/results/notebooks.json`` (written by ``benchmarks/bench_notebooks.py``;
``benchmarks/run_all.py`` regenerates them all). A table whose file is missing says so in a
sentence instead of failing the build. The tables are Markdown, parsed by MyST like the page.
"""

import json
from pathlib import Path

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"


def _n(value, digits=1) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "**no**"
    if isinstance(value, (int, float)):
        return f"{value:,.{digits}f}" if isinstance(value, float) else f"{value:,}"
    return str(value)


def _mb(size) -> str:
    return "–" if size is None else f"{size / 1e6:.2f} MB"


def _kb(size) -> str:
    return "–" if size is None else f"{size / 1e3:,.0f} kB"


def _table(header, rows) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def _when(data) -> str:
    m = data["machine"]
    gpu = m.get("gpu") or "no GPU"
    return (f"*Measured {data['date']} (commit {data.get('commit') or '?'}) on {m['cpu']}, "
            f"{m['cores']} cores, {m.get('memory') or '?'} memory, {gpu}; Python {m['python']}, "
            f"torch {m['torch']}.*")


def notebooks(data):
    ways = data["ways"]
    header = ["notebook", "storing outputs (s)", "slowest run (s)"]
    header += ["as a reader (s)"] if "reader" in ways else []
    header += ["target (s)", "within"]
    rows = []
    for r in data["rows"]:
        row = [f"`{r['notebook']}`", _n(r["outputs_median_s"]), _n(r["outputs_max_s"])]
        row += [_n(r["reader_median_s"])] if "reader" in ways else []
        rows.append(row + [_n(r["target_s"], 0), _n(r["within_target"])])
    total = data["total_s"]
    rows.append(["**whole book**", f"**{_n(total['outputs'])}**", ""]
                + ([f"**{_n(total['reader'])}**"] if "reader" in ways else [])
                + [_n(data["book_target_s"], 0), _n(data["book_within_target"])])
    return [f"Median of {data['repeat']} run(s) per notebook, each in a fresh kernel.", ""] + _table(header, rows)


def frames(data):
    rows = [[f"`{r['notebook']}` #{r['figure']}", f"`{r['plot']}`", _n(r["frames"]), _kb(r["kB"] * 1000),
             _n(r["fresh_ms"]), _n(r["moved_ms"]), _n(r["parallel_ms"]), _n(r["workers"]),
             f"{r['speedup']:.1f}×", _n(r["fresh_cpu_ms"]), _n(r["parallel_cpu_ms"])]
            for r in data["figures"]]
    lines = _table(["figure", "plot", "frames", "bytes", "fresh (ms/frame)", "moved", "moved, parallel",
                    "processes", "speed-up", "CPU fresh (ms/frame)", "CPU moved, parallel"], rows)
    lines += ["", "Live figure in a kernel: time from a control's new value to the new picture "
              "(rendering it if it is new; the frontend's round trip is not included)."
              f" Target: median under {data['targets']['live_median_ms']:.0f} ms, "
              f"95th percentile under {data['targets']['live_p95_ms']:.0f} ms.", ""]
    lines += _table(["figure", "control", "moves", "median (ms)", "95th percentile (ms)", "within"],
                    [[f"`{r['notebook']}` #{r['figure']}", f"`{r['control']}`", _n(r["moves"]),
                      _n(r["median_ms"]), _n(r["p95_ms"]), _n(r["within_target"])] for r in data["controls"]])
    return lines


def optim(data):
    lines = []
    for device in data["devices"]:
        lines += [f"{device['device'].upper()}: {device['parameters']:,} parameters in {device['tensors']} tensors, "
                  f"{device['threads']} threads; ms per `step()`, median of {device['rounds']} rounds of "
                  f"{device['steps_per_round']} steps.", ""]
        lines += _table(["optimizer", "nnbook", "torch foreach=False", "torch default", "torch fused",
                         "ours / foreach=False", "ours / default"],
                        [[f"`{r['optimizer']}`", _n(r["nnbook_ms"], 2), _n(r["foreach_false_ms"], 2),
                          _n(r["default_ms"], 2), _n(r["fused_ms"], 2), _n(r["ours_over_false"], 2),
                          _n(r["ours_over_default"], 2)] for r in device["rows"]])
        lines += [""]
    if "cuda" in data.get("skipped", []):
        lines += ["CUDA: not measured (no GPU on this machine)."]
    return lines


def site(data):
    lines = []
    if "build_s" in data:
        lines += [f"Book build (`jupyter-book build . -W -n --keep-going`): **{data['build_s']:.1f} s** "
                  f"(target {data['targets']['build_s']:.0f} s).", ""]
    lines += [f"Whole site: {_mb(data['site_bytes'])} in {data['site_files']:,} files.", "",
              "First visit of each chapter page in Chromium (HTML, scripts, styles, fonts, MathJax "
              "and the default frames, before scrolling), from a local server, uncompressed:", ""]
    lines += _table(["page", "initial load", "figures", "fixed cost", "eager cost per figure",
                     "with three figures", "under 2.5 MB"],
                    [[f"`{c['page']}`", _mb(c["initial_bytes"]), _n(c["figures"]), _mb(c["fixed_bytes"]),
                      _kb(c["per_figure_eager_bytes"]), _mb(c["three_figures_bytes"]), _n(c["within_target"])]
                     for c in data["chapters"]])
    lines += ["", "Each figure's frames, fetched once it comes within a screen of the viewport:", ""]
    lines += _table(["page", "figure", "frames", "eager (markup + default frame)", "on demand"],
                    [[f"`{f['page']}`", _n(f["figure"]), _n(f["frames"]), _kb(f["eager_bytes"]),
                      _kb(f["lazy_bytes"])] for f in data["figures"]])
    lines += ["", "A control change until its frame is decoded on screen, in Chromium: *warm* once the "
              "figure has scrolled into view (how a reader meets it), *cold* the first move on a fresh "
              "page that has not fetched the frames.", ""]
    lines += _table(["page", "control", "warm median (ms)", "warm 95th percentile (ms)", "cold first move (ms)",
                     "under 100 ms"],
                    [[f"`{c['page']}`", f"`{c['control']}`", _n(c["warm_median_ms"]), _n(c["warm_p95_ms"]),
                      _n(c.get("cold_first_ms")), _n(c.get("within_target"))] for c in data["controls"]])
    lines += ["", "Page weight from the built HTML (the page and every file its tags load), heaviest first:", ""]
    lines += _table(["page", "weight", "HTML"], [[f"`{w['page']}`", _mb(w["bytes"]), _kb(w["html_bytes"])]
                                                 for w in data["page_weights"][:8]])
    return lines


def tests(data):
    what = "`.ci/run`" if data["what"] == ".ci/run" else "`pytest` (the whole suite, one book build included)"
    run = data["runs"][-1]
    return [f"{what}: **{data['median_s'] / 60:.1f} minutes** ({run['summary']}); "
            f"target for `.ci/run`: {data['ci_target_s'] / 60:.0f} minutes."]


def gpu(data):
    rows = [[f"`{r['notebook']}`", "pass" if r["passed"] else "**fail**", _n(r["seconds"])]
            for r in data.get("notebooks", [])]
    lines = [f"{data.get('gpu')}, torch {data.get('torch')}, {data.get('date')}.", ""]
    lines += _table(["notebook", "result", "seconds"], rows)
    lines += ["", f"CUDA tests: {data.get('cuda_tests', {}).get('summary', '–')}."]
    if "time_to_accuracy" in data:
        lines += ["", "Time to accuracy on that machine, CPU against GPU:", ""]
        lines += time_to_accuracy(data["time_to_accuracy"])
    return lines


def time_to_accuracy(data):
    rows = [[r["description"], r["device"].upper(), f"{100 * r['target']:.1f}%",
             f"{r['epochs']} of {r['max_epochs']}" if r["reached"] else f"**not reached** in {r['max_epochs']}",
             f"{100 * r['accuracy']:.1f}%", _n(r["median_s"], 2), _n(r["max_s"], 2)]
            for r in data["rows"]]
    lines = [f"Seconds of training (median of {data['repeat']} seeded runs) until the test accuracy first "
             "reaches the accuracy the chapter states; the test set is scored after each epoch, "
             "off the clock.", ""]
    lines += _table(["case", "device", "stated accuracy", "epochs", "accuracy then", "median (s)",
                     "slowest (s)"], rows)
    if "cuda" in data.get("skipped", []):
        lines += ["", "GPU: not measured here (no GPU on this machine); `tools/gpu_check.sh` measures it."]
    return lines


TABLES = {"notebooks": notebooks, "frames": frames, "optim": optim, "site": site, "tests": tests, "gpu": gpu,
          "time_to_accuracy": time_to_accuracy}
MISSING = {
    "gpu": "**The GPU numbers have not been measured**: no machine with an NVIDIA GPU has run "
           "`tools/gpu_check.sh` for this edition of the book.",
}


class BenchmarkTable(SphinxDirective):
    required_arguments = 1
    has_content = False

    def run(self):
        name = self.arguments[0]
        if name not in TABLES:
            raise self.error(f"unknown benchmark table {name!r}; choose one of {sorted(TABLES)}")
        path = RESULTS / f"{name}.json"
        self.env.note_dependency(str(path))
        if path.exists():
            data = json.loads(path.read_text(encoding="utf-8"))
            lines = TABLES[name](data)
            if "machine" in data:
                lines += ["", _when(data)]
        else:
            lines = [MISSING.get(name, f"Not measured yet: run `python benchmarks/run_all.py --only {name}`.")]
        container = nodes.container(classes=["benchmark-table"])
        self.state.nested_parse(StringList(lines, source=str(path)), self.content_offset, container)
        return [container]


def setup(app):
    app.add_directive("benchmark-table", BenchmarkTable)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
