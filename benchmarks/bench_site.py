"""The built book: build time, page weights, and the static figures measured in a real browser.

- build: ``jupyter-book build . -W -n --keep-going`` into a temporary folder, wall-clock seconds
  (target: under 60 s);
- page weight of every page from the built HTML (the page and each file its tags load;
  ``tools/site_report.py``), target under 2.5 MB for a chapter;
- for each chapter page in headless Chromium on a local server, as a first-time visitor: the
  bytes of the initial load (HTML, scripts, styles, fonts, MathJax and the default frames, up to
  network idle, without scrolling), each figure's eager cost (its markup and default frame) and
  its lazy cost (the other frames, fetched once it scrolls into view), the fixed cost that is
  left, and the initial load projected for a page with three such figures;
- how long a control change takes to show its frame (from the input event to the new picture
  decoded), per control, once the figure's frames are in ("warm") and on a fresh page whose
  frames have not been fetched yet ("cold"): median and 95th percentile, target under 100 ms.

    python benchmarks/bench_site.py                      # builds the book first
    python benchmarks/bench_site.py --site _build/html   # measure a build you already have
"""

import argparse
import functools
import http.server
import importlib.util
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import report  # noqa: E402

ROOT = report.ROOT
BUILD_TARGET_S, PAGE_TARGET_BYTES, CHANGE_TARGET_MS = 60.0, 2_500_000, 100.0

_spec = importlib.util.spec_from_file_location("site_report", ROOT / "tools" / "site_report.py")
site_report = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(site_report)


def build(out: Path) -> float:
    start = time.perf_counter()
    result = subprocess.run(["jupyter-book", "build", str(ROOT), "--path-output", str(out), "-W", "-n",
                             "--keep-going"], cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit("the book did not build:\n" + result.stdout[-3000:] + result.stderr[-3000:])
    return seconds


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(site: Path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


FIGURES = """() => Array.from(document.querySelectorAll(".nnbook-figure")).map((f) => ({
  id: f.id, markup: f.outerHTML.length, src: f.querySelector("img.nnbook-figure-image").src,
  frames: JSON.parse(f.querySelector(".nnbook-figure-frames").textContent)
            .map((u) => new URL(u, document.baseURI).href),
  controls: Array.from(f.querySelectorAll("[data-nnbook-size]")).map((c) => ({
    id: c.id, size: Number(c.getAttribute("data-nnbook-size")) })),
}))"""

# Whether the browser has received every one of these URLs (Resource Timing).
ALL_FETCHED = """(urls) => {
  const done = new Set(performance.getEntriesByType("resource")
                         .filter((e) => e.responseEnd > 0).map((e) => e.name));
  return urls.every((u) => done.has(u));
}"""

# Move one control to a position and wait until the picture it selects is decoded.
CHANGE = """async ([id, position]) => {
  const control = document.getElementById(id);
  const image = control.closest(".nnbook-figure").querySelector("img.nnbook-figure-image");
  const start = performance.now();
  control.value = String(position);
  control.dispatchEvent(new Event("input", { bubbles: true }));
  await image.decode();
  return performance.now() - start;
}"""


def open_page(browser, url):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sizes = {}

    def on_response(response):
        length = response.headers.get("content-length")
        if length and length.isdigit():
            sizes[response.url] = int(length)

    page.on("response", on_response)
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(
        ("http://127.0.0.1", "data:")) else route.abort())
    page.goto(url, wait_until="networkidle")
    page.evaluate("() => performance.setResourceTimingBufferSize(100000)")  # default: 250
    page.evaluate("async () => { if (window.MathJax && MathJax.startup) await MathJax.startup.promise;"
                  " await document.fonts.ready; }")
    page.wait_for_load_state("networkidle")
    return context, page, sizes


def changes(page, figure, moves):
    """Milliseconds per control id: each control stepped through its positions, then back."""
    times = {}
    for control in figure["controls"]:
        cid, size = control["id"], control["size"]
        start = int(page.evaluate(f"() => document.getElementById({cid!r}).value"))
        order = [(start + k) % size for k in range(1, size)] + [start]
        times[cid] = [page.evaluate(CHANGE, [cid, p]) for _ in range(moves) for p in order]
    return times


def measure_chapter(browser, base, site, path, moves):
    url = f"{base}/{path.relative_to(site).as_posix()}"
    context, page, sizes = open_page(browser, url)
    initial = sum(sizes.values())
    figures = page.evaluate(FIGURES)
    rows, controls = [], []
    eager_total = 0
    for k, figure in enumerate(figures, 1):
        default = sizes.get(figure["src"], 0)
        eager = figure["markup"] + default
        eager_total += eager
        page.locator(f"#{figure['id']}").scroll_into_view_if_needed()
        page.wait_for_function(ALL_FETCHED, arg=figure["frames"], timeout=60_000)
        page.wait_for_load_state("networkidle")
        lazy = sum(sizes.get(u, 0) for u in set(figure["frames"])) - default
        rows.append({"page": path.relative_to(site).as_posix(), "figure": k, "frames": len(figure["frames"]),
                     "eager_bytes": eager, "lazy_bytes": lazy})
        for cid, times in changes(page, figure, moves).items():
            controls.append({"page": path.relative_to(site).as_posix(), "figure": k, "control": cid,
                             "warm_median_ms": report.median(times), "warm_p95_ms": report.percentile(times, 95)})
    context.close()
    # Cold: a fresh page, nothing scrolled; the first move of each control starts the fetching.
    for k, figure in enumerate(figures, 1):
        for control in figure["controls"]:
            context, page, _ = open_page(browser, url)
            cold = changes(page, {"controls": [control]}, 1)[control["id"]]
            context.close()
            row = next(r for r in controls if r["figure"] == k and r["control"] == control["id"])
            row.update(cold_first_ms=cold[0], cold_median_ms=report.median(cold))
            # A reader reaches a control only by scrolling to its figure, which fetches the
            # frames: the warm numbers are what a reader meets; cold is the worst case.
            row["within_target"] = row["warm_median_ms"] < CHANGE_TARGET_MS
    fixed = initial - eager_total
    mean_eager = eager_total / len(figures) if figures else 0
    summary = {"page": path.relative_to(site).as_posix(), "initial_bytes": initial, "figures": len(figures),
               "fixed_bytes": fixed, "per_figure_eager_bytes": mean_eager,
               "three_figures_bytes": fixed + 3 * mean_eager if figures else None,
               "within_target": (fixed + 3 * mean_eager) < PAGE_TARGET_BYTES if figures else initial < PAGE_TARGET_BYTES}
    return summary, rows, controls


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--site", type=Path, help="an existing build (skips the build and its timing)")
    parser.add_argument("--moves", type=int, default=3, help="passes over each control's positions")
    parser.add_argument("--out", type=Path, default=report.RESULTS)
    args = parser.parse_args(argv)
    data = {"targets": {"build_s": BUILD_TARGET_S, "page_bytes": PAGE_TARGET_BYTES, "change_ms": CHANGE_TARGET_MS}}
    tmp = None
    if args.site:
        site = args.site.resolve()
    else:
        tmp = Path(tempfile.mkdtemp(prefix="nnbook-bench-site-"))
        print("building the book ...", flush=True)
        data["build_s"] = build(tmp)
        data["build_within_target"] = data["build_s"] < BUILD_TARGET_S
        print(f"build: {data['build_s']:.1f} s (target {BUILD_TARGET_S:.0f} s)")
        site = tmp / "_build" / "html"
    try:
        pages = site_report.html_pages(site)
        weights = [{"page": p.relative_to(site).as_posix(),
                    "bytes": sum(site_report.page_weight(site, p).values()), "html_bytes": p.stat().st_size}
                   for p in pages]
        weights.sort(key=lambda row: -row["bytes"])
        for row in weights:
            row["within_target"] = row["bytes"] < PAGE_TARGET_BYTES
        data["page_weights"] = weights
        report.print_table([("page", "page"), ("bytes", "bytes (HTML + what its tags load)"),
                            ("html_bytes", "HTML"), ("within_target", "< 2.5 MB")], weights,
                           title="Page weight from the built HTML")
        data["site_bytes"], data["site_files"] = site_report.site_size(site)
        from playwright.sync_api import sync_playwright

        chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        server, base = serve(site)
        chapters, figures, controls = [], [], []
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=chromium, args=["--headless=new", "--no-sandbox",
                                                                             "--disable-gpu", "--disable-dev-shm-usage"])
                for path in sorted((site / "chapters").glob("*.html")):
                    print(f"{path.relative_to(site).as_posix()} in the browser ...", flush=True)
                    summary, rows, moves = measure_chapter(browser, base, site, path, args.moves)
                    chapters.append(summary)
                    figures += rows
                    controls += moves
                browser.close()
        finally:
            server.shutdown()
        data.update(chapters=chapters, figures=figures, controls=controls)
        report.print_table([("page", "chapter"), ("initial_bytes", "initial load"), ("figures", "figures"),
                            ("fixed_bytes", "fixed"), ("per_figure_eager_bytes", "eager per figure"),
                            ("three_figures_bytes", "with 3 figures"), ("within_target", "< 2.5 MB")],
                           chapters, title="Chapter pages in Chromium, first visit, before scrolling (bytes)")
        report.print_table([("page", "page"), ("figure", "#"), ("frames", "frames"), ("eager_bytes", "eager"),
                            ("lazy_bytes", "on demand")], figures, title="Figures (bytes)")
        report.print_table([("page", "page"), ("figure", "#"), ("control", "control"),
                            ("warm_median_ms", "warm median ms"), ("warm_p95_ms", "warm p95"),
                            ("cold_first_ms", "cold first move"), ("within_target", "< 100 ms")],
                           controls, title="Control change to new frame shown, in Chromium")
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    report.write("site", data, args.out)
    return data


if __name__ == "__main__":
    main()
