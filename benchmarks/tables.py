"""The tables of docs/benchmarks.md from the benchmarks' own output, not from hand edits.

    .venv/bin/python -m benchmarks.news_quality --markdown benchmarks/out/news_quality.md
    .venv/bin/python -m benchmarks.tables benchmarks/out/news_quality.md [...] [--docs FILE]

A benchmark run with `--markdown FILE` writes each table it names as a block:

    <!-- table:news_quality -->
    | metric | fit half | ... |
    <!-- /table -->

and this command replaces the block of the same name in docs/benchmarks.md with it (the text
around the blocks, the commands and the commentary, stays as written). A block the document
does not have is reported and changes nothing, so a table is never dropped in by mistake.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Mapping
from pathlib import Path

from benchmarks.common import ROOT

DOCS = ROOT / "docs" / "benchmarks.md"
# A block's name: letters, digits, "_" and "-"; its body: everything up to the closing marker.
BLOCK = re.compile(r"<!-- table:([\w-]+) -->\n(.*?)<!-- /table -->", re.DOTALL)


def block(name: str, text: str) -> str:
    """A table as a named block, ready to be spliced."""
    return f"<!-- table:{name} -->\n{text.rstrip()}\n<!-- /table -->"


def blocks(text: str) -> dict[str, str]:
    """The named blocks of a text: name -> the table between the markers."""
    return {found[1]: found[2] for found in BLOCK.finditer(text)}


def splice(document: str, tables: Mapping[str, str]) -> tuple[str, list[str]]:
    """`document` with each named block's table replaced by the one in `tables`, and the
    names in `tables` the document has no block for."""
    present = blocks(document)
    missing = [name for name in tables if name not in present]

    def replaced(found: re.Match[str]) -> str:
        name = found[1]
        return block(name, tables[name]) if name in tables else found[0]

    return BLOCK.sub(replaced, document), missing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("outputs", type=Path, nargs="+",
                        help="files a benchmark wrote with --markdown")
    parser.add_argument("--docs", type=Path, default=DOCS)
    args = parser.parse_args(argv)
    tables: dict[str, str] = {}
    for output in args.outputs:
        tables.update(blocks(output.read_text(encoding="utf-8")))
    document, missing = splice(args.docs.read_text(encoding="utf-8"), tables)
    args.docs.write_text(document, encoding="utf-8")
    for name in sorted(set(tables) - set(missing)):
        print(f"{args.docs}: table {name} replaced")
    for name in missing:
        print(f"{args.docs} has no block <!-- table:{name} -->: not spliced", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
