"""The corpus format in one place: article files (.txt, .md, .jsonl, .html) read into Article
records, reporting bad input; and the writer of fetched articles
(`<folder>/<date>-<slug>.md`, YAML front matter then the text)."""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import json
import os
import re
import stat
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from index.errors import VerbatimError
from index.sources.html import NoArticle, extract_html
from index.sources.scan_cache import Entry, ScanCache

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
JSONL_SUFFIXES = {".jsonl"}
HTML_SUFFIXES = {".html", ".htm"}
KNOWN_FIELDS = ("title", "source", "url", "published", "language")
_HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.DOTALL)
WEB_SCHEMES = ("http", "https")
TOO_DEEP = "nested too deeply"
FOLLOW_HINT = "set CORPUS_FOLLOW_SYMLINKS=true to read it"
_MISSING = {errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP}  # "no such file" for is_file


class _FrontMatterLoader(yaml.SafeLoader):
    """Safe YAML without aliases: `*name` can build a loop or expand exponentially (a
    "billion laughs"), and front matter has no use for them."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, f"YAML aliases (*{event.anchor}) are not supported",
                event.start_mark)
        return super().compose_node(parent, index)


@dataclass
class Article:
    """One article: its stable id, text (quotes are slices of it) and metadata. A stub (from
    a file the scan cache says is unchanged) has only its id, path and fingerprint; see
    `Corpus.materialize`."""

    article_id: str
    text: str
    title: str
    path: str
    source: str | None = None
    url: str | None = None
    published: str | None = None
    language: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    stub: bool = False
    cached_fingerprint: str | None = field(default=None, repr=False, compare=False)

    @classmethod
    def stub_of(cls, article_id: str, path: str, fingerprint: str) -> Article:
        """An article known by its id and fingerprint only, its text left unread."""
        return cls(article_id=article_id, text="", title="", path=path, stub=True,
                   cached_fingerprint=fingerprint)

    @property
    def fingerprint(self) -> str:
        if self.cached_fingerprint is not None:
            return self.cached_fingerprint
        payload = json.dumps(
            [self.text, self.title, self.source, self.url, self.published, self.language,
             self.meta],
            sort_keys=True, default=str, ensure_ascii=False,
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass
class Problem:
    """Something wrong with the corpus: the file, the line where known, and why."""

    path: str
    reason: str
    line: int | None = None
    skipped: bool = True

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        verdict = "skipped" if self.skipped else "kept"
        return f"{where}: {self.reason} ({verdict})"


@dataclass
class Corpus:
    articles: list[Article]
    problems: list[Problem]
    # The file each stub article comes from (its path on disk and relative path), by id.
    stub_files: dict[str, tuple[str, str]] = field(default_factory=dict, repr=False)

    @property
    def skipped_files(self) -> int:
        return len({p.path for p in self.problems if p.skipped})

    def materialize(self, article_ids: Iterable[str]) -> dict[str, Article]:
        """The full articles of these ids, by id: stubs read again from their files (each
        file once), the others as they are. KeyError for an id not in the corpus;
        CorpusError when a stub's article is no longer in its file."""
        by_id = {a.article_id: a for a in self.articles}
        found: dict[str, Article] = {}
        files: dict[tuple[str, str], list[str]] = {}
        for article_id in article_ids:
            article = by_id.get(article_id)
            if article is None:
                raise KeyError(f"no article {article_id!r} in this corpus")
            if article.stub:
                files.setdefault(self.stub_files[article_id], []).append(article_id)
            else:
                found[article_id] = article
        for (path, rel), wanted in files.items():
            fresh: dict[str, Article] = {}
            problems: list[Problem] = []
            for item in _read_file(Path(path), rel):
                if isinstance(item, Problem):
                    problems.append(item)
                else:
                    item.meta.pop("_line", None)
                    fresh.setdefault(item.article_id, item)
            for article_id in wanted:
                article = fresh.get(article_id)
                if article is None:  # (one that reads differently now is embedded as read)
                    why = f" ({problems[0].reason})" if problems else ""
                    raise CorpusError(f"{rel} changed during the build: article "
                                      f"{article_id!r} is no longer in it{why}; run the build "
                                      "again")
                found[article_id] = article
        return found


class CorpusError(VerbatimError):
    """The corpus path itself cannot be read (exit code 2)."""


def read_corpus(paths: Iterable[Path], follow_symlinks: bool = False,
                scan_cache: Path | None = None, verify: bool = False) -> Corpus:
    """Read every article under the given files or folders, in a stable order. A symbolic
    link inside a folder that leads out of it is refused unless `follow_symlinks`.

    With a `scan_cache` file, a file whose size, modification time and inode are the
    cached ones is not opened: its articles come back as stubs (`Article.stub`). `verify`
    reads and hashes every file all the same (and refreshes the cache)."""
    cache = ScanCache(scan_cache, verify) if scan_cache is not None else None
    corpus = Corpus([], [])
    seen: dict[str, str] = {}
    for root in paths:
        files = _root_files(root, follow_symlinks, corpus.problems)
        real_root = str(root.resolve()) if cache is not None else ""
        for path, rel in files:
            _add_file(corpus, seen, cache, path, rel, real_root)
    if cache is not None:
        cache.save()
    return corpus


def _root_files(root: Path, follow_symlinks: bool,
                problems: list[Problem]) -> list[tuple[str, str]]:
    """The article files of one corpus path: each one's path and its path relative to the
    folder (its id for a text file)."""
    if not root.exists():
        raise CorpusError(f"corpus path does not exist: {root}")
    if not root.is_dir():
        return [(str(root), root.name)]
    try:
        rels = _corpus_files(root, follow_symlinks, problems)
    except OSError as err:
        raise CorpusError(f"cannot read corpus folder {root}: {err}") from err
    top = str(root)
    return [(os.path.join(top, rel), rel) for rel in rels]


def _add_file(corpus: Corpus, seen: dict[str, str], cache: ScanCache | None, path: str,
              rel: str, root: str) -> None:
    """One file's articles and problems into the corpus: from the cache when it is
    unchanged, else read (and cached when it has no problem)."""
    probe = cache.probe(path, rel, root) if cache is not None else None
    items: list[Article | Problem]
    if probe is not None and probe.entries is not None:
        items = [_stub(rel, entry) for entry in probe.entries]
    else:
        items = list(_read_file(Path(path), rel))
    entries: list[Entry] = []
    clean = True
    for item in items:
        if isinstance(item, Problem):
            corpus.problems.append(item)
            clean = False
            continue
        line = item.meta.pop("_line", None)
        if item.article_id in seen:
            corpus.problems.append(Problem(rel, f"duplicate article id {item.article_id!r} "
                                                f"(first in {seen[item.article_id]})",
                                           line=line))
            clean = False
        else:
            seen[item.article_id] = rel
            corpus.articles.append(item)
            if item.stub:
                corpus.stub_files[item.article_id] = (path, rel)
        if probe is not None:
            entries.append((item.article_id, item.fingerprint, line))
    if cache is None or probe is None:
        return
    if not clean:
        cache.forget(probe)
    elif probe.entries is None:
        cache.remember(probe, entries)


def _stub(rel: str, entry: Entry) -> Article:
    article_id, fingerprint, line = entry
    article = Article.stub_of(article_id, rel, fingerprint)
    if line is not None:
        article.meta["_line"] = line
    return article


def _corpus_files(root: Path, follow_symlinks: bool, problems: list[Problem]) -> list[str]:
    """The article files under `root` (hidden ones left out), as paths relative to it, in
    path order. Without `follow_symlinks`, a link whose target lies outside `root` is
    reported, not read."""
    real_root = root.resolve()
    top = str(root)
    files: list[str] = []
    visited: set[str] = set()
    for folder, dirs, names in os.walk(root, followlinks=follow_symlinks):
        here = Path(folder)
        real = os.path.realpath(here)
        if real in visited:  # a link loop, or a folder reached twice through links
            dirs.clear()
            continue
        visited.add(real)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in dirs:
            link = here / name
            if not follow_symlinks and link.is_symlink() and link.is_dir() \
                    and not _inside(link, real_root):
                problems.append(Problem(link.relative_to(root).as_posix(),
                                        f"symbolic link out of the corpus folder; {FOLLOW_HINT}"))
        prefix = os.path.relpath(folder, top).replace(os.sep, "/")
        prefix = "" if prefix == "." else prefix + "/"
        for name in names:
            if name.startswith("."):
                continue
            path = os.path.join(folder, name)
            kind = _file_kind(path)
            if kind is None:
                continue
            if kind == "link" and not follow_symlinks and not _inside(Path(path), real_root):
                problems.append(Problem(prefix + name,
                                        f"symbolic link out of the corpus folder; {FOLLOW_HINT}"))
                continue
            files.append(prefix + name)
    return sorted(files, key=lambda rel: rel.split("/"))  # as paths sort: part by part


def _file_kind(path: str) -> str | None:
    """"file", "link" (a symbolic link to a file) or None (no file), with one system call
    for a plain file; errors as `Path.is_file` treats them."""
    try:
        info = os.lstat(path)
        if stat.S_ISLNK(info.st_mode):
            return "link" if stat.S_ISREG(os.stat(path).st_mode) else None
        return "file" if stat.S_ISREG(info.st_mode) else None
    except OSError as err:
        if err.errno in _MISSING:
            return None
        raise


def _inside(path: Path, real_root: Path) -> bool:
    return path.resolve().is_relative_to(real_root)


def _read_file(path: Path, rel: str) -> Iterator[Article | Problem]:
    suffix = path.suffix.lower()
    if suffix not in TEXT_SUFFIXES | JSONL_SUFFIXES | HTML_SUFFIXES:
        yield Problem(rel, f"unknown extension {suffix or '(none)'!r}; "
                           "expected .txt, .md, .jsonl or .html")
        return
    try:
        raw = path.read_bytes()
    except OSError as err:
        yield Problem(rel, f"cannot read file: {err.strerror or err}")
        return
    if suffix in HTML_SUFFIXES:
        yield from _read_html(raw, rel)
        return
    if b"\x00" in raw:
        yield Problem(rel, "binary file (contains NUL bytes)")
        return
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        yield Problem(rel, f"not UTF-8 (byte {err.start})", line=line)
        return
    if not content.strip():
        yield Problem(rel, "empty file")
        return
    if suffix in JSONL_SUFFIXES:
        yield from _read_jsonl(content, rel)
    else:
        yield from _read_text(content, rel, path.stem)


def _read_text(content: str, rel: str, stem: str) -> Iterator[Article | Problem]:
    meta: dict[str, Any] = {}
    body = content
    match = _FRONT_MATTER.match(content)
    if match:
        try:
            loaded = yaml.load(match.group(1), Loader=_FrontMatterLoader)
        except RecursionError:
            yield Problem(rel, f"malformed front matter: {TOO_DEEP}", line=1)
            return
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            line = mark.line + 2 if mark is not None else 1
            yield Problem(rel, f"malformed front matter: {getattr(err, 'problem', err)}", line=line)
            return
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            yield Problem(rel, "malformed front matter: expected key: value pairs", line=1)
            return
        meta = {str(k): v for k, v in loaded.items()}
        body = content[match.end():]
    text = body.strip()
    if not text:
        yield Problem(rel, "no article text after the front matter")
        return
    article = Article(article_id=rel, text=text, title="", path=rel)
    yield from _apply_metadata(article, meta, rel, line=None)
    if not article.title:
        heading = _HEADING.search(text)
        article.title = heading.group(1).strip() if heading else stem
    yield article


def _read_html(raw: bytes, rel: str) -> Iterator[Article | Problem]:
    try:
        page = extract_html(raw)
    except NoArticle as err:
        yield Problem(rel, f"no article in this HTML page: {err}")
        return
    article = Article(article_id=rel, text=page.text, title=page.title or Path(rel).stem,
                      path=rel, source=page.source,
                      url=page.url if page.url and is_web_url(page.url) else None,
                      language=page.language,
                      published=_iso_date(page.published) if page.published else None)
    if page.author:
        article.meta["author"] = page.author
    yield article


def _read_jsonl(content: str, rel: str) -> Iterator[Article | Problem]:
    for number, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            yield Problem(rel, f"malformed JSON: {err.msg}", line=number)
            continue
        except RecursionError:
            yield Problem(rel, f"malformed JSON: {TOO_DEEP}", line=number)
            continue
        if not isinstance(record, dict):
            yield Problem(rel, "malformed JSON line: expected an object", line=number)
            continue
        article_id, text = record.pop("id", None), record.pop("text", None)
        if article_id is None or (isinstance(article_id, str) and not article_id.strip()):
            yield Problem(rel, "missing 'id'", line=number)
            continue
        if not isinstance(text, str) or not text.strip():
            yield Problem(rel, "missing or empty 'text'", line=number)
            continue
        article = Article(article_id=str(article_id), text=text.strip(), title="", path=rel)
        yield from _apply_metadata(article, record, rel, line=number)
        if not article.title:
            article.title = article.article_id
        article.meta["_line"] = number
        yield article


def _apply_metadata(
    article: Article, meta: dict[str, Any], rel: str, line: int | None
) -> Iterator[Problem]:
    """Copy known fields onto the article; a field of the wrong type is dropped with a warning."""
    for name in KNOWN_FIELDS:
        if name not in meta:
            continue
        value = meta.pop(name)
        if value is None or value == "":
            continue
        if name == "published":
            iso = _iso_date(value)
            if iso is None:
                yield Problem(rel, f"'published' is not an ISO date: {value!r}; left empty",
                              line=line, skipped=False)
                continue
            article.published = iso
        elif name == "url" and isinstance(value, str) and not is_web_url(value):
            yield Problem(rel, f"'url' is not an http(s) link: {value[:80]!r}; left empty",
                          line=line, skipped=False)
        elif isinstance(value, str | int | float) and not isinstance(value, bool):
            setattr(article, name, str(value).strip())
        else:
            yield Problem(rel, f"{name!r} should be text, got {type(value).__name__}; left empty",
                          line=line, skipped=False)
    article.meta.update({k: _plain(v) for k, v in meta.items()})


def is_web_url(value: str) -> bool:
    """Only web links become links: no javascript:, data:, file: or tg:// URLs."""
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in WEB_SCHEMES and bool(parts.netloc)


def _iso_date(value: Any) -> str | None:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        pass
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).isoformat()
    except ValueError:
        return None


def _plain(value: Any) -> Any:
    """Make YAML values (dates and the like) JSON-serialisable."""
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


# ---- writing ---------------------------------------------------------------------------------
def slugify(text: str, limit: int = 60) -> str:
    """Lowercase ASCII words joined by hyphens, at most `limit` characters, whole words."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = ""
    for word in re.findall(r"[a-z0-9]+", ascii_text.lower()):
        candidate = f"{slug}-{word}" if slug else word
        if len(candidate) > limit:
            break
        slug = candidate
    return slug or "article"


def new_article_path(corpus_dir: Path, folder: str, title: str, published: str | None) -> str:
    """A free file name for a new article, relative to the corpus folder:
    `<folder>/<date>-<slug of the title>.md` (`undated-...` without a date), `-2`, `-3`...
    added when the name is taken."""
    stem = f"{published[:10] if published else 'undated'}-{slugify(title)}"
    candidate, number = f"{folder}/{stem}.md", 2
    while (corpus_dir / candidate).exists():
        candidate, number = f"{folder}/{stem}-{number}.md", number + 1
    return candidate


def article_file(fields: Mapping[str, Any], text: str) -> str:
    """A Markdown article file: the fields that are not None as YAML front matter, then the
    text (what `read_corpus` reads back)."""
    front = {k: v for k, v in fields.items() if v is not None}
    return ("---\n" + yaml.safe_dump(front, sort_keys=False, allow_unicode=True, width=1000)
            + "---\n" + text + "\n")


def write_article(corpus_dir: Path, path: str, fields: Mapping[str, Any], text: str) -> Path:
    """Write an article file at `path` (relative to the corpus folder) in one step: a
    temporary file beside it replaces it, so a reader never sees half a file. Returns it."""
    target = corpus_dir / path
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    temporary.write_text(article_file(fields, text), encoding="utf-8", errors="surrogateescape")
    os.replace(temporary, target)
    return target
