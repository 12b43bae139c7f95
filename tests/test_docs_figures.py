"""No benchmark figure is typed by hand: the README's and the benchmark page's figures are those of
``bench-results/bpy-<version>.json``, and those results were measured on the add-on sources being
released (``tools/docs_figures.py`` fills the markers; ``make bench`` measures)."""
import re

import pytest
from helpers import ROOT, load_script, load_tool_package

DOCS = [ROOT / "README.md", ROOT / "docs" / "benchmarks.md"]
# Deep pages that quote results through markers too (and also state model constants by hand)
QUOTING = DOCS + [ROOT / "docs" / "embree.md", ROOT / "docs" / "leak-hunting.md",
                  ROOT / "docs" / "pipelines.md"]
# A benchmark figure: a factor ("31.7×"), or a time in ms/µs.  Outside markers and code blocks,
# none may appear in these pages.  Not figures: targets ("≥ 100×", "≤ 1.3×"), a scene's size
# ("20 × 5,120"), set-up sizes and durations in MB, GB or minutes.
HAND_TYPED = re.compile(r"\d[\d,.]*(?:×(?! ?\d)|\s?(?:ms|µs)\b)")
TARGET = re.compile(r"[≥≤<>]\s?\d[\d,.]*\s?(?:×|ms\b|µs\b)")


def _tool(name):
    return load_script(f"tools/{name}.py")


@pytest.fixture(scope="module")
def figures():
    return _tool("docs_figures")


@pytest.mark.parametrize("path", QUOTING, ids=lambda p: p.name)
def test_figures_are_the_results(figures, path):
    text = path.read_text(encoding="utf-8")
    docs = figures.load_results(sorted(figures.versions_used(text)))
    assert docs, f"{path.name} quotes no benchmark result"
    assert figures.mismatches(text, docs) == []


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_no_figure_is_typed_by_hand(figures, path):
    text = path.read_text(encoding="utf-8")
    text = figures.FIGURE.sub("", figures.TABLE.sub("", text))
    text = TARGET.sub("", re.sub(r"```.*?```", "", text, flags=re.S))
    assert HAND_TYPED.findall(text) == [], "benchmark figures outside the markers"


# A one-version figure followed by the version it is of: "<!--fig:5.3:…-->27.9 ms<!--/fig--> on 5.3"
SAID_VERSION = re.compile(r"<!--fig:(?P<spec>\d+\.\d+):[^>]*-->[^<]*<!--/fig-->"
                          r"\s*on (?P<said>\d+\.\d+)")


def said_versions_differing(text):
    """``(figure's version, version the text says)`` where they differ."""
    return [(m["spec"], m["said"]) for m in SAID_VERSION.finditer(text) if m["spec"] != m["said"]]


@pytest.mark.parametrize("path", QUOTING, ids=lambda p: p.name)
def test_a_figure_is_said_to_be_of_its_own_version(path):
    assert said_versions_differing(path.read_text(encoding="utf-8")) == []


def test_the_version_check_sees_a_wrong_version():
    assert said_versions_differing("<!--fig:5.3:row/x/ours:text-->27.9 ms<!--/fig--> on 5.0") == \
        [("5.3", "5.0")]
    assert said_versions_differing("<!--fig:5.3:row/x/ours:text-->27.9 ms<!--/fig--> on 5.3") == []


def test_results_are_of_the_released_sources():
    digest = load_tool_package("bench").addon_digest()
    for path in sorted((ROOT / "bench-results").glob("bpy-*.json")):
        meta = __import__("json").loads(path.read_text(encoding="utf-8"))["meta"]
        assert meta["size"] == "full", f"{path.name}: measured at {meta['size']} sizes"
        assert meta["addon_digest"] == digest, (
            f"{path.name} was measured on add-on sources {meta['addon_digest']}, these are "
            f"{digest}: run `make bench`")


def test_the_checker_sees_a_wrong_figure(figures):
    """The check is only worth something if it can fail."""
    docs = figures.load_results(["5.3"])
    right = figures.render("5.3:row/cold.S3/ratio:x", docs)
    wrong = "<!--fig:5.3:row/cold.S3/ratio:x-->999×<!--/fig-->"
    assert right != "999×"
    assert figures.mismatches(wrong, docs) == [("fig:5.3:row/cold.S3/ratio:x", "999×", right)]
    assert len(HAND_TYPED.findall("it is 31.7× faster and takes 12 ms")) == 2
    assert HAND_TYPED.findall(TARGET.sub("", "S1 20 × 5,120 tris, ≥ 100× faster")) == []
