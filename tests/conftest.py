"""Shared fixtures.

- ``device``: every test that takes it runs on the CPU and, when a GPU is present, on CUDA too;
  without a GPU the CUDA leg is reported as skipped, never silently dropped.
- ``built_site``: the book built once per session with ``jupyter-book build -W -n --keep-going``
  into a temporary folder (or the folder named by NNBOOK_SITE, to reuse a build you already have).
- ``site_url``: that build served on 127.0.0.1 for the session.
- ``browser_page``: a fresh headless-Chromium page (Playwright driving Debian's ``chromium``) in
  which every request to a host other than 127.0.0.1/localhost is blocked and recorded.

Version markers (``from conftest import requires_torch, requires_torch_argument``): the package
supports every torch from the oldest that pyproject.toml declares on, but some tests compare with
a torch argument or behaviour that only newer releases have. Such a test is skipped on an older
torch with a visible reason ("this torch lacks what we compare with"), never dropped silently and
never allowed to fail as if nnbook were wrong.
"""

import functools
import http.server
import inspect
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest
import torch
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]

# The tests use small tensors: on a 2-core machine a second intra-op thread only adds contention.
torch.set_num_threads(1)

# Notebooks under tests/ (the grader's corpus of bad submissions) are data, not nbval targets.
collect_ignore_glob = ["**/*.ipynb"]

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="no CUDA device on this machine"))]


@pytest.fixture(params=DEVICES)
def device(request):
    return torch.device(request.param)


# --------------------------------------------------------------------------- torch versions

TORCH_VERSION = Version(Version(torch.__version__).base_version)  # 2.13.0+cpu -> 2.13.0


def torch_at_least(version):
    """Whether the installed torch is ``version`` or newer (local tags such as +cpu ignored)."""
    return TORCH_VERSION >= Version(version)


def requires_torch(version, reason):
    """Skip, saying why, on a torch older than ``version``: what the test compares with (an
    argument, a fixed bug, a changed convention) first appeared there."""
    return pytest.mark.skipif(
        not torch_at_least(version),
        reason=f"needs torch>={version} ({reason}); this is torch {torch.__version__}")


def has_argument(function, name):
    """Whether ``function`` (a callable or class) accepts an argument called ``name``."""
    return name in inspect.signature(function).parameters


def requires_torch_behaviour(probe, reason):
    """Skip, saying why, when ``probe()`` (a few lines that use torch itself, never nnbook)
    raises on this torch: the reference we would compare with does not work here."""
    try:
        probe()
    except Exception as error:  # noqa: BLE001 - any failure of torch's own code means "lacks it"
        return pytest.mark.skip(reason=f"torch {torch.__version__} cannot {reason}: "
                                       f"{type(error).__name__}: {error}")
    return pytest.mark.skipif(False, reason=reason)


def requires_torch_argument(function, name):
    """Skip, saying why, when this torch's ``function`` has no argument ``name`` to compare with."""
    qualified = f"{function.__module__}.{function.__qualname__}"
    return pytest.mark.skipif(
        not has_argument(function, name),
        reason=f"torch {torch.__version__}'s {qualified} has no argument {name!r} to compare with")



# --------------------------------------------------------------------------- the built book

def _build_site(out_dir: Path) -> subprocess.CompletedProcess:
    cmd = ["jupyter-book", "build", str(ROOT), "--path-output", str(out_dir),
           "-W", "-n", "--keep-going"]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=1800)


@pytest.fixture(scope="session")
def site_build(tmp_path_factory):
    """Build the book once per session; returns (html_dir, CompletedProcess or None)."""
    reuse = os.environ.get("NNBOOK_SITE")
    if reuse:
        html = Path(reuse)
        assert (html / "index.html").exists(), f"NNBOOK_SITE={reuse} holds no built site"
        return html, None
    out = tmp_path_factory.mktemp("book")
    result = _build_site(out)
    return out / "_build" / "html", result


@pytest.fixture(scope="session")
def built_site(site_build):
    html, result = site_build
    if result is not None and result.returncode != 0:
        pytest.fail("jupyter-book build failed:\n" + result.stdout[-5000:] + result.stderr[-5000:])
    return html


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass


@pytest.fixture(scope="session")
def site_url(built_site):
    handler = functools.partial(_QuietHandler, directory=str(built_site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


# --------------------------------------------------------------------------- headless Chromium

CHROMIUM_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path():
    for name in (os.environ.get("NNBOOK_CHROMIUM"), "chromium", "chromium-browser"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


@pytest.fixture(scope="session")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    exe = chromium_path()
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is not installed; .ci/run installs Debian's chromium package")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


class PageLog:
    """What a page did: console errors, uncaught exceptions and HTTP errors (``page_errors``),
    failed requests (each "URL (reason)"), and requests to other hosts (blocked)."""

    def __init__(self):
        self.console_errors = []
        self.page_errors = []
        self.failed_requests = []
        self.blocked_requests = []

    def clear(self):
        for events in vars(self).values():
            events.clear()


@pytest.fixture
def browser_page(browser):
    """A new page whose requests to any host but 127.0.0.1/localhost are aborted and recorded.

    ``page.nnbook_log`` is a :class:`PageLog`.
    """
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    log = PageLog()

    def route(route):
        host = urlparse(route.request.url).hostname
        if route.request.url.startswith("data:") or host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            log.blocked_requests.append(route.request.url)
            route.abort()

    page.route("**/*", route)
    page.on("console", lambda msg: msg.type == "error" and log.console_errors.append(msg.text))
    page.on("requestfailed", lambda req: log.failed_requests.append(f"{req.url} ({req.failure})"))
    page.on("pageerror", lambda exc: log.page_errors.append(f"uncaught exception: {exc}"))
    page.on("response", lambda res: res.status >= 400
            and log.page_errors.append(f"HTTP {res.status} for {res.url}"))
    page.nnbook_log = log
    yield page
    context.close()
