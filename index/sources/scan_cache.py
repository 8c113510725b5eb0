"""The scan cache: what each corpus file yielded at the last scan, keyed by the file and
checked by its size, modification time and inode, so that an unchanged file is not read
again (git's index does the same). One SQLite file; losing it only costs a full read."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import stat
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

__all__ = ["RACY_NS", "SCAN_CACHE", "Entry", "Probe", "ScanCache", "Stamp"]

log = logging.getLogger(__name__)

SCAN_CACHE = "scan-cache.sqlite"  # its name in the index directory
# The cache's layout, and how files.py reads files: bump it when either changes, so that
# fingerprints cached by an earlier reader are not trusted (a version differs: cache empty).
SCHEMA_VERSION = 2
# A file modified this close to the scan's start is not cached: it could change again within
# the same timestamp tick (coarse file systems count in 1 or 2 s) and keep its stamp.
RACY_NS = 2_000_000_000
_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    path TEXT NOT NULL,      -- the resolved absolute path
    root TEXT NOT NULL,      -- the corpus path it was read under (resolved)
    rel TEXT NOT NULL,       -- its path relative to that root, as articles name it
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    articles TEXT NOT NULL,  -- JSON [[article id, fingerprint, JSONL line or null], ...], in
                             -- file order: the index is the article's position in the file
    PRIMARY KEY (path, root, rel)
) WITHOUT ROWID
"""

Key = tuple[str, str, str]  # resolved path, root, relative path
Entry = tuple[str, str, int | None]  # article id, fingerprint, line (JSONL files)


class Stamp(NamedTuple):
    """What says a file is unchanged: its size, modification time and inode."""

    size: int
    mtime_ns: int
    inode: int


@dataclass(frozen=True)
class Probe:
    """One corpus file as this scan found it: its key, its stamp (None when it cannot be
    stat'ed) and, when it is unchanged since it was cached, what it yielded then."""

    key: Key
    stamp: Stamp | None
    entries: list[Entry] | None


class ScanCache:
    """The cache as loaded at the scan's start, plus what this scan found; `save` writes
    it back in one transaction. A corrupt or unreadable cache counts as empty."""

    def __init__(self, path: Path, verify: bool = False) -> None:
        self.path = path
        self.verify = verify
        self.started_ns = time.time_ns()
        self._rows: dict[Key, tuple[Stamp, str]] = {}
        self._kept: set[Key] = set()
        self._fresh: dict[Key, tuple[Stamp, str]] = {}
        self._rebuild = False
        self._real_dirs: dict[str, str] = {}
        self._load()

    def probe(self, text: str, rel: str, root: str) -> Probe:
        """Stat the file at path `text`; its cached entries when its stamp is the cached one
        (not with `verify`). A file found unchanged stays in the cache."""
        try:
            info = os.lstat(text)
            if stat.S_ISLNK(info.st_mode):
                info, real = os.stat(text), os.path.realpath(text)
            else:
                folder, name = os.path.split(text)
                real = os.path.join(self._real_dir(folder), name)
        except OSError:
            return Probe((os.path.realpath(text), root, rel), None, None)
        key = (real, root, rel)
        stamp = Stamp(info.st_size, info.st_mtime_ns, info.st_ino)
        if self.verify:
            return Probe(key, stamp, None)
        entries = self._unchanged(key, stamp)
        if entries is not None:
            self._kept.add(key)
        return Probe(key, stamp, entries)

    def remember(self, probe: Probe, entries: list[Entry]) -> None:
        """Cache what a file just read yielded, unless it was modified too recently (racy)."""
        if probe.stamp is None or probe.stamp.mtime_ns >= self.started_ns - RACY_NS:
            return
        row = (probe.stamp, json.dumps(entries, ensure_ascii=False, separators=(",", ":")))
        if self._rows.get(probe.key) == row:
            self._kept.add(probe.key)
        else:
            self._fresh[probe.key] = row

    def forget(self, probe: Probe) -> None:
        """Drop a file from the cache (it has problems now)."""
        self._kept.discard(probe.key)
        self._fresh.pop(probe.key, None)

    def save(self) -> None:
        """Write the cache for the files of this scan: those found unchanged, those read and
        cacheable; every other row goes. One transaction; a failure is only a warning."""
        stale = [k for k in self._rows if k not in self._kept and k not in self._fresh]
        if not stale and not self._fresh and not self._rebuild:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self._rebuild:
                for suffix in ("", "-journal", "-wal", "-shm"):
                    Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            with closing(sqlite3.connect(self.path, timeout=30, isolation_level=None)) as conn:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    conn.execute(_SCHEMA)
                    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                    conn.executemany("DELETE FROM files WHERE path = ? AND root = ? AND rel = ?",
                                     stale)
                    conn.executemany(
                        "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [(*key, s.size, s.mtime_ns, s.inode, articles)
                         for key, (s, articles) in self._fresh.items()])
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
        except (sqlite3.Error, OSError) as err:
            log.warning("scan cache %s not saved (%s); the next build reads every corpus "
                        "file again", self.path, err)

    def _load(self) -> None:
        if not self.path.exists():
            return
        try:
            with closing(sqlite3.connect(self.path, timeout=30)) as conn:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version != SCHEMA_VERSION:
                    raise sqlite3.DatabaseError(f"unknown format version {version}")
                rows = conn.execute("SELECT path, root, rel, size, mtime_ns, inode, articles "
                                    "FROM files").fetchall()
        except sqlite3.Error as err:
            log.warning("scan cache %s unreadable (%s); reading every corpus file and "
                        "rebuilding it", self.path, err)
            self._rebuild = True
            return
        for path, root, rel, size, mtime_ns, inode, articles in rows:
            self._rows[(path, root, rel)] = (Stamp(size, mtime_ns, inode), articles)

    def _unchanged(self, key: Key, stamp: Stamp) -> list[Entry] | None:
        """The cached entries of this file when its stamp is the cached one and the row is
        well formed; else None."""
        row = self._rows.get(key)
        if row is None or row[0] != stamp:
            return None
        try:
            return _entries(json.loads(row[1]))
        except (ValueError, TypeError):
            return None

    def _real_dir(self, folder: str) -> str:
        real = self._real_dirs.get(folder)
        if real is None:
            real = self._real_dirs[folder] = os.path.realpath(folder)
        return real


def _entries(data: Any) -> list[Entry]:
    """The entries of a row's JSON; ValueError when it is not what `save` writes."""
    if not isinstance(data, list):
        raise ValueError("not a list")
    entries: list[Entry] = []
    for item in data:
        if not (isinstance(item, list) and len(item) == 3 and isinstance(item[0], str)
                and isinstance(item[1], str) and (item[2] is None or type(item[2]) is int)):
            raise ValueError(f"bad entry {item!r}")
        entries.append((item[0], item[1], item[2]))
    return entries
