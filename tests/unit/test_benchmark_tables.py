"""docs/benchmarks.md's marked tables come from the benchmarks' output: a run's --markdown file
spliced in by `python -m benchmarks.tables`, the text around the tables untouched."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import runner, tables
from tests.support.workspace import ROOT

DOC = """# Benchmarks

Some commentary a person wrote.

<!-- table:news_quality -->
| metric | all |
|---|---|
| quote hit | 0.500 |
<!-- /table -->

More commentary.

<!-- table:outlets -->
| measure | value |
|---|---|
| story pairs: precision | 1.000 (7 found) |
<!-- /table -->
"""


def test_a_run_s_table_replaces_only_its_own_block(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "SHOWN", {})
    runner.show("news_quality", "| metric | all |\n|---|---|\n| quote hit | 0.537 |")
    output = tmp_path / "out" / "news_quality.md"
    runner.write_shown(output)
    docs = tmp_path / "benchmarks.md"
    docs.write_text(DOC, encoding="utf-8")

    assert tables.main([str(output), "--docs", str(docs)]) == 0

    spliced = docs.read_text(encoding="utf-8")
    assert "| quote hit | 0.537 |" in spliced and "0.500" not in spliced
    assert spliced == DOC.replace("0.500", "0.537")  # commentary and the other table as written


def test_a_table_the_document_lacks_is_reported_and_not_added() -> None:
    spliced, missing = tables.splice(DOC, {"languages": "| a |\n|---|\n| 1 |"})
    assert spliced == DOC
    assert missing == ["languages"]


def test_the_scripts_tables_are_marked_in_docs_benchmarks_md() -> None:
    marked = tables.blocks((ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8"))
    assert {"news_quality", "answer_quality_auto_bbc", "answer_quality_latency", "followups",
            "outlets", "outlets_heldout"} <= set(marked)
