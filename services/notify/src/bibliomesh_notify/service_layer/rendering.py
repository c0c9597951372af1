"""Jinja2 templates, one per message kind, channel and language, with an institution's own wording if it has one.

Templates run sandboxed with StrictUndefined (a variable the context lacks is an error, never an empty string).
An institution's override is input from outside: it runs in the `BoundedSandbox`, within `template_limits`, and
where it fails when a message is sent the built-in template is used instead (`render_in_app_or_default`).
E-mail templates have `subject`, `text` and `html` blocks; `subject` and `text` render without escaping, `html`
with autoescaping, inside the shared `layout.html`. In-app templates have `title` and `body` blocks.
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, Template
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

from bibliomesh_notify.domain.messages import Channel
from bibliomesh_notify.service_layer.bounded_sandbox import BoundedSandbox
from bibliomesh_notify.service_layer.template_limits import FIELD_CHARS, Budget, TemplateLimitError, budgeted

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).parent.parent / "templates"
BLOCKS = {Channel.EMAIL: ("subject", "text", "html"), Channel.IN_APP: ("title", "body")}


@dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class InApp:
    title: str
    body: str


def _environment(autoescape: bool) -> SandboxedEnvironment:
    return SandboxedEnvironment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined,
                                autoescape=autoescape, lstrip_blocks=True,
                                keep_trailing_newline=False)


_PLAIN = _environment(False)
_HTML = _environment(True)
_OWN_PLAIN = BoundedSandbox(autoescape=False)
_OWN_HTML = BoundedSandbox(autoescape=True)


def template_name(kind: str, channel: str, language: str) -> str:
    return f"{language}/{channel}/{kind}.j2"


@lru_cache(maxsize=256)
def _compiled_or_error(source: str, autoescape: bool) -> Template | Exception:
    try:
        return (_OWN_HTML if autoescape else _OWN_PLAIN).compile_bounded(source)
    except Exception as exc:  # kept too: compiling a long template takes a while, and it fails every message
        return exc


def _compiled(source: str, autoescape: bool) -> Template:
    compiled = _compiled_or_error(source, autoescape)
    if isinstance(compiled, Exception):
        raise compiled.with_traceback(None)
    return compiled


def _template(kind: str, channel: str, language: str, override: str | None, autoescape: bool) -> Template:
    if override is not None:
        return _compiled(override, autoescape)
    return (_HTML if autoescape else _PLAIN).get_template(template_name(kind, channel, language))


def _block(template: Template, name: str, context: dict[str, Any], bounded: bool) -> str:
    if name not in template.blocks:
        raise KeyError(f"the template has no `{name}` block")
    chunks = template.blocks[name](template.new_context(context))
    if not bounded:
        return "".join(chunks).strip()
    limit, size, kept = FIELD_CHARS[name], 0, []
    for chunk in chunks:  # stops as soon as the block is too long, before it is all in memory
        size += len(chunk)
        if size > limit:
            raise TemplateLimitError(f"the `{name}` block renders more than {limit:,} characters")
        kept.append(chunk)
    return "".join(kept).strip()


def _limits(override: str | None) -> AbstractContextManager[Budget | None]:
    return budgeted() if override is not None else nullcontext()


def render_email(kind: str, language: str, context: dict[str, Any], override: str | None = None) -> Email:
    """The e-mail for `kind`; with `override` (an institution's own template) within the template limits, any
    error raised (TemplateLimitError names the limit)."""
    bounded = override is not None
    plain = _template(kind, Channel.EMAIL, language, override, False)
    html = _template(kind, Channel.EMAIL, language, override, True)
    with _limits(override):  # the time limit is the render's: compiling happens once, and before
        subject = " ".join(_block(plain, "subject", context, bounded).split())
        body = Markup(_block(html, "html", context, bounded))  # noqa: S704 - rendered with autoescaping
        text = _block(plain, "text", context, bounded)
    page = _HTML.get_template("layout.html").render(subject=subject, body=body, lang=language)
    return Email(subject=subject, text=text + "\n", html=page)


def render_in_app(kind: str, language: str, context: dict[str, Any], override: str | None = None) -> InApp:
    """The in-app message for `kind`; as `render_email` for `override`."""
    bounded = override is not None
    template = _template(kind, Channel.IN_APP, language, override, False)
    with _limits(override):
        title = " ".join(_block(template, "title", context, bounded).split())
        return InApp(title=title, body=_block(template, "body", context, bounded))


def render_in_app_or_default(kind: str, language: str, context: dict[str, Any], override: str | None,
                             institution: str) -> InApp:
    """As `render_in_app`, but an override that fails (it breaks a limit with this message's data, or names a
    variable this message lacks) gives way to the built-in template, so nobody goes without the message."""
    if override is not None:
        try:
            return render_in_app(kind, language, context, override)
        except Exception as exc:  # the institution's template is at fault, whatever the error: use ours
            log.warning("the institution's template failed; using the built-in one", extra={
                "institution": institution, "message_kind": kind, "channel": "in_app", "error": str(exc)[:300]})
    return render_in_app(kind, language, context)


def default_source(kind: str, channel: str, language: str) -> str:
    return (TEMPLATES / template_name(kind, channel, language)).read_text(encoding="utf-8")
