"""Generated blocks in the docs: a benchmark's figures rendered from its results file.

A document quotes a benchmark between two markers::

    <!-- bench:<name>:begin (generated from bench/results/<name>/; do not edit) -->
    ...
    <!-- bench:<name>:end -->

:func:`replace_block` rewrites what is between them (or appends a new section with them), so
the figures in the docs are always those of a results file, never copied by hand.
"""

from __future__ import annotations

from pathlib import Path

from bench.harness.results import REPO

BENCHMARKS_DOC = REPO / "docs" / "benchmarks.md"


def begin_marker(name: str) -> str:
    """The line that opens ``name``'s generated block."""
    return f"<!-- bench:{name}:begin (generated from bench/results/{name}/; do not edit) -->"


def end_marker(name: str) -> str:
    """The line that closes ``name``'s generated block."""
    return f"<!-- bench:{name}:end -->"


def replace_block(name: str, markdown: str, path: Path = BENCHMARKS_DOC) -> None:
    """Put ``markdown`` between ``name``'s markers in ``path`` (a new section if none)."""
    begin, end = begin_marker(name), end_marker(name)
    block = f"{begin}\n\n{markdown.strip()}\n\n{end}"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if begin in text and end in text:
        head, _, rest = text.partition(begin)
        _, _, tail = rest.partition(end)
        text = head + block + tail
    else:
        text = text.rstrip("\n") + f"\n\n## {name}\n\n{block}\n"
    path.write_text(text, encoding="utf-8")
