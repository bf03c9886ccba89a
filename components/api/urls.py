"""URL helpers the client needs in more than one place."""

from __future__ import annotations

from urllib.parse import urlsplit


def origin(url: str) -> str:
    """`scheme://host[:port]`, lower-cased; empty for a URL without both.

    The key goes only to origins, never to hosts alone: a downgraded scheme or
    another port is another origin.
    """
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else ""


def strip_version(base: str) -> str:
    """The API base without a trailing `/v1` or `/v2`, as the SDK derives its v2 base."""
    base = base.rstrip("/")
    head, _, tail = base.rpartition("/")
    return head if head and tail in ("v1", "v2") else base
