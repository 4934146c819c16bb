"""The published book, tested the way a reader uses it: in a real browser, with the network cut off.

Every page of the built site (found in the built HTML, not listed by hand) is opened in headless
Chromium; any request to a host other than the local test server is blocked. A page passes when
it needs nothing from the network, logs no error, typesets all of its maths, shows all of its
images, has the right Colab link if it came from a notebook, and shows no dead widget. The
search box is tested in the browser too, in English and in Chinese.
The rest needs no browser: internal links and #anchors (tools/site_report.py), alt text, page
weight, the front matter's promises (glossary pairs, links to every chapter), and the GitHub
Actions workflows.

Artifacts (git-ignored) land in test-artifacts/: a screenshot of Chapter 1, the list of external
links, and the site report.
"""

import importlib.util
import re
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
MAX_PAGE_BYTES = 2_500_000  # what one page may make a reader download (issue 11: under 2.5 MB)

sys.path.insert(0, str(ROOT / "tools"))
from colab_setup import repository_url  # noqa: E402  (the one reader of repository.url)

_spec = importlib.util.spec_from_file_location("site_report", ROOT / "tools" / "site_report.py")
site_report = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(site_report)


def config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))


def expected_colab_url(page_name: str) -> str:
    """The Colab link of the page built from ``<page_name>.ipynb``, from _config.yml alone."""
    repo = config()["repository"]
    owner_repo = urlparse(repository_url()).path.strip("/")
    prefix = (repo.get("path_to_book") or "").strip("/")
    notebook = f"{prefix}/{page_name}.ipynb" if prefix else f"{page_name}.ipynb"
    branch = repo.get("branch", "main")
    return f"https://colab.research.google.com/github/{owner_repo}/blob/{branch}/{notebook}"


def page_name(site: Path, path: Path) -> str:
    return path.relative_to(site).with_suffix("").as_posix()


def built_from_notebook(site: Path, path: Path) -> bool:
    """Whether a page was built from a notebook (Sphinx keeps each page's source in _sources/)."""
    return (site / "_sources" / f"{page_name(site, path)}.ipynb").exists()


def repository_file(colab_url: str) -> Path:
    """The file in this checkout that a Colab link of ours opens (from GitHub, once pushed)."""
    return ROOT / colab_url.split("/blob/", 1)[1].split("/", 1)[1]


def browsable_pages(site: Path) -> list[Path]:
    """Every page except pure redirects (the site's index.html), which have their own test."""
    return [p for p in site_report.html_pages(site) if site_report.parse_page(p).redirect is None]


def chapter_pages(site: Path) -> list[Path]:
    return sorted((site / "chapters").glob("*.html"))


# --------------------------------------------------------------------------- in the browser

# Runs in the page after it loaded: waits for MathJax and every image, then reports what a
# reader would see. Text inside code, scripts and typeset maths is left out of the raw-TeX scan.
INSPECT_PAGE = r"""
async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  await document.fonts.ready;  // MathJax's fonts load only after it has typeset the page
  const images = Array.from(document.images);
  images.forEach((img) => { if (img.loading === "lazy") img.loading = "eager"; });
  await Promise.all(images.map((img) => img.complete ? null : new Promise((done) => {
    img.addEventListener("load", done, { once: true });
    img.addEventListener("error", done, { once: true });
    setTimeout(done, 5000);
  })));
  const body = document.querySelector("article") || document.querySelector("main") || document.body;
  const prose = body.cloneNode(true);
  prose.querySelectorAll("pre, code, kbd, samp, script, style, textarea, mjx-container, .highlight")
       .forEach((el) => el.remove());
  const outputs = Array.from(document.querySelectorAll(".cell_output, .output"))
       .map((el) => el.textContent).join("\n");
  const mathNodes = Array.from(document.querySelectorAll(".math"));
  // TeX that MathJax could not read: a parse error (merror) or an unknown macro (red text).
  const mathErrors = () => {
    const broken = 'mjx-merror, mjx-mtext[style*="color: red"]';
    const doc = window.MathJax && MathJax.startup && MathJax.startup.document;
    if (!doc) return Array.from(document.querySelectorAll("mjx-merror")).map((el) => el.textContent);
    const items = doc.math.toArray ? doc.math.toArray() : Array.from(doc.math);
    return items.filter((item) => item.typesetRoot && item.typesetRoot.querySelector(broken))
                .map((item) => item.math);
  };
  return {
    title: document.title,
    mathNodes: mathNodes.length,
    untypesetMath: mathNodes.filter((el) => !el.querySelector("mjx-container"))
                            .map((el) => el.textContent.trim().slice(0, 80)),
    mjxContainers: document.querySelectorAll("mjx-container").length,
    mathErrors: mathErrors(),
    proseText: prose.textContent,
    outputText: outputs,
    brokenImages: images.filter((img) => !(img.complete && img.naturalWidth > 0))
                        .map((img) => img.currentSrc || img.src),
    colabLinks: Array.from(document.querySelectorAll('a[href*="colab.research.google.com"]'))
                     .map((a) => a.href),
    widgetMarkup: document.querySelectorAll(
      '.jupyter-widgets, .widget-area, .jupyter-widgets-disconnected, ' +
      'script[type="application/vnd.jupyter.widget-view+json"], ' +
      'script[type="application/vnd.jupyter.widget-state+json"]').length,
    loadingWidgetText: /Loading widget/i.test(document.body.innerText),
  };
}
"""

RAW_TEX = re.compile(
    r"\$\$"                                   # display maths left as $$ ... $$
    r"|\\[()\[\]]"                            # \( \) \[ \]
    r"|\\(?:begin|end|frac|sum|mathbf|mathrm|mathbb|partial|nabla|top|sqrt|cdot|odot|left|right|"
    r"alpha|beta|gamma|eta|lambda|mu|sigma|epsilon|theta|hat|tilde|log|exp|in|quad|text)\b"
    r"|\$[^$\n]*[\\^_][^$\n]*\$"              # $x_i$ or $\eta$ left as text
)
# The plain-text repr a Jupyter widget leaves behind when no widget manager renders it.
WIDGET_REPR = re.compile(
    r"\b(?:interactive|VBox|HBox|Box|GridBox|Tab|Accordion|IntSlider|FloatSlider|FloatLogSlider|"
    r"IntRangeSlider|FloatRangeSlider|Dropdown|RadioButtons|ToggleButtons|Checkbox|Button|Output|"
    r"Play|Text|BoundedFloatText|BoundedIntText)\((?:children|value|description|options|layout|"
    r"outputs|min|max)=")


def visit(page, url: str) -> dict:
    """Open ``url`` as a first-time visitor and return what the page showed and requested."""
    log = page.nnbook_log
    log.clear()
    page.nnbook_bytes.clear()
    if urlparse(page.url).netloc == urlparse(url).netloc:
        # A first-time visitor: nothing remembered from the previous page (theme mode etc.).
        page.evaluate("() => { localStorage.clear(); sessionStorage.clear(); }")
    page.goto(url, wait_until="networkidle")
    report = page.evaluate(INSPECT_PAGE)
    # Let whatever the page fetched late finish here, so that leaving the page cannot abort it.
    for _ in range(100):
        if not page.nnbook_pending:
            break
        page.wait_for_timeout(50)
    report.update(console_errors=list(log.console_errors), failed=list(log.failed_requests),
                  blocked=list(log.blocked_requests), page_errors=list(log.page_errors),
                  bytes=sum(page.nnbook_bytes.values()))
    return report


@pytest.fixture
def reader(browser_page):
    """The conftest page, also recording bytes received and requests still in flight."""
    page = browser_page
    page.nnbook_bytes = {}

    def on_response(response):
        length = response.headers.get("content-length")
        if length and length.isdigit():
            page.nnbook_bytes[response.url] = int(length)

    page.nnbook_pending = set()
    page.on("request", lambda req: page.nnbook_pending.add(req))
    page.on("requestfinished", lambda req: page.nnbook_pending.discard(req))
    page.on("requestfailed", lambda req: page.nnbook_pending.discard(req))
    page.on("response", on_response)
    return page


def problems_on_page(site: Path, path: Path, report: dict) -> list[str]:
    """Everything wrong with one page, as readable sentences (empty when the page is fine)."""
    name = path.relative_to(site).as_posix()
    found = []
    for key, what in [("blocked", "needs the network for"), ("failed", "failed to load"),
                      ("console_errors", "logged a console error"), ("page_errors", "raised")]:
        for item in report[key]:
            found.append(f"{name}: {what} {item}")
    if report["mathNodes"] and not report["mjxContainers"]:
        found.append(f"{name}: has {report['mathNodes']} maths nodes but MathJax typeset none")
    for text in report["untypesetMath"]:
        found.append(f"{name}: maths not typeset: {text!r}")
    for error in report["mathErrors"]:
        found.append(f"{name}: MathJax error: {error}")
    raw = list(RAW_TEX.finditer(report["proseText"]))
    if raw:
        first = raw[0]
        context = report["proseText"][max(0, first.start() - 40):first.end() + 40].replace("\n", " ")
        found.append(f"{name}: raw TeX left in the visible text ({len(raw)} fragments), "
                     f"first: ...{context}...")
    for src in report["brokenImages"]:
        found.append(f"{name}: image did not load: {src}")
    if report["widgetMarkup"] or report["loadingWidgetText"]:
        found.append(f"{name}: an ipywidgets placeholder that cannot work on a static page "
                     "(show the figure's static version instead; see nnbook.widgets)")
    for match in WIDGET_REPR.finditer(report["outputText"]):
        found.append(f"{name}: a widget printed as text in an output: {match.group(0)}...")
    notebook = built_from_notebook(site, path)
    wanted = expected_colab_url(page_name(site, path))
    if notebook and wanted not in report["colabLinks"]:
        found.append(f"{name}: no Colab link to {wanted} (found {report['colabLinks']})")
    if notebook and not repository_file(wanted).is_file():
        found.append(f"{name}: its Colab link opens {repository_file(wanted)}, "
                     "which is not in the repository")
    for link in report["colabLinks"]:
        if not notebook or link != wanted:
            found.append(f"{name}: Colab link {link} does not open this page's notebook")
    return found


def test_every_page_works_offline_in_a_real_browser(built_site, site_url, reader):
    pages = browsable_pages(built_site)
    names = {p.relative_to(built_site).as_posix() for p in pages}
    assert {"search.html", "genindex.html"} <= names and any(n.startswith("chapters/") for n in names)
    problems, downloaded = [], {}
    for path in pages:
        report = visit(reader, f"{site_url}/{path.relative_to(built_site).as_posix()}")
        assert report["title"], f"{path} has no title"
        problems += problems_on_page(built_site, path, report)
        downloaded[path.relative_to(built_site).as_posix()] = report["bytes"]
    # What a first visit really downloads, fonts and the MathJax components its loader fetches
    # included (the built HTML names only MathJax's startup.js), against the same budget as
    # test_no_page_weighs_more_than_two_and_a_half_megabytes.
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "browser-downloads.txt").write_text("".join(
        f"{size:>10,}  {name}\n" for name, size in sorted(downloaded.items(), key=lambda kv: -kv[1])))
    assert all(size > 0 for size in downloaded.values()), "the byte count saw no responses"
    heavy = {name: size for name, size in downloaded.items() if size > MAX_PAGE_BYTES}
    assert not heavy, f"a first visit downloads more than {MAX_PAGE_BYTES:,} bytes: {heavy}"
    assert not problems, f"{len(problems)} problem(s) on {len(pages)} pages:\n" + "\n".join(problems)


def test_the_front_door_opens_the_book(site_url, reader):
    """GitHub Pages serves index.html at the site's root; it must lead to the introduction."""
    reader.goto(site_url + "/")
    reader.wait_for_url(re.compile(r"/book/intro\.html$"), timeout=10_000)
    reader.wait_for_load_state("networkidle")
    assert config()["title"] in reader.title()
    log = reader.nnbook_log
    assert not (log.console_errors or log.blocked_requests or log.failed_requests or log.page_errors)


def test_chapter_one_screenshot(built_site, site_url, reader):
    chapter = chapter_pages(built_site)[0]
    report = visit(reader, f"{site_url}/{chapter.relative_to(built_site).as_posix()}")
    assert report["mjxContainers"] > 0, "Chapter 1 shows no typeset maths"
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "chapter-01.png"
    reader.screenshot(path=str(shot))
    assert shot.stat().st_size > 20_000  # a blank or unstyled page compresses to far less
    heading = reader.locator("article h1").first
    assert heading.is_visible() and heading.bounding_box()["x"] > 200, "the sidebar layout is missing"


def search(page, site_url: str, query: str) -> list[str]:
    """Type ``query`` into the search box of a chapter and return the hrefs of the results."""
    page.goto(site_url + "/book/intro.html", wait_until="networkidle")
    page.locator("button.search-button__button").first.click()
    box = page.locator("#pst-search-dialog input[name=q]")
    box.fill(query)
    box.press("Enter")
    page.wait_for_url(re.compile(r"/search\.html\?q="))
    summary = page.locator("#search-results p.search-summary")
    summary.wait_for(timeout=15_000)
    page.wait_for_function("() => /found|did not match/.test("
                           "document.querySelector('#search-results p.search-summary').textContent)",
                           timeout=15_000)
    return page.eval_on_selector_all("#search-results ul.search li a", "els => els.map(a => a.href)")


@pytest.mark.parametrize("query", ["Kaiming", "梯度消失"])
def test_search_finds_glossary_terms_in_both_languages(site_url, reader, query):
    hits = search(reader, site_url, query)
    assert any("book/glossary.html" in href for href in hits), f"{query!r} found {hits}"
    assert not (reader.nnbook_log.blocked_requests or reader.nnbook_log.console_errors)


def test_search_reports_no_match_for_a_word_the_book_lacks(site_url, reader):
    assert search(reader, site_url, "zyxwvutsrq") == []
    assert "did not match" in reader.locator("#search-results").inner_text()


# --------------------------------------------------------------------------- in the built HTML

def test_internal_links_and_anchors_resolve(built_site):
    broken = site_report.broken_links(built_site)
    assert not broken, "\n".join(broken)


def test_external_links_are_listed(built_site):
    links = site_report.external_links(built_site)
    site_report.write_external_links(links, ARTIFACTS / "external-links.txt")
    for chapter in chapter_pages(built_site):
        wanted = expected_colab_url(page_name(built_site, chapter))
        assert chapter.relative_to(built_site).as_posix() in links.get(wanted, [])
    assert all(url.startswith(("https://", "http://", "//")) for url in links)


def test_every_image_has_alt_text_or_a_caption(built_site):
    missing = []
    for path in site_report.html_pages(built_site):
        for image in site_report.parse_page(path).images:
            alt = (image.alt or "").strip()
            file_name = image.src.rsplit("/", 1)[-1]
            # myst-nb's default alt text is the image's own path: that describes nothing.
            meaningful = alt and alt != image.src and not alt.endswith(file_name or "\0") \
                and not re.fullmatch(r"[\w./-]+\.(?:png|jpe?g|gif|svg|webp)", alt)
            if not (meaningful or image.caption):
                missing.append(f"{path.relative_to(built_site).as_posix()}: {image.src[:80]} (alt={alt!r})")
    assert not missing, ("images without alt text or caption (for a notebook output, give the cell "
                         "metadata mystnb: {image: {alt: ...}} or mystnb: {figure: {caption: ...}}):\n"
                         + "\n".join(missing))


def test_no_page_weighs_more_than_two_and_a_half_megabytes(built_site):
    weights = {path: sum(site_report.page_weight(built_site, path).values())
               for path in browsable_pages(built_site)}
    heavy = {p.relative_to(built_site).as_posix(): w for p, w in weights.items() if w > MAX_PAGE_BYTES}
    assert not heavy, f"pages over {MAX_PAGE_BYTES:,} bytes (HTML + what it loads): {heavy}"
    assert all(w > 10_000 for w in weights.values())  # the measure counts the loaded assets
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "site-report.txt").write_text(
        "\n".join(f"{w:>10,}  {p.relative_to(built_site).as_posix()}"
                  for p, w in sorted(weights.items(), key=lambda item: -item[1])) + "\n")


def test_site_report_runs_and_finds_a_planted_broken_link(built_site, tmp_path, capsys):
    assert site_report.main([str(built_site), "--external-links", str(tmp_path / "ext.txt")]) == 0
    out = capsys.readouterr().out
    assert "heaviest page:" in out and "whole site:" in out and (tmp_path / "ext.txt").exists()
    # The checker itself must catch a dead link and a dead anchor.
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text(
        '<a id="here" href="#here">ok</a><a href="gone.html">x</a><a href="index.html#nowhere">y</a>'
        '<img src="missing.png" alt="a missing picture"><a href="https://example.org">ext</a>')
    broken = site_report.broken_links(tmp_path / "site")
    assert len(broken) == 3 and "gone.html" in broken[0] and "#nowhere" in broken[1]
    assert list(site_report.external_links(tmp_path / "site")) == ["https://example.org"]


# --------------------------------------------------------------------------- the front matter

CJK = re.compile(r"[\u4e00-\u9fff]")


def glossary_entries() -> list[tuple[list[str], str]]:
    """(names, definition) of every entry of the {glossary} directive in book/glossary.md."""
    text = (ROOT / "book" / "glossary.md").read_text(encoding="utf-8")
    body = re.search(r"```\{glossary\}\n(.*?)```", text, flags=re.S).group(1)
    entries, names, definition = [], [], []
    for line in body.splitlines():
        if line.startswith(":") or not line.strip():
            continue
        if line.startswith(" "):
            definition.append(line.strip())
            continue
        if definition:
            entries.append((names, " ".join(definition)))
            names, definition = [], []
        names.append(line.strip())
    entries.append((names, " ".join(definition)))
    return entries


def test_glossary_pairs_every_term_with_its_chinese_name():
    entries = glossary_entries()
    assert len(entries) >= 50
    for names, definition in entries:
        assert any(CJK.search(n) for n in names), f"{names}: no Chinese name"
        assert any(re.match(r"[A-Za-z]", n) for n in names), f"{names}: no English name"
        assert len(definition.split()) >= 8, f"{names}: the definition is missing or too short"
    all_names = {n for names, _ in entries for n in names}
    for required in ["activation function", "激活函数", "vanishing gradient", "梯度消失", "学习率衰减",
                     "神经元", "全连接层", "隐藏层", "权重", "偏置", "损失函数", "交叉熵", "反向传播",
                     "梯度下降", "随机梯度下降", "动量法", "AdaGrad", "RMSProp", "Adam", "AdamW",
                     "权重衰减", "正则化", "随机失活", "批量归一化", "过拟合", "欠拟合", "参数初始化",
                     "Xavier initialization", "Kaiming initialization", "dead ReLU", "logits",
                     "softmax", "独热编码", "epoch", "batch"]:
        assert required in all_names, f"the glossary lacks {required!r}"


def test_front_matter_links_the_chapters_and_the_exercise_pages(built_site):
    intro = site_report.parse_page(built_site / "book" / "intro.html")
    intro_links = {u.split("#")[0] for u in site_report.urls_of(intro.links)}
    for chapter in chapter_pages(built_site):  # the chapter plan links each published chapter
        assert f"../chapters/{chapter.name}" in intro_links, f"book/intro.md does not link {chapter.name}"
    how_to = site_report.parse_page(built_site / "book" / "how-to-use.html")
    how_to_links = {u.split("#")[0] for u in site_report.urls_of(how_to.links)}
    assert {"exercises-for-students.html", "grading-for-teachers.html"} <= how_to_links


def test_the_students_page_lists_every_exercise_notebook_with_its_chapter():
    page = (ROOT / "book" / "exercises-for-students.md").read_text(encoding="utf-8")
    for notebook in sorted((ROOT / "exercises").glob("*.ipynb")):
        row = f"| `exercises/{notebook.name}` | {{doc}}`../chapters/{notebook.stem}` |"
        assert row in page, f"book/exercises-for-students.md has no table row for {notebook.name}"


@pytest.mark.parametrize("page", ["intro.md", "how-to-use.md", "keras-to-pytorch.md"])
def test_python_shown_in_the_front_matter_runs(page, capsys):
    source = (ROOT / "book" / page).read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", source, flags=re.S)
    assert blocks, f"book/{page} shows no Python"
    for block in blocks:
        exec(compile(block, f"book/{page}", "exec"), {})


def test_how_to_use_gives_the_readme_commands_and_the_configured_repository():
    page = (ROOT / "book" / "how-to-use.md").read_text(encoding="utf-8")
    for command in readme_commands():
        assert command in page, f"book/how-to-use.md lacks the README's `{command}`"
    assert f"git clone {repository_url()}.git" in page
    assert "Runtime → Change runtime type" in page


# --------------------------------------------------------------------------- the workflows

WORKFLOWS = ROOT / ".github" / "workflows"


def load_workflow(name: str) -> dict:
    data = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as True
    return data


def run_lines(job: dict) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def readme_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```(?:bash|sh)?\n(.*?)```", readme, flags=re.S).group(1)
    return [line.strip() for line in block.splitlines() if line.strip() and not line.startswith("#")]


def test_book_workflow_builds_tests_and_deploys_to_pages():
    wf = load_workflow("book.yml")
    assert "main" in wf["on"]["push"]["branches"]
    build, deploy = wf["jobs"]["build"], wf["jobs"]["deploy"]
    script = run_lines(build)
    for command in readme_commands():
        assert command in script, f"the book workflow does not run the README's `{command}`"
    assert "apt-get install" in script and "chromium" in script
    assert "3.11" in str(build.get("container", "")) + str(build["steps"])
    uses = [step.get("uses", "") for step in build["steps"]]
    assert any(u.startswith("actions/checkout@") for u in uses)
    upload = next(s for s in build["steps"] if s.get("uses", "").startswith("actions/upload-pages-artifact@"))
    assert upload["with"]["path"] == "_build/html"
    assert deploy["needs"] == "build" and "refs/heads/main" in deploy["if"]
    assert [s["uses"].split("@")[0] for s in deploy["steps"]] == ["actions/deploy-pages"]
    assert deploy["environment"]["name"] == "github-pages"
    permissions = {**wf.get("permissions", {}), **deploy.get("permissions", {})}
    assert permissions.get("pages") == "write" and permissions.get("id-token") == "write"


def test_colab_stack_workflow_runs_every_notebook_weekly_on_the_newest_stack():
    wf = load_workflow("colab-stack.yml")
    (schedule,) = wf["on"]["schedule"]
    fields = schedule["cron"].split()
    assert len(fields) == 5 and fields[2] == "*" and fields[3] == "*" and fields[4] != "*"  # weekly
    (job,) = wf["jobs"].values()
    script = run_lines(job)
    assert re.search(r"pip install [^\n]*--upgrade[^\n]*torch numpy matplotlib ipywidgets", script)
    assert "tools/execute_notebooks.py --all" in script


def test_book_workflow_tests_both_ends_of_the_supported_range():
    """The `range` job runs the same range tests as .ci/run, on the oldest and the newest release."""
    wf = load_workflow("book.yml")
    job = wf["jobs"]["range"]
    assert sorted(job["strategy"]["matrix"]["end"]) == ["newest", "oldest"]
    script = run_lines(job)
    assert "bash tools/range_tests.sh" in script and "pyproject.toml" in script
    assert "bash tools/range_tests.sh" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
