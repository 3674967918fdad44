"""Every relative link of the README and of docs/*.md leads somewhere: the file exists, and a
``#anchor`` into a Markdown file names one of its headings as GitHub spells heading anchors
(lowercase, spaces to dashes, punctuation dropped, ``-1``, ``-2`` for repeats).

Pure: reads the Markdown files of the work tree, nothing else."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]

#: ``[text](target)`` or ``![alt](target)``, with an optional "title" after the target.
_LINK = re.compile(r"!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_FENCE = re.compile(r"^\s*(```|~~~)")
_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
#: a link whose target names a scheme (https:, mailto:) is not a file of this tree
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


@dataclass(frozen=True)
class Link:
    page: Path
    line: int
    target: str


def prose_lines(text: str) -> list[tuple[int, str]]:
    """The lines of ``text`` outside fenced code blocks, with their numbers (from 1)."""
    kept: list[tuple[int, str]] = []
    fence: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        opening = _FENCE.match(line)
        if fence is None and opening:
            fence = opening.group(1)
        elif fence is not None:
            if line.strip().startswith(fence):
                fence = None
        else:
            kept.append((number, line))
    return kept


def links(page: Path) -> list[Link]:
    """The links of ``page`` that point into this tree (not inside code)."""
    found: list[Link] = []
    for number, line in prose_lines(page.read_text(encoding="utf-8")):
        for match in _LINK.finditer(_CODE_SPAN.sub("", line)):
            target = match.group(1)
            if not _SCHEME.match(target):
                found.append(Link(page, number, target))
    return found


def anchor(heading: str) -> str:
    """The anchor GitHub gives ``heading``: markup dropped, lowercase, punctuation other than
    ``-`` and ``_`` dropped, each space a dash."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = text.replace("`", "").lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every heading anchor of ``page``, repeats numbered as GitHub numbers them."""
    seen: dict[str, int] = {}
    result: set[str] = set()
    for _, line in prose_lines(page.read_text(encoding="utf-8")):
        heading = _HEADING.match(line)
        if heading is None:
            continue
        slug = anchor(heading.group(2))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        result.add(slug if count == 0 else f"{slug}-{count}")
    return result


def broken(link: Link) -> str | None:
    """Why ``link`` leads nowhere, or None when it resolves."""
    path_part, _, fragment = link.target.partition("#")
    target = (link.page.parent / path_part).resolve() if path_part else link.page
    if not target.exists():
        return f"no file {path_part}"
    if fragment and target.suffix == ".md" and fragment not in anchors(target):
        return f"no heading #{fragment} in {target.name}"
    return None


def test_the_pages_are_there() -> None:
    names = {p.name for p in PAGES}
    assert {"README.md", "architecture.md", "reference.md", "lessons.md"} <= names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_relative_link_resolves(page: Path) -> None:
    found = links(page)
    problems = [f"{page.name}:{k.line}: {k.target}: {why}" for k in found if (why := broken(k))]
    assert problems == []


def test_a_missing_file_or_heading_is_found(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Other page\n\n## The `proxy` command (any client)\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n"
        "[ok](other.md#the-proxy-command-any-client) [self](#page)\n"
        "[gone](missing.md) [no heading](other.md#nowhere) [no anchor here](#elsewhere)\n"
        "![picture](pictures/none.svg) [web](https://example.com/x.md)\n"
        "```\n[in code](missing-too.md)\n```\n"
        "`[in a span](missing-three.md)`\n"
    )
    reasons = {k.target: broken(k) for k in links(page)}
    assert reasons == {
        "other.md#the-proxy-command-any-client": None,
        "#page": None,
        "missing.md": "no file missing.md",
        "other.md#nowhere": "no heading #nowhere in other.md",
        "#elsewhere": "no heading #elsewhere in page.md",
        "pictures/none.svg": "no file pictures/none.svg",
    }


@pytest.mark.parametrize(
    ("heading", "expected"),
    [
        ("A one-minute tour", "a-one-minute-tour"),
        ("`ridectl broker`: the local broker", "ridectl-broker-the-local-broker"),
        ("Choosing the client (`--client`)", "choosing-the-client---client"),
        ("`fixes`: what it costs in kafka-python", "fixes-what-it-costs-in-kafka-python"),
        ("Failover on a 3-node cluster", "failover-on-a-3-node-cluster"),
        ("Snake_case and émigré words", "snake_case-and-émigré-words"),
        ("See [the guide](x.md) now", "see-the-guide-now"),
    ],
)
def test_anchors_follow_githubs_rules(heading: str, expected: str) -> None:
    assert anchor(heading) == expected


def test_repeated_headings_are_numbered(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# Notes\n## Notes\n## Notes\n")
    assert anchors(page) == {"notes", "notes-1", "notes-2"}
