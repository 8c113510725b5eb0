"""The index lifecycle: the served version and its retriever as one record, loaded when a newer
version is published and swapped in one assignment, so a question never mixes two versions."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from bot.engine.search import Retriever
from bot.settings import Settings
from index import (
    IndexUnavailableError,
    IndexView,
    LoadedIndex,
    PgSource,
    current_version,
    load_index,
)
from index.encoders import Encoder, IncompatibleEncoderError, check_compatible

__all__ = ["IndexLoader", "Serving"]


@dataclass(frozen=True)
class Serving:
    """One loaded index version and the retriever over it. A question takes the record once
    and uses it to the end: a reload meanwhile swaps the loader's record, not this one."""

    index: IndexView
    retriever: Retriever

    @property
    def version(self) -> str:
        return self.index.version


class IndexLoader:
    """Loads the live index (a folder of segments or the PostgreSQL database) when it is newer
    than the one served, with a question encoder whose vectors agree with it; on failure the
    version in use stays served."""

    def __init__(self, settings: Settings, encoder: Encoder) -> None:
        self.settings = settings
        self.encoder = encoder
        self.serving: Serving | None = None
        self._lock = threading.Lock()  # one reload at a time (the reload job and /reload)
        self._database: PgSource | None = None  # INDEX_BACKEND=postgresql: where it reads

    def load(self) -> bool:
        """Load the live index if it is newer than the one in use; keep the old one on failure."""
        with self._lock:
            loaded = (self._load_database() if self.settings.index_backend == "postgresql"
                      else self._load_folder())
            if loaded is None:
                return False
            self.encoder = self._compatible_encoder(loaded)
            old = self.serving
            self.serving = Serving(loaded, Retriever(loaded))
            if old is not None:
                # Questions in flight keep their reference to the old index; its SQLite files
                # stay readable, and the reader lock is released so cleanup may remove it later.
                old.index.close()
            return True

    def _load_folder(self) -> LoadedIndex | None:
        """The live version of INDEX_DIR when it is not the one in use."""
        folder = current_version(self.settings.resolved_index_dir)
        previous = self.serving.index if self.serving else None
        if not isinstance(previous, LoadedIndex):
            previous = None
        elif folder == previous.folder:
            return None
        # The previous version lends its unchanged segments to the new one (no re-read).
        return load_index(self.settings.resolved_index_dir, self.encoder.name,
                          self.settings.hnsw_ef_search, previous=previous)

    def _load_database(self) -> IndexView | None:
        """The newest version of the PostgreSQL index when it is not the one in use (one
        query when it is)."""
        if self._database is None:  # questions read the read replica when there is one
            url = self.settings.resolved_index_read_url
            assert url is not None  # the settings refuse INDEX_BACKEND=postgresql without one
            self._database = PgSource(url, self.settings.hnsw_ef_search,
                                      self.settings.index_read_setting)
        version, name = self._database.newest()
        if self.serving is not None and self.serving.version == name:
            return None
        return self._database.load(self.encoder.name, version)

    def _compatible_encoder(self, loaded: IndexView) -> Encoder:
        """The question encoder whose vectors agree with the index's passage encoder on the
        probe set: the fastest one, or its torch fp32 fallback; none is a rebuild message."""
        try:
            return check_compatible(self.encoder, loaded.probe)
        except IncompatibleEncoderError as err:  # "<backend> <cosine>, ...; needed <minimum>"
            raise IndexUnavailableError(
                f"The index in {loaded.location} was built with "
                f"{loaded.manifest.encoder_backend}, whose vectors no question encoder here "
                f"agrees with ({err}): rebuild it with `python build_index.py --full`.") from err
