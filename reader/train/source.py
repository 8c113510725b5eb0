"""The training text: SQuAD v1.1's train split (Wikipedia paragraphs and crowd-written
questions, CC BY-SA 4.0), read from the per-article pages of the SQuAD explorer.

The data file committed beside this module (`data/squad_train.json.gz`) was made by `convert`
from github.com/rajpurkar/SQuAD-explorer at commit 13f82e35b9a1fb9173f863b35f5675030646571e,
`explore/1.0/train/*.html` (the dataset's own JSON is over the mirror's 4 MiB file limit).
The SQuAD 2.0 dev articles that the project evaluates on are left out by title, although
SQuAD's train and dev articles are disjoint already."""

from __future__ import annotations

import gzip
import html
import json
import re
import subprocess
from pathlib import Path
from typing import Any

DATA_FILE = Path(__file__).resolve().parent / "data" / "squad_train.json.gz"
SOURCE_REPO = "github.com/rajpurkar/SQuAD-explorer"
SOURCE_COMMIT = "13f82e35b9a1fb9173f863b35f5675030646571e"
SOURCE_PATH = "explore/1.0/train/"
# The evaluation set's articles (benchmarks' SQuAD 2.0 dev subset): never trained on.
EVALUATION_TITLES = {"Normans", "Computational_complexity_theory", "Southern_California",
                     "Sky_(United_Kingdom)", "Victoria_(Australia)"}


def _unescape(text: str) -> str:
    return html.unescape(text).strip()


def parse_page(page: str) -> dict[str, Any]:
    """One explorer page: the article's title and its paragraphs with their questions."""
    title = _unescape(re.search(r'<h1 id="title">(.*?)</h1>', page, re.S).group(1))  # type: ignore[union-attr]
    paragraphs = []
    for block in page.split('<div class="para-wrap">')[1:]:
        context = html.unescape(re.search(r"<pre>(.*?)</pre>", block, re.S).group(1))  # type: ignore[union-attr]
        qas = [{"question": _unescape(re.search(r'<strong class="question">(.*?)</strong>',  # type: ignore[union-attr]
                                                qa, re.S).group(1)),
                "answers": [_unescape(a) for a in re.findall(r'<span class="answer">(.*?)</span>',
                                                             qa, re.S)]}
               for qa in block.split('<div class="qa-wrap">')[1:]]
        paragraphs.append({"context": context, "qas": qas})
    return {"title": title, "paragraphs": paragraphs}


def convert(git_dir: Path, out: Path = DATA_FILE) -> int:
    """Write the train articles of a SQuAD-explorer mirror (a bare git directory) to `out`;
    returns the number of articles."""
    listing = subprocess.run(["git", "-C", str(git_dir), "ls-tree", "-r", "-z", "--name-only",
                              SOURCE_COMMIT, SOURCE_PATH], capture_output=True, check=True)
    articles = []
    for name in sorted(listing.stdout.decode().split("\0")):
        if not name.endswith(".html") or name.endswith("/index.html"):
            continue
        page = subprocess.run(["git", "-C", str(git_dir), "show", f"{SOURCE_COMMIT}:{name}"],
                              capture_output=True, check=True).stdout.decode()
        article = parse_page(page)
        if article["title"].replace(" ", "_") not in EVALUATION_TITLES:
            articles.append(article)
    out.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(out, "wt", encoding="utf-8", compresslevel=9) as handle:
        json.dump({"source": f"{SOURCE_REPO}@{SOURCE_COMMIT}:{SOURCE_PATH}",
                   "licence": "CC BY-SA 4.0", "articles": articles}, handle, ensure_ascii=False)
    return len(articles)


def load_articles(path: Path = DATA_FILE) -> list[dict[str, Any]]:
    """The committed training articles (never an evaluation article)."""
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        articles = json.load(handle)["articles"]
    return [a for a in articles if a["title"].replace(" ", "_") not in EVALUATION_TITLES]
