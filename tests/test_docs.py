"""README.md and docs/*.md link to each other with relative links that work: each one names a
file or folder of the repository, and each ``#anchor`` a heading of the file it points into
(anchors made as GitHub makes them). Every document in docs/ opens with its title, a one-line
summary and a link back to the README."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

FENCED_BLOCK = re.compile(r"^ {0,3}(`{3,}|~{3,}).*?^ {0,3}\1[`~]*[ \t]*$", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)", re.DOTALL)
# [text](target) and ![alt](target), with an optional "title"; <target> for targets with spaces.
INLINE_LINK = re.compile(
    r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*(?:<([^>]*)>|([^\s)]+))(?:\s+\"[^\"]*\")?\s*\)"
)
REFERENCE_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?([^\s>]+)>?", re.MULTILINE)
HTML_LINK = re.compile(r"""<(?:a|img)\b[^>]*?\b(?:href|src)\s*=\s*["']([^"']+)["']""")
HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.*?)[ \t]*#*[ \t]*$", re.MULTILINE)
HTML_ANCHOR = re.compile(r"""<a\b[^>]*?\b(?:id|name)\s*=\s*["']([^"']+)["']""")
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def _without_code(text: str) -> str:
    """The text less fenced blocks and code spans, where a link is only an example."""
    return CODE_SPAN.sub("", FENCED_BLOCK.sub("", text))


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: links reduced to their text, lower case, punctuation
    other than - and _ dropped, spaces made hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(document: Path) -> set[str]:
    """Every anchor a link may name in ``document``: its headings (a repeated heading gets -1,
    -2, … as on GitHub) and explicit ``<a id=…>`` / ``<a name=…>``."""
    text = FENCED_BLOCK.sub("", document.read_text())
    seen: Counter[str] = Counter()
    found = set(HTML_ANCHOR.findall(text))
    for heading in HEADING.findall(text):
        anchor = _anchor(heading)
        found.add(f"{anchor}-{seen[anchor]}" if seen[anchor] else anchor)
        seen[anchor] += 1
    return found


def links(document: Path) -> list[str]:
    text = _without_code(document.read_text())
    found = [angled or plain for angled, plain in INLINE_LINK.findall(text)]
    return found + REFERENCE_DEFINITION.findall(text) + HTML_LINK.findall(text)


def broken_links(document: Path, *, root: Path = ROOT) -> list[str]:
    """The relative links of ``document`` that lead nowhere, each with what is wrong."""
    problems = []
    for target in links(document):
        if SCHEME.match(target) or target.startswith("//"):
            continue  # a web address: not this test's business
        path_part, _, anchor = target.partition("#")
        path = (document.parent / unquote(path_part)).resolve() if path_part else document
        if not path.is_relative_to(root.resolve()):
            problems.append(f"{target}: outside the repository")
        elif not path.exists():
            problems.append(f"{target}: no such file")
        elif anchor and path.suffix != ".md":
            problems.append(f"{target}: an anchor into a file that is not Markdown")
        elif anchor and unquote(anchor) not in anchors(path):
            problems.append(f"{target}: no heading #{anchor} in {path.relative_to(root)}")
    return problems


def test_the_documents_are_found() -> None:
    names = {path.relative_to(ROOT).as_posix() for path in DOCUMENTS}

    assert {"README.md", "docs/configuration.md", "docs/api.md", "docs/architecture.md"} <= names
    assert all(links(path) for path in DOCUMENTS), "a document without links: is it parsed?"


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_every_relative_link_works(document: Path) -> None:
    assert broken_links(document) == []


@pytest.mark.parametrize(
    "document", DOCUMENTS[1:], ids=lambda path: path.relative_to(ROOT).as_posix()
)
def test_every_doc_opens_with_a_summary_and_a_way_back_to_the_readme(document: Path) -> None:
    title, blank, summary = document.read_text().split("\n")[:3]

    assert title.startswith("# ")
    assert blank == ""
    assert summary.endswith("[← README](../README.md)")
    assert len(summary.removesuffix("[← README](../README.md)").strip()) > 20


def test_a_broken_link_or_anchor_is_reported(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "guide.md").write_text(
        "# Guide\n\n## Step one: the key\n\n## Step one: the key\n\n```\n## Not a heading\n```\n"
    )
    readme = tmp_path / "README.md"
    readme.write_text(
        "# Title\n\n## The `make run` command\n\n"
        "[ok](docs/guide.md) [ok](docs/guide.md#step-one-the-key) "
        "[ok](docs/guide.md#step-one-the-key-1) [ok](#the-make-run-command) [ok](docs/) "
        "![ok](docs/guide.md) [web](https://example.com/missing.md) `[code](missing.md)`\n\n"
        "[gone](docs/missing.md) [anchor](docs/guide.md#step-two) [here](#nowhere) "
        "[fenced](docs/guide.md#not-a-heading) ![picture](docs/missing.png) "
        '[outside](../elsewhere.md) [defined] <img src="docs/nope.png" width="80">\n\n'
        "[defined]: docs/gone.md\n"
    )

    assert broken_links(readme, root=tmp_path) == [
        "docs/missing.md: no such file",
        "docs/guide.md#step-two: no heading #step-two in docs/guide.md",
        "#nowhere: no heading #nowhere in README.md",
        "docs/guide.md#not-a-heading: no heading #not-a-heading in docs/guide.md",
        "docs/missing.png: no such file",
        "../elsewhere.md: outside the repository",
        "docs/gone.md: no such file",
        "docs/nope.png: no such file",
    ]
