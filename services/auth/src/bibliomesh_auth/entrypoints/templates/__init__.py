"""Server-rendered sign-in pages (Jinja2, autoescaped), in English or Simplified Chinese, sent with headers that
keep them out of caches and out of other sites' frames."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from bibliomesh_auth.entrypoints.templates.messages import MESSAGES
from meshkit.languages import HTML_LANG

_environment = Environment(loader=FileSystemLoader(Path(__file__).parent), autoescape=select_autoescape(["html"]),
                           undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
_ORIGIN = re.compile(r"^[a-z][a-z0-9+.\-]*:(//[A-Za-z0-9.\-:\[\]]+)?$")
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache", "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff"}


def page(template: str, lang: str, *, status: int = 200, redirects_to: Iterable[str] = (),
         **context: Any) -> HTMLResponse:
    """Render a page; `redirects_to` are URLs a form on it may end up redirected to (CSP `form-action`)."""
    nonce = secrets.token_urlsafe(16)
    html = _environment.get_template(template).render(
        t=MESSAGES[lang], lang=lang, html_lang=HTML_LANG[lang], csp_nonce=nonce, **context)
    return HTMLResponse(html, status_code=status, headers=page_headers(nonce, redirects_to))


def page_headers(style_nonce: str, redirects_to: Iterable[str] = ()) -> dict[str, str]:
    """no-store, no framing (CSP frame-ancestors and X-Frame-Options), no sniffing, no referrer, no scripts."""
    origins = sorted({origin for url in redirects_to if (origin := _origin(url))})
    policy = "; ".join([
        "default-src 'none'", f"style-src 'nonce-{style_nonce}'", "img-src 'self'",
        " ".join(["form-action 'self'", *origins]), "frame-ancestors 'none'", "base-uri 'none'"])
    return {**NO_STORE, "Content-Security-Policy": policy, "X-Frame-Options": "DENY"}


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}" if parts.netloc else f"{parts.scheme}:"
    return origin if _ORIGIN.match(origin) else None
