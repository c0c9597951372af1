"""Jinja2 templates, one per message kind, channel and language, with an institution's own wording if it has one.

Templates run sandboxed (an institution's override is input from outside) with StrictUndefined (a variable the
context lacks is an error, never an empty string). E-mail templates have `subject`, `text` and `html` blocks;
`subject` and `text` render without escaping, `html` with autoescaping, inside the shared `layout.html`.
In-app templates have `title` and `body` blocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, Template
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

from bibliomesh_notify.domain.messages import Channel

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


def template_name(kind: str, channel: str, language: str) -> str:
    return f"{language}/{channel}/{kind}.j2"


@lru_cache(maxsize=256)
def _compiled(source: str, autoescape: bool) -> Template:
    return (_HTML if autoescape else _PLAIN).from_string(source)


def _template(kind: str, channel: str, language: str, override: str | None, autoescape: bool) -> Template:
    if override is not None:
        return _compiled(override, autoescape)
    return (_HTML if autoescape else _PLAIN).get_template(template_name(kind, channel, language))


def _block(template: Template, name: str, context: dict[str, Any]) -> str:
    if name not in template.blocks:
        raise KeyError(f"the template has no `{name}` block")
    return "".join(template.blocks[name](template.new_context(context))).strip()


def render_email(kind: str, language: str, context: dict[str, Any], override: str | None = None) -> Email:
    plain = _template(kind, Channel.EMAIL, language, override, False)
    html = _template(kind, Channel.EMAIL, language, override, True)
    subject = " ".join(_block(plain, "subject", context).split())
    body = Markup(_block(html, "html", context))  # noqa: S704 - rendered with autoescaping just above
    page = _HTML.get_template("layout.html").render(subject=subject, body=body, lang=language)
    return Email(subject=subject, text=_block(plain, "text", context) + "\n", html=page)


def render_in_app(kind: str, language: str, context: dict[str, Any], override: str | None = None) -> InApp:
    template = _template(kind, Channel.IN_APP, language, override, False)
    return InApp(title=" ".join(_block(template, "title", context).split()), body=_block(template, "body", context))


def default_source(kind: str, channel: str, language: str) -> str:
    return (TEMPLATES / template_name(kind, channel, language)).read_text(encoding="utf-8")
