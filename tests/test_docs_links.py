"""Every relative link and picture in the README and docs/ points at a file of the repository, and
every picture kept in docs/screenshots is shown somewhere (make docs-screenshots keeps only
those)."""

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", ROOT / "CHANGELOG.md",
        *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def relative_links(doc):
    for target in LINK.findall(doc.read_text(encoding="utf-8")):
        if not re.match(r"[a-z]+:", target):
            yield target


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_links_resolve(doc):
    missing = [t for t in relative_links(doc) if not (doc.parent / t).exists()]
    assert missing == [], f"{doc.name} links to missing files: {missing}"


def test_every_screenshot_is_shown():
    shown = {(doc.parent / t).resolve() for doc in DOCS for t in relative_links(doc)}
    kept = (ROOT / "docs" / "screenshots").glob("*.png")
    unused = [p.name for p in kept if p.resolve() not in shown]
    assert unused == []


def test_the_checker_sees_a_broken_link(tmp_path):
    doc = tmp_path / "x.md"
    doc.write_text("see ![a](nowhere.png) and [b](https://example.org/x)", encoding="utf-8")
    assert list(relative_links(doc)) == ["nowhere.png"]
