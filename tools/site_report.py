"""Weigh the built book, check its internal links and list its external ones.

    python tools/site_report.py                      # reads _build/html
    python tools/site_report.py path/to/html --external-links links.txt

What it reports:

- the size of the whole site (every file under the HTML folder);
- the weight of every page: the HTML itself plus the local images, scripts and stylesheets its
  tags load (counted once per page). Files that scripts fetch later, such as MathJax's fonts, are
  not in the HTML and not counted; the browser test in tests/test_site.py weighs those too;
- every internal ``href``/``src``/``srcset`` that points at a missing file or a missing ``#anchor``;
- every external link, with the pages that carry it (listed, never fetched).

The exit status is 1 when an internal link is broken, so the script can gate a deployment.
tests/test_site.py imports these functions; they are the single implementation of the checks.
"""

import argparse
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parents[1]

# Folders of a Sphinx build that hold assets and sources, not pages.
NON_PAGE_DIRS = {"_static", "_sources", "_images", "_downloads"}
# Attributes that point at another file, by tag. ``a``/``area`` hrefs are navigation; the rest
# are resources the browser fetches while it renders the page (they count towards its weight).
LINK_ATTRS = {"a": ("href",), "area": ("href",), "form": ("action",)}
RESOURCE_ATTRS = {
    "img": ("src", "srcset"), "source": ("src", "srcset"), "script": ("src",),
    "iframe": ("src",), "embed": ("src",), "video": ("src", "poster"), "audio": ("src",),
    "track": ("src",), "object": ("data",), "input": ("src",),
}
LOADED_LINK_RELS = {"stylesheet", "icon", "shortcut", "preload", "modulepreload", "apple-touch-icon"}
NOT_FILES = ("mailto:", "javascript:", "data:", "tel:", "blob:", "about:")


@dataclass
class Image:
    src: str
    alt: str | None
    caption: str = ""  # text of the <figcaption> of the <figure> the image sits in, if any


@dataclass
class Page:
    """What one HTML file contains that the checks need."""

    path: Path
    links: list = field(default_factory=list)      # (tag, attribute, value) of navigation links
    resources: list = field(default_factory=list)  # (tag, attribute, value) the page loads
    ids: set = field(default_factory=set)          # every id= and <a name=> (anchor targets)
    images: list = field(default_factory=list)
    redirect: str | None = None                    # target of <meta http-equiv="refresh">


class _PageParser(HTMLParser):
    def __init__(self, page: Page):
        super().__init__(convert_charrefs=True)
        self.page = page
        self.figures = []       # open <figure> elements: [images inside, caption text]
        self.in_caption = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name") if tag == "a" else ("id",):
            if attrs.get(key):
                self.page.ids.add(attrs[key])
        if tag == "meta" and (attrs.get("http-equiv") or "").lower() == "refresh":
            content = attrs.get("content") or ""
            if "url=" in content.lower():
                self.page.redirect = content[content.lower().index("url=") + 4:].strip()
        for attr in LINK_ATTRS.get(tag, ()):
            if attrs.get(attr):
                self.page.links.append((tag, attr, attrs[attr]))
        if tag == "link" and attrs.get("href"):
            rels = set((attrs.get("rel") or "").lower().split())
            target = self.page.resources if rels & LOADED_LINK_RELS else self.page.links
            target.append((tag, "href", attrs["href"]))
        for attr in RESOURCE_ATTRS.get(tag, ()):
            if attrs.get(attr):
                self.page.resources.append((tag, attr, attrs[attr]))
        if tag == "figure":
            self.figures.append([[], ""])
        elif tag == "figcaption":
            self.in_caption += 1
        elif tag == "img":
            image = Image(src=attrs.get("src") or "", alt=attrs.get("alt"))
            self.page.images.append(image)
            if self.figures:
                self.figures[-1][0].append(image)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if tag == "figcaption" and self.in_caption:
            self.in_caption -= 1
        elif tag == "figure" and self.figures:
            images, caption = self.figures.pop()
            for image in images:
                image.caption = caption.strip()

    def handle_data(self, data):
        if self.in_caption and self.figures:
            self.figures[-1][1] += data


def parse_page(path: Path) -> Page:
    page = Page(path=path)
    parser = _PageParser(page)
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    parser.close()
    return page


def html_pages(site: Path) -> list[Path]:
    """Every page of the built site (HTML files outside the asset folders), sorted."""
    return sorted(p for p in site.rglob("*.html")
                  if not NON_PAGE_DIRS & set(p.relative_to(site).parts[:-1]))


def is_external(url: str) -> bool:
    return urlsplit(url).scheme in ("http", "https", "ftp") or url.startswith("//")


def srcset_urls(value: str) -> list[str]:
    return [part.strip().split()[0] for part in value.split(",") if part.strip()]


def urls_of(refs) -> list[str]:
    urls = []
    for _tag, attr, value in refs:
        urls.extend(srcset_urls(value) if attr == "srcset" else [value.strip()])
    return urls


def local_target(site: Path, page: Path, url: str):
    """The file a local URL on ``page`` names, and its #fragment; None for non-file URLs."""
    if not url or is_external(url) or url.lower().startswith(NOT_FILES):
        return None
    parts = urlsplit(url)
    if not parts.path:
        return page, unquote(parts.fragment)
    if parts.path.startswith("/"):
        target = site / unquote(parts.path).lstrip("/")
    else:
        target = page.parent / unquote(parts.path)
    if parts.path.endswith("/") or target.is_dir():
        target = target / "index.html"
    return Path(target.resolve() if target.exists() else target.absolute()), unquote(parts.fragment)


class _Pages:
    """Parse each page at most once."""

    def __init__(self):
        self.cache = {}

    def __call__(self, path: Path) -> Page:
        key = path.resolve()
        if key not in self.cache:
            self.cache[key] = parse_page(key)
        return self.cache[key]


def broken_links(site: Path, pages=None) -> list[str]:
    """Internal links and resources that name a missing file or a missing #anchor."""
    site = site.resolve()
    parsed = _Pages()
    problems = []
    for path in pages or html_pages(site):
        page = parsed(path)
        name = path.relative_to(site).as_posix()
        refs = [(u, "link") for u in urls_of(page.links)] + [(u, "resource") for u in urls_of(page.resources)]
        if page.redirect:
            refs.append((page.redirect, "redirect"))
        for url, kind in refs:
            found = local_target(site, path, url)
            if found is None:
                continue
            target, fragment = found
            try:
                target.relative_to(site)
            except ValueError:
                problems.append(f"{name}: {kind} {url!r} leaves the site")
                continue
            if not target.is_file():
                problems.append(f"{name}: {kind} {url!r} names a missing file")
            elif fragment and target.suffix == ".html" and fragment not in parsed(target).ids:
                problems.append(f"{name}: {kind} {url!r} names a missing anchor #{fragment}")
    return problems


def external_links(site: Path, pages=None) -> dict[str, list[str]]:
    """External URL -> the pages (relative paths) that link to it."""
    found = defaultdict(set)
    for path in pages or html_pages(site):
        page = parse_page(path)
        for url in urls_of(page.links) + urls_of(page.resources):
            if is_external(url):
                found[url].add(path.relative_to(site).as_posix())
    return {url: sorted(found[url]) for url in sorted(found)}


def page_weight(site: Path, path: Path) -> dict[str, int]:
    """Bytes a reader downloads for ``path``: its HTML and each local file its tags load."""
    page = parse_page(path)
    weight = {path.relative_to(site).as_posix(): path.stat().st_size}
    for url in urls_of(page.resources):
        found = local_target(site, path, url)
        if found and found[0].is_file() and found[0] != path.resolve():
            weight[found[0].resolve().relative_to(site.resolve()).as_posix()] = found[0].stat().st_size
    return weight


def site_size(site: Path) -> tuple[int, int]:
    """(bytes, files) of everything in the built site."""
    files = [p for p in site.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files), len(files)


def human(size: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000


def breakdown(weight: dict[str, int]) -> str:
    kinds = defaultdict(lambda: [0, 0])
    for name, size in weight.items():
        suffix = Path(name).suffix.lower()
        kind = {".html": "HTML", ".js": "scripts", ".css": "styles"}.get(suffix, "images and other")
        kinds[kind][0] += 1
        kinds[kind][1] += size
    return ", ".join(f"{kind} {human(size)} ({count})" for kind, (count, size) in sorted(kinds.items()))


def write_external_links(links: dict[str, list[str]], target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    lines = ["# External links of the built book (listed, not fetched): URL <tab> pages that carry it"]
    lines += [f"{url}\t{', '.join(pages)}" for url, pages in links.items()]
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("site", nargs="?", type=Path, default=ROOT / "_build" / "html")
    parser.add_argument("--external-links", type=Path, help="also write the external links to this file")
    parser.add_argument("--top", type=int, default=10, help="how many of the heaviest pages to list")
    args = parser.parse_args(argv)
    site = args.site
    if not (site / "index.html").exists():
        parser.error(f"{site} holds no built site: run `jupyter-book build .` first")

    pages = html_pages(site)
    total, files = site_size(site)
    weights = sorted(((sum(page_weight(site, p).values()), p) for p in pages), reverse=True)
    heaviest_size, heaviest = weights[0]
    print(f"site:          {site}")
    print(f"whole site:    {human(total)} in {files} files ({total:,} bytes)")
    print(f"pages:         {len(pages)}")
    print(f"heaviest page: {heaviest.relative_to(site).as_posix()}, {human(heaviest_size)}"
          f" [{breakdown(page_weight(site, heaviest))}]")
    print(f"\nheaviest {min(args.top, len(weights))} pages (HTML + the images, scripts and styles it loads):")
    for size, path in weights[:args.top]:
        html = path.stat().st_size
        print(f"  {human(size):>9}  (HTML {human(html):>9})  {path.relative_to(site).as_posix()}")

    broken = broken_links(site, pages)
    print(f"\nbroken internal links: {len(broken)}")
    for line in broken:
        print(f"  {line}")
    links = external_links(site, pages)
    print(f"external links: {len(links)} distinct URLs (listed, not fetched)")
    if args.external_links:
        write_external_links(links, args.external_links)
        print(f"  written to {args.external_links}")
    else:
        for url, on in links.items():
            print(f"  {url}  [{len(on)} page(s)]")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
