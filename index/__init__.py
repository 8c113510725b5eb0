"""Indexing: corpus files to a versioned FAISS + SQLite index on disk."""
