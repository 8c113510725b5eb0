"""News and article sources: the corpus files (reader and writer), HTML extraction, RSS/Atom
feeds fetched through a polite HTTP client, and the ledger of what the fetcher has seen."""

from index.sources.feeds import (
    Feed,
    FeedsFileError,
    FetchSummary,
    fetch_feeds,
    fetch_locked,
    load_feeds,
)
from index.sources.files import (
    Article,
    Corpus,
    CorpusError,
    Problem,
    is_web_url,
    read_corpus,
)
from index.sources.html import Extracted, NoArticle, extract_html
from index.sources.http import AddressPolicy, Fetched, FetchError, PoliteClient, client_for
from index.sources.ledger import Lease, Ledger
from index.sources.scan_cache import SCAN_CACHE

__all__ = [
    "SCAN_CACHE",
    "AddressPolicy",
    "Article",
    "Corpus",
    "CorpusError",
    "Extracted",
    "Feed",
    "FeedsFileError",
    "FetchError",
    "FetchSummary",
    "Fetched",
    "Lease",
    "Ledger",
    "NoArticle",
    "PoliteClient",
    "Problem",
    "client_for",
    "extract_html",
    "fetch_feeds",
    "fetch_locked",
    "is_web_url",
    "load_feeds",
    "read_corpus",
]
