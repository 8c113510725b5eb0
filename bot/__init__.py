"""Verbatim: answers questions about news articles with verbatim quotes and their sources."""
