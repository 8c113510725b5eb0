"""The outlets fixture (benchmarks/data/outlets.json: several publishers' own reports of the
same events, and near misses) as corpus files, for the outlets tests and benchmark."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support.workspace import ROOT

FIXTURE = ROOT / "benchmarks" / "data" / "outlets.json"


def load_fixture(path: Path = FIXTURE) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def write_corpus(articles: list[dict[str, Any]], folder: Path) -> None:
    """One Markdown file with front matter per article (JSON strings are valid YAML)."""
    for article in articles:
        path = folder / f"{article['id']}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("---\n" + "".join(
            f"{key}: {json.dumps(article[key], ensure_ascii=False)}\n"
            for key in ("title", "source", "published")) + "---\n" + article["text"] + "\n",
            encoding="utf-8")
