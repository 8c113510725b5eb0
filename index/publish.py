"""Versioned index folders swapped in atomically through a `CURRENT` pointer file.

Layout of the index directory::

    CURRENT                  name of the live version (replaced by rename)
    versions/<name>/         manifest.json, catalog.sqlite, passages.faiss, sentences.faiss
    versions/.tmp-<name>/    a build in progress (never read)
    .build.lock              held by the one running build

Readers hold a shared lock on `versions/<name>/.readers` while they use a version, so old
versions are deleted only once no reader holds them.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from index.errors import VerbatimError

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
CATALOG = "catalog.sqlite"
PASSAGES = "passages.faiss"
SENTENCES = "sentences.faiss"
LEXICAL = "lexical.npz"  # BM25 postings (index.lexical), read from the catalog's FTS5
READERS = ".readers"


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
def build_lock(index_dir: Path):
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


def write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    tmp = folder / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, folder / MANIFEST)


def read_manifest(folder: Path) -> dict[str, Any]:
    return json.loads((folder / MANIFEST).read_text(encoding="utf-8"))


def publish(index_dir: Path, staging: Path, name: str) -> Path:
    """Move the finished build into place and point CURRENT at it with one rename."""
    final = versions_dir(index_dir) / name
    _fsync_tree(staging)
    os.rename(staging, final)
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
        if _unused(folder):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder.name)
    return removed


@contextmanager
def reading(folder: Path):
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


def _unused(folder: Path) -> bool:
    try:
        with open(folder / READERS, "rb") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
    except FileNotFoundError:
        return True
    except BlockingIOError:
        return False


def _fsync_tree(folder: Path) -> None:
    for path in folder.iterdir():
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
