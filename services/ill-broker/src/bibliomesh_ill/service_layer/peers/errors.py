"""What a failed delivery to a peer may say where staff, patrons (the request's trail) and logs see it."""

from __future__ import annotations

import re

# Credentials and query strings in any URL an error quotes (a peer's endpoint may carry a secret in either).
_USERINFO = re.compile(r"(\b[a-z][a-z0-9+.\-]*://)[^/\s@]*@", re.IGNORECASE)
_QUERY = re.compile(r"(://[^\s?#)'\"]*)[?#][^\s)'\"]*")


def public_error(error: str | None, url: str) -> str | None:
    """A delivery error without the peer's endpoint (cut to 2000 characters, it may end in part of it) or any
    credentials or query string of a URL it quotes."""
    if error is None:
        return None
    tail = f" ({url})"
    cut = next((n for n in range(min(len(tail), len(error)), 1, -1) if error.endswith(tail[:n])), 0)
    error = error[:len(error) - cut].replace(url, "the peer's endpoint")
    return _QUERY.sub(r"\1", _USERINFO.sub(r"\1", error))
