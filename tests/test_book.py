"""The static site: it builds with zero warnings and every asset is served by the site itself."""

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
from colab_setup import repository_url  # noqa: E402

CHAPTERS = sorted(p.stem for p in (ROOT / "chapters").glob("*.ipynb"))
REMOTE = r"""=["'](?:https?:)?//"""


def html_pages(site):
    return [p for p in site.rglob("*.html") if "_static" not in p.parts]


def test_book_builds_without_a_single_warning(site_build):
    html, result = site_build
    if result is None:
        pytest.skip("NNBOOK_SITE reuses an existing build")
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-5000:]
    warnings = [line for line in log.splitlines()
                if re.search(r"\bWARNING\b", line) and "Kernel is running over TCP" not in line]
    assert not warnings, "\n".join(warnings[:20])
    assert (html / "index.html").exists()


@pytest.mark.parametrize("stem", CHAPTERS)
def test_every_chapter_page_has_launch_download_and_repository_buttons(built_site, stem):
    page = (built_site / "chapters" / f"{stem}.html").read_text(encoding="utf-8")
    repo = repository_url().removeprefix("https://github.com/")
    notebook = f"chapters/{stem}.ipynb"
    assert f"https://colab.research.google.com/github/{repo}/blob/main/{notebook}" in page
    assert f"https://mybinder.org/v2/gh/{repo}/main?urlpath=tree/{notebook}" in page
    assert f'href="https://github.com/{repo}"' in page
    assert f"../_sources/chapters/{stem}.ipynb" in page  # the download-notebook button


def test_pages_load_no_script_style_or_font_from_another_host(built_site):
    pages = html_pages(built_site)
    assert len(pages) >= 5
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for tag in re.findall(r"<(?:script|img|iframe|link)\b[^>]*>", text, flags=re.I):
            is_asset = not tag.lower().startswith("<link") or re.search(
                r"""rel=["'](?:stylesheet|preload|modulepreload|icon)""", tag, re.I)
            if is_asset and re.search(r"\b(?:src|href)" + REMOTE, tag, re.I):
                pytest.fail(f"{page.relative_to(built_site)} loads a remote asset: {tag}")
    css = "\n".join(p.read_text(errors="ignore") for p in (built_site / "_static").rglob("*.css"))
    assert not re.search(r"@import\s+url\(\s*['\"]?https?:", css), "a stylesheet imports a remote file"


def test_mathjax_is_served_locally(built_site):
    page = (built_site / "chapters" / f"{CHAPTERS[0]}.html").read_text(encoding="utf-8")
    (src,) = re.findall(r'<script[^>]*src="([^"]*mathjax[^"]*)"', page, flags=re.I)
    assert src.startswith("../_static/mathjax/startup.js")
    mathjax = built_site / "_static" / "mathjax"
    # The loader's components (book/_ext/site_fixes.py: MATHJAX_LOAD) are all in the site.
    for component in ["startup.js", "core.js", "input/tex.js", "output/chtml.js", "a11y/assistive-mml.js"]:
        assert (mathjax / component).stat().st_size > 5_000, component
    assert '"load": ["input/tex", "output/chtml", "a11y/assistive-mml"]' in page
    assert list((mathjax / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff"))


def test_front_matter_names_only_the_configured_repository():
    """The repository URL lives in _config.yml; pages that spell it out must agree with it."""
    repo = repository_url().removeprefix("https://github.com/")
    for page in sorted((ROOT / "book").glob("*.md")):
        text = page.read_text(encoding="utf-8")
        for named in re.findall(r"github\.com/([\w.-]+/[\w.-]+?)(?:\.git)?(?=[/`\s)\]]|$)", text):
            assert named == repo, f"{page.name} names github.com/{named}, _config.yml says {repo}"
        for named in re.findall(r"`([\w.-]+/[\w.-]+)`", text):
            if named.startswith(repo.split("/")[0] + "/"):
                assert named == repo, f"{page.name} names {named}, _config.yml says {repo}"


def test_pages_do_not_load_the_theme_s_redundant_fontawesome_script(built_site):
    """site_fixes drops the 1.5 MB fontawesome.js; the theme's CSS web fonts draw the icons."""
    for page in html_pages(built_site):
        assert "scripts/fontawesome.js" not in page.read_text(encoding="utf-8"), page.name
    css = (built_site / "_static" / "styles" / "pydata-sphinx-theme.css").read_text()
    assert ".fa-rocket:before" in css and "fa-solid-900.woff2" in css
