"""The static version of nnbook.widgets figures, driven in headless Chromium with the network cut off.

On every chapter's page of the built site, every slider (moved with the keyboard) and every drop-down
changes the picture to exactly the frame Python rendered for the new values, updates the readout,
and touches no other figure; nothing is fetched from outside the site and nothing logs an error.
The frames are image files of the site (book/_ext/figure_frames.py), byte for byte the frames
the notebook stores, loaded on demand: the page itself loads only each figure's default frame,
the rest come when the figure nears the viewport. The same works from a file:// copy of the
site. A page of two figures made here checks that figures on one page never interfere.
"""

import base64
import json
import re
from pathlib import Path

import nbformat
import pytest
from matplotlib.figure import Figure

from nnbook.widgets import Dropdown, Slider, interactive_figure

ROOT = Path(__file__).resolve().parents[1]
# Every chapter notebook, so that a new chapter's figures are driven without editing this file.
CHAPTERS = sorted(path.stem for path in (ROOT / "chapters").glob("[0-9][0-9]-*.ipynb"))
CHAPTER_ONE = "chapters/01-neurons-and-layers.html"

# The state of every static figure on the page, as a reader's browser has it.
READ_FIGURES = """
() => Array.from(document.querySelectorAll(".nnbook-figure")).map((figure) => ({
  id: figure.id,
  src: figure.querySelector("img.nnbook-figure-image").getAttribute("src"),
  alt: figure.querySelector("img.nnbook-figure-image").alt,
  frames: JSON.parse(figure.querySelector(".nnbook-figure-frames").textContent),
  controls: Array.from(figure.querySelectorAll("input, select")).map((control) => ({
    id: control.id,
    tag: control.tagName.toLowerCase(),
    type: control.type,
    position: Number(control.value),
    size: control.tagName === "SELECT" ? control.options.length : Number(control.max) + 1,
    labels: control.tagName === "SELECT"
      ? Array.from(control.options).map((o) => o.textContent)
      : JSON.parse(control.getAttribute("data-nnbook-labels")),
    label: (document.querySelector('label[for="' + control.id + '"]') || {}).textContent,
    readout: control.tagName === "SELECT" ? null
      : control.parentNode.querySelector("output").textContent,
    valuetext: control.getAttribute("aria-valuetext"),
  })),
}))
"""


def expected_frame(figure: dict) -> str:
    """The frame the controls select: C order over the controls, as nnbook.widgets renders them."""
    index = 0
    for control in figure["controls"]:
        index = index * control["size"] + control["position"]
    return figure["frames"][index]


def move(page, control: dict) -> None:
    """Move one control by one step the way a reader would: arrow key on a slider, a new option."""
    locator = page.locator(f"#{control['id']}")
    if control["tag"] == "select":
        locator.select_option(index=(control["position"] + 1) % control["size"])
    else:
        locator.focus()
        at_end = control["position"] == control["size"] - 1
        page.keyboard.press("ArrowLeft" if at_end else "ArrowRight")


def wait_for_pictures(page) -> None:
    """Wait until every figure's <img> shows a decoded picture (its current frame)."""
    page.wait_for_function("""() => Array.from(document.querySelectorAll("img.nnbook-figure-image"))
        .every((img) => img.complete && img.naturalWidth > 0)""", timeout=10_000)


def check_every_control(page) -> int:
    """Move each control of each figure once; return how many controls were moved."""
    figures = page.evaluate(READ_FIGURES)
    moved = 0
    for k, figure in enumerate(figures):
        for c in range(len(figure["controls"])):
            before = page.evaluate(READ_FIGURES)
            move(page, before[k]["controls"][c])
            after = page.evaluate(READ_FIGURES)
            now, control = after[k], after[k]["controls"][c]
            name = f"{figure['id']} control {control['label']!r}"
            assert control["position"] != before[k]["controls"][c]["position"], f"{name} did not move"
            assert now["src"] != before[k]["src"], f"{name} moved but the picture stayed"
            assert now["src"] == expected_frame(now), f"{name} shows the wrong frame"
            wait_for_pictures(page)
            if control["tag"] == "input":
                text = control["labels"][control["position"]]
                assert control["readout"] == control["valuetext"] == text, name
            for j, other in enumerate(after):
                if j != k:
                    assert other["src"] == before[j]["src"], f"{name} changed figure {other['id']}"
            moved += 1
    return moved


def assert_accessible(page, figures) -> None:
    ids = page.eval_on_selector_all("[id]", "els => els.map((el) => el.id)")
    assert len(ids) == len(set(ids)), "element ids repeat on the page"
    for figure in figures:
        assert figure["alt"].strip(), f"{figure['id']} has no alt text"
        for control in figure["controls"]:
            assert control["label"] and control["label"].strip(), f"{control['id']} has no <label>"
            assert control["tag"] == "select" or control["type"] == "range"


def assert_quiet(page) -> None:
    log = page.nnbook_log
    assert not log.blocked_requests, f"requests to other hosts: {log.blocked_requests}"
    assert not log.failed_requests, f"failed requests: {log.failed_requests}"
    assert not log.console_errors, f"console errors: {log.console_errors}"
    assert not log.page_errors, f"uncaught errors: {log.page_errors}"


FRAME_FILE = re.compile(r"(?:\.\./)*_images/nnbook/[0-9a-f]{20}\.(?:webp|png|jpeg)")


# Whether the browser has received every one of these (page-relative) URLs (Resource Timing).
ALL_FETCHED = """(urls) => {
  const done = new Set(performance.getEntriesByType("resource")
                         .filter((e) => e.responseEnd > 0).map((e) => e.name));
  return urls.every((u) => done.has(new URL(u, document.baseURI).href));
}"""


def frame_requests(page) -> list:
    return [url for url in page.nnbook_requests if "/_images/nnbook/" in url]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_chapter_figure_moves_with_every_control_offline(site_url, browser_page, chapter):
    page = browser_page
    html = f"chapters/{chapter}.html"
    page.nnbook_requests = []
    page.on("request", lambda request: page.nnbook_requests.append(request.url))
    page.goto(f"{site_url}/{html}", wait_until="networkidle")
    figures = page.evaluate(READ_FIGURES)
    assert figures, f"{html} shows no static interactive figure (nnbook.widgets.interactive_figure)"
    for figure in figures:
        assert figure["src"] == expected_frame(figure), f"{figure['id']} starts on the wrong frame"
        assert len(figure["frames"]) == len(set(figure["frames"])) > 1
        assert all(FRAME_FILE.fullmatch(src) for src in figure["frames"]), "frames still inlined"
    assert_accessible(page, figures)

    # On demand: the page loaded each figure's default frame, and no other frame of a figure
    # that is not within a screen of the viewport.
    requested = {url.rsplit("/", 1)[1] for url in frame_requests(page)}
    defaults = {f["src"].rsplit("/", 1)[1] for f in figures}
    assert defaults <= requested, "a default frame was not loaded with the page"
    near = page.evaluate("""() => Array.from(document.querySelectorAll(".nnbook-figure")).map(
        (f) => f.getBoundingClientRect().top < 2 * window.innerHeight)""")
    for figure, is_near in zip(figures, near):
        others = {src.rsplit("/", 1)[1] for src in figure["frames"]} - defaults
        if not is_near:
            assert not others & requested, f"{figure['id']} fetched frames before it was near"
    # Once a figure scrolls into view, its frames are fetched in the background.
    page.evaluate("() => performance.setResourceTimingBufferSize(100000)")  # default: 250
    for figure in figures:
        page.locator(f"#{figure['id']}").scroll_into_view_if_needed()
        try:
            page.wait_for_function(ALL_FETCHED, arg=figure["frames"], timeout=30_000)
        except Exception:
            pass  # reported below, with the frames that did not come
        fetched = {url.rsplit("/", 1)[1] for url in frame_requests(page)}
        missing = {src.rsplit("/", 1)[1] for src in figure["frames"]} - fetched
        assert not missing, f"{figure['id']}: {len(missing)} frames not fetched after scrolling to it"

    wait_for_pictures(page)
    assert check_every_control(page) == sum(len(f["controls"]) for f in figures)
    page.wait_for_load_state("networkidle")
    assert_quiet(page)


def notebook_figures(path: Path) -> dict:
    """Figure id -> the frames (bytes) the committed notebook stores, in grid order."""
    figures = {}
    for cell in nbformat.read(path, as_version=4).cells:
        for output in cell.get("outputs", []):
            html = output.get("data", {}).get("text/html", "")
            found = re.search(r'class="nnbook-figure" id="([^"]+)".*?class="nnbook-figure-frames">(.*?)</script>',
                              html, flags=re.S)
            if found:
                figures[found.group(1)] = [base64.b64decode(uri.split(",", 1)[1])
                                           for uri in json.loads(found.group(2))]
    return figures


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_site_frames_are_the_notebooks_frames_byte_for_byte(built_site, chapter):
    html = f"chapters/{chapter}.html"
    page = (built_site / html).read_text(encoding="utf-8")
    stored = notebook_figures(ROOT / "chapters" / f"{chapter}.ipynb")
    assert stored
    assert "data:image/" not in page, "a frame is still inlined in the page"
    for figure_id, frames in stored.items():
        found = re.search(rf'id="{figure_id}".*?class="nnbook-figure-frames">(.*?)</script>', page, flags=re.S)
        assert found, f"{figure_id} is not on the built page"
        urls = json.loads(found.group(1))
        files = [(built_site / html).parent / url for url in urls]
        assert [f.read_bytes() for f in files] == frames


def test_the_figure_works_from_a_file_url(built_site, browser):
    """A reader who opens the built site from disk: frames load as files, nothing else is asked."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    elsewhere, failed = [], []
    page.on("request", lambda request: request.url.startswith(("file:", "data:"))
            or elsewhere.append(request.url))
    page.on("requestfailed", lambda request: failed.append(request.url))
    try:
        page.goto((built_site / CHAPTER_ONE).resolve().as_uri(), wait_until="load")
        figure = page.evaluate(READ_FIGURES)[0]
        page.locator(f"#{figure['id']}").scroll_into_view_if_needed()
        wait_for_pictures(page)
        move(page, figure["controls"][0])
        after = page.evaluate(READ_FIGURES)[0]
        assert after["src"] != figure["src"] and after["src"] == expected_frame(after)
        wait_for_pictures(page)
        assert not elsewhere and not [url for url in failed if "/_images/nnbook/" in url]
    finally:
        context.close()


def colour_square(red=0.0, blue="off"):
    figure = Figure(figsize=(0.8, 0.6), dpi=10)
    figure.patch.set_facecolor((red, 0.2, 1.0 if blue == "on" else 0.0))
    return figure


@pytest.fixture
def two_figures_page(browser_page):
    figures = [
        interactive_figure(colour_square, red=Slider([0, 0.5, 1], label="red"),
                           blue=Dropdown(["off", "on"], label="blue"), alt="A coloured square",
                           image_format="png"),
        # The same description again: it must still get ids of its own.
        interactive_figure(colour_square, red=Slider([0, 0.5, 1], label="red"),
                           blue=Dropdown(["off", "on"], label="blue"), alt="A coloured square",
                           image_format="png"),
    ]
    body = "\n".join(f.static_html() for f in figures)
    browser_page.set_content(f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>two</title>"
                             f"</head><body>{body}</body></html>")
    return browser_page


def test_two_figures_on_one_page_move_independently(two_figures_page):
    page = two_figures_page
    figures = page.evaluate(READ_FIGURES)
    assert len(figures) == 2 and figures[0]["id"] != figures[1]["id"]
    assert_accessible(page, figures)
    assert check_every_control(page) == 4
    assert_quiet(page)
