"""The static version of nnbook.widgets figures, driven in headless Chromium with the network cut off.

On Chapter 1's page of the built site, every slider (moved with the keyboard) and every drop-down
changes the picture to exactly the frame Python rendered for the new values, updates the readout,
and touches no other figure; nothing is fetched and nothing logs an error. A page of two figures
made here checks that figures on one page never interfere.
"""

import pytest
from matplotlib.figure import Figure

from nnbook.widgets import Dropdown, Slider, interactive_figure

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


def test_chapter_one_figure_moves_with_every_control_offline(site_url, browser_page):
    page = browser_page
    page.goto(f"{site_url}/{CHAPTER_ONE}", wait_until="networkidle")
    figures = page.evaluate(READ_FIGURES)
    assert figures, f"{CHAPTER_ONE} shows no static interactive figure (nnbook.widgets.interactive_figure)"
    for figure in figures:
        assert figure["src"] == expected_frame(figure), f"{figure['id']} starts on the wrong frame"
        assert len(figure["frames"]) == len(set(figure["frames"])) > 1
    assert_accessible(page, figures)
    assert check_every_control(page) == sum(len(f["controls"]) for f in figures)
    page.wait_for_load_state("networkidle")
    assert_quiet(page)


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
