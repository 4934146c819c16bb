"""Fixes the built site needs: complete offline, quiet in the console, one search box, light.

Serve MathJax from the built site itself, so pages typeset maths with the network cut off.

Sphinx points ``mathjax_path`` at a public CDN by default. This extension points it at
``_static/mathjax/startup.js`` instead and, after the build, copies MathJax 3 from the
``mathjax`` package (PyPI: django-static-mathjax, Apache-2.0) into the site. Only the components
the book uses are loaded: TeX input with the packages of MathJax's standard ``tex`` component
(``ams``, ``newcommand``, ``autoload``, which fetches a rarer package such as ``cancel`` or
``boldsymbol`` the first time a page uses one of its macros, ...), CommonHTML output with its
fonts, and the hidden MathML that screen readers read (``a11y/assistive-mml``). That is about
0.75 MB of scripts where the combined ``tex-mml-chtml.js`` is 1.17 MB: the MathML input (the
book writes TeX) and the right-click menu (0.4 MB; zoom and "show maths as") are left out, and
so is the speech engine (``sre``).
"""

# What a page asks the MathJax loader for (see above); merged into Sphinx's mathjax3_config.
MATHJAX_LOAD = ["input/tex", "output/chtml", "a11y/assistive-mml"]

import re
import shutil
from pathlib import Path

MATHJAX_FILES = ["startup.js", "core.js", "input/tex.js", "input/tex", "output/chtml.js", "output/chtml",
                 "a11y/assistive-mml.js"]


def mathjax_source() -> Path:
    try:
        import mathjax
    except ImportError as exc:  # pragma: no cover - a set-up error, reported clearly
        raise RuntimeError(
            "MathJax is not installed: run `pip install -r requirements.txt` "
            "(it brings django-static-mathjax, which carries MathJax 3)") from exc
    source = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
    if not (source / "startup.js").exists():
        raise RuntimeError(f"no MathJax 3 build found in {source}")
    return source


def _configure(app, config):
    config.mathjax_path = "mathjax/startup.js"
    mathjax = dict(config.mathjax3_config or {})
    mathjax["loader"] = {**mathjax.get("loader", {}), "load": MATHJAX_LOAD}
    config.mathjax3_config = mathjax
    # pydata-sphinx-theme 0.17 fills an empty navbar_persistent with its search field, which
    # draws a second search box in a header bar sphinx-book-theme means to hide. jupyter-book
    # writes html_theme_options itself, so the override goes here rather than in _config.yml.
    config.html_theme_options.setdefault("navbar_persistent", [])


def _copy(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    source = mathjax_source()
    target = Path(app.outdir) / "_static" / "mathjax"
    for name in MATHJAX_FILES:
        src, dst = source / name, target / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        else:
            shutil.copy2(src, dst)


# pydata-sphinx-theme loads Font Awesome twice: as CSS with web fonts (inside its stylesheet, about
# 0.3 MB of fonts fetched on demand) and as fontawesome.js (1.5 MB, which swaps each icon for an
# SVG). The CSS alone draws every icon the book uses, so the script is dropped from every page.
FONTAWESOME_SCRIPT = re.compile(r'\s*<script[^>]*src="[^"]*_static/scripts/fontawesome\.js[^"]*"[^>]*></script>')


def _drop_fontawesome_script(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    for page in outdir.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        lighter = FONTAWESOME_SCRIPT.sub("", text)
        if lighter != text:
            page.write_text(lighter, encoding="utf-8")
    for name in ("fontawesome.js", "fontawesome.js.map", "fontawesome.js.LICENSE.txt"):
        (outdir / "_static" / "scripts" / name).unlink(missing_ok=True)


def _drop_duplicate_scripts(app, pagename, templatename, context, doctree):
    """Write each ``<script>`` once per page.

    Sphinx 7.4 writes an inline script twice when an extension adds it after the builder has
    started (sphinx-thebe's ``const THEBE_JS_URL`` then throws "already been declared" on every
    page). Sphinx 8.2 fixed this (sphinx-doc/sphinx#13402), but jupyter-book 1.x pins Sphinx 7.
    """
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        key = (script.filename or "", script.priority, tuple(sorted(script.attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


def setup(app):
    mathjax_source()  # fail early, before a long build, if MathJax is missing
    app.connect("config-inited", _configure)
    app.connect("build-finished", _copy)
    app.connect("html-page-context", _drop_duplicate_scripts)
    app.connect("build-finished", _drop_fontawesome_script)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
