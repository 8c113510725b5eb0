"""Versioned index folders swapped in atomically through a `CURRENT` pointer file.

Layout of the index directory::

    CURRENT                  name of the live version (replaced by rename)
    versions/<name>/         manifest.json (its segments), deleted.npy, order.npy, probe.npy
    versions/<name>/segments/<segment>/
                             one immutable segment (index.segment); a version shares the
                             segments it keeps with the version before it as hard links
    versions/.tmp-<name>/    a build in progress (never read)
    .build.lock              held by the one running build (or merge)

Readers hold a shared lock on `versions/<name>/.readers` while they use a version, so old
versions are deleted only once no reader holds them; a segment's files go with the last
version that links them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import fcntl
import json
import logging
import os
import shutil
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from index.errors import VerbatimError

log = logging.getLogger(__name__)

FORMAT_VERSION = 2  # 1: one catalog and one pair of FAISS stores per version
MANIFEST = "manifest.json"
SEGMENTS = "segments"  # a folder per segment (index.segment)
DELETED = "deleted.npy"  # the article rows of the segments that this version leaves out
ORDER = "order.npy"  # the live article rows in corpus order
PROBE = "probe.npy"  # the passage encoder's vectors of the probe sentences (index.encoders)
READERS = ".readers"


@dataclass(frozen=True)
class Manifest:
    """What `manifest.json` records about a version; `to_dict` gives the file's keys in the
    file's order (keys this program does not know are kept in `extra`)."""

    format_version: int | None = None
    version: str | None = None
    model: str | None = None
    dimension: int = 0
    encoder_backend: str | None = None  # None: built before it was recorded, by torch fp32
    index_kind: dict[str, str] = field(default_factory=dict)
    chunking: dict[str, int] = field(default_factory=dict)
    articles: int = 0
    passages: int | None = None
    sentences: int = 0
    corpus_fingerprint: str | None = None
    built_at: str | None = None
    build_seconds: float = 0.0
    new_articles: list[str] = field(default_factory=list)
    changed_articles: list[str] = field(default_factory=list)
    removed_articles: list[str] = field(default_factory=list)
    segments: list[dict[str, Any]] = field(default_factory=list)  # index.segment.SegmentInfo
    deleted_articles: int = 0  # rows in deleted.npy
    next_ids: dict[str, int] = field(default_factory=dict)  # the first free row id per table
    merged: list[str] = field(default_factory=list)  # the segments a merge replaced
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Manifest:
        """The manifest of a parsed `manifest.json`; a missing key takes its default."""
        if not isinstance(data, Mapping):
            raise ValueError(f"the manifest is a {type(data).__name__}, not an object")
        known = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        return cls(**{k: v for k, v in data.items() if k in known},
                   extra={k: v for k, v in data.items() if k not in known})

    def to_dict(self) -> dict[str, Any]:
        """The keys and values `manifest.json` holds, in its order."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if f.name != "extra"}
        return {**data, **self.extra}

    def get(self, key: str, default: Any = None) -> Any:
        """The value recorded under `key` (for readers of the former dict)."""
        return self.to_dict().get(key, default)

    def __getitem__(self, key: str) -> Any:
        return self.to_dict()[key]

    def counts(self) -> dict[str, int]:
        """The number of rows of each vector store."""
        return {"passages": self.passages or 0, "sentences": self.sentences}


class IndexBusyError(VerbatimError):
    """Another build holds the build lock."""


def versions_dir(index_dir: Path) -> Path:
    return index_dir / "versions"


def current_version(index_dir: Path) -> Path | None:
    """The live version folder, or None when no index was published."""
    try:
        name = (index_dir / "CURRENT").read_text(encoding="utf-8").strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    return versions_dir(index_dir) / name if name else None


def new_version_name() -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{stamp}-{uuid.uuid4().hex[:6]}"


@contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """Only one build at a time per index directory."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".build.lock", "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as err:
            raise IndexBusyError(f"another build is running in {index_dir}") from err
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def staging_dir(index_dir: Path, name: str) -> Path:
    path = versions_dir(index_dir) / f".tmp-{name}"
    path.mkdir(parents=True)
    (path / READERS).touch()
    return path


@dataclass
class Staging:
    """A version being written (by a build or a merge) in `folder`, invisible to readers
    until `publish` moves it into place as `name`."""

    index_dir: Path
    name: str
    folder: Path
    final: Path | None = None  # the published folder, once published

    @property
    def segments(self) -> Path:
        """Where the version's segment folders go."""
        return self.folder / SEGMENTS

    def publish(self, manifest: Manifest) -> Path:
        """Write the manifest last (a version without one is never complete) and make the
        version the live one; its published folder."""
        write_manifest(self.folder, manifest)
        self.final = publish(self.index_dir, self.folder, self.name)
        return self.final


@contextmanager
def staging(index_dir: Path) -> Iterator[Staging]:
    """A new version's staging folder (with its `segments/`) under the next version name.
    Whatever leaves the block without `Staging.publish` (an error, an interrupt, a kill
    caught as KeyboardInterrupt) deletes the folder, so the live version stays as it was;
    a folder left by a hard kill is deleted by the next `cleanup`."""
    name = new_version_name()
    stage = Staging(index_dir, name, staging_dir(index_dir, name))
    try:
        stage.segments.mkdir()
        yield stage
    except BaseException:
        shutil.rmtree(stage.folder, ignore_errors=True)
        raise
    if stage.final is None:
        shutil.rmtree(stage.folder, ignore_errors=True)


def write_manifest(folder: Path, manifest: Manifest) -> None:
    """Write `manifest.json` into a version folder (atomically)."""
    tmp = folder / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest.to_dict(), indent=2, ensure_ascii=False),
                   encoding="utf-8")
    os.replace(tmp, folder / MANIFEST)


def read_manifest(folder: Path) -> Manifest:
    """The manifest of a version folder; OSError or ValueError when unreadable."""
    return Manifest.from_dict(json.loads((folder / MANIFEST).read_text(encoding="utf-8")))


def publish(index_dir: Path, staging: Path, name: str) -> Path:
    """Move the finished build into place and point CURRENT at it with one rename."""
    final = versions_dir(index_dir) / name
    # Every file reaches the disk before the version becomes visible: a crash after the
    # rename must not leave a live version with empty or torn files.
    _fsync_tree(staging)
    os.rename(staging, final)
    # CURRENT is replaced by a rename, never rewritten in place: a reader (or a crash) sees
    # the old name or the new one, never a half-written one.
    pointer = index_dir / "CURRENT.tmp"
    with open(pointer, "w", encoding="utf-8") as handle:
        handle.write(name + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(pointer, index_dir / "CURRENT")
    _fsync_dir(index_dir)
    return final


def cleanup(index_dir: Path, keep: int) -> list[str]:
    """Delete abandoned builds and old versions no reader holds; keep the newest `keep`."""
    removed: list[str] = []
    root = versions_dir(index_dir)
    if not root.is_dir():
        return removed
    live = current_version(index_dir)
    for tmp in root.glob(".tmp-*"):
        shutil.rmtree(tmp, ignore_errors=True)
        removed.append(tmp.name)
    old = sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")
                  and p != live), reverse=True)
    for folder in old[max(0, keep - 1):]:
        if _discard(folder):
            removed.append(folder.name)
    for trash in root.glob(".trash-*"):  # left by a cleanup that was interrupted
        shutil.rmtree(trash, ignore_errors=True)
    return removed


@contextmanager
def reading(folder: Path) -> Iterator[None]:
    """Hold a shared lock on a version while it is in use (see `cleanup`)."""
    handle = open_reader_lock(folder)
    try:
        yield
    finally:
        handle.close()


def open_reader_lock(folder: Path) -> BinaryIO:
    handle = open(folder / READERS, "rb")  # noqa: SIM115 - held open by the reader
    fcntl.flock(handle, fcntl.LOCK_SH)
    return handle


def _discard(folder: Path) -> bool:
    """Delete a version no reader holds: renamed aside while its lock is held, so a reader
    that comes later cannot lock it between the check and the deletion."""
    trash = folder.parent / f".trash-{folder.name}"
    try:
        with open(folder / READERS, "rb") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.rename(folder, trash)
    except FileNotFoundError:
        if not folder.exists():
            return False
        os.rename(folder, trash)
    except BlockingIOError:
        return False
    shutil.rmtree(trash, ignore_errors=True)
    return True


def _fsync_tree(folder: Path) -> None:
    for path in folder.iterdir():
        if path.is_dir():
            _fsync_tree(path)
        elif path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
    _fsync_dir(folder)


def disk_bytes(*folders: Path) -> int:
    """Bytes of the files under `folders`, each file once however many links it has."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for folder in folders:
        for path in folder.rglob("*"):
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            if path.is_file() and (stat.st_dev, stat.st_ino) not in seen:
                seen.add((stat.st_dev, stat.st_ino))
                total += stat.st_size
    return total


def share(source: Path, target: Path) -> None:
    """`target` as a folder of hard links to the files of `source` (a copy where the file
    system has no hard links)."""
    target.mkdir(parents=True)
    # Hard links rather than copies: a kept segment costs no disk and no time per version,
    # its files stay immutable, and they are freed only when the last version linking them
    # is deleted, so an old version's readers keep their files whatever a newer one does.
    for path in source.iterdir():
        if path.is_file():
            try:
                os.link(path, target / path.name)
            except OSError as err:
                log.warning("cannot link %s (%s): copying it, so versions take more disk",
                            path, err)
                shutil.copy2(path, target / path.name)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
