"""What a build has to do, in one place for both backends: which articles are new, changed,
removed or unchanged since the live version, and whether the live version is up to date."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from index.sources import Article


@dataclass(frozen=True)
class Changes:
    """The diff between the corpus and the live version, article ids in corpus order (new,
    changed) and in the live version's order (removed)."""

    new: list[str]
    changed: list[str]
    removed: list[str]
    unchanged: int

    @property
    def none(self) -> bool:
        """No article is new, changed or removed."""
        return not (self.new or self.changed or self.removed)

    @property
    def to_embed(self) -> list[str]:
        """The articles a build embeds: new ones, then changed ones."""
        return self.new + self.changed

    @property
    def retired(self) -> list[str]:
        """The live articles a build takes out of the version: changed and removed ones."""
        return self.changed + self.removed


def is_changed(article: Article, recorded: str) -> bool:
    """The one rule of what counts as changed, for both backends: the article's fingerprint
    (a hash of its text, title, source, url, date, language and metadata; index.sources)
    differs from the one the live version recorded for its id."""
    return article.fingerprint != recorded


def compare(current: Mapping[str, Article], recorded: Mapping[str, str]) -> Changes:
    """The changes from the live version's articles (`recorded`: fingerprint by article
    id) to the corpus (`current`: article by id, in corpus order)."""
    new = [a for a in current if a not in recorded]
    altered = [a for a in current if a in recorded and is_changed(current[a], recorded[a])]
    removed = [a for a in recorded if a not in current]
    return Changes(new, altered, removed, len(current) - len(new) - len(altered))


def everything(current: Mapping[str, Article]) -> Changes:
    """The changes of a full rebuild: every article is new, none is removed (the live
    version, if any, is not updated but replaced)."""
    return Changes(list(current), [], [], 0)


def corpus_fingerprint(articles: list[Article]) -> str:
    """One hash of every article's id and fingerprint, in corpus order."""
    digest = hashlib.sha256()
    for article in articles:
        digest.update(f"{article.article_id}\0{article.fingerprint}\n".encode())
    return digest.hexdigest()


def up_to_date(changes: Changes, recorded: str | None, fingerprint: str) -> bool:
    """Whether a live version that the build would update needs no new version: nothing
    changed, and the corpus order (which the fingerprint hashes too) is the same."""
    return changes.none and recorded == fingerprint
