"""`/notify/institutions/{code}/templates`: an institution's own wording for a message kind, channel and
language (Jinja2, sandboxed). A template is rendered with a sample message before it is stored."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Response

from bibliomesh_notify.adapters.template_repository import TemplateRepository
from bibliomesh_notify.domain.messages import DIGEST, MESSAGE_KINDS
from bibliomesh_notify.entrypoints.api.deps import ServicesDep
from bibliomesh_notify.entrypoints.api.schemas import InstitutionCode, TemplateIn, TemplateOut
from bibliomesh_notify.service_layer.institutions import require_known
from bibliomesh_notify.service_layer.rendering import default_source, render_email, render_in_app
from bibliomesh_notify.service_layer.samples import sample_context
from meshkit.problems import InvalidField, NotFound
from meshkit.security import Principal
from meshkit.web import UnitOfWorkDep, require_scope

router = APIRouter(prefix="/notify", tags=["templates"])
RULE = "(`notify:manage`, own institution or platform admin)"
ChannelName = Literal["email", "in_app"]
Language = Literal["en", "zh-CN"]


def _key(code: str, kind: str, channel: str, language: str) -> dict[str, str]:
    if kind not in MESSAGE_KINDS and not (kind == DIGEST and channel == "email"):
        raise InvalidField("message_kind", f"unknown message kind for {channel}; known: {', '.join(MESSAGE_KINDS)}")
    return {"institution": code, "message_kind": kind, "channel": channel, "language": language}


def _problem(kind: str, channel: str, language: str, source: str) -> str | None:
    """Why `source` does not render a sample message within today's limits, or None."""
    context = sample_context(kind, "zh" if language == "zh-CN" else "en")
    try:
        if channel == "email":
            render_email(kind, language, context, source)
        else:
            render_in_app(kind, language, context, source)
    except Exception as exc:  # any template error is the institution's to fix, named precisely
        return f"{type(exc).__name__}: {exc}"
    return None


def _saved(row: dict[str, Any]) -> TemplateOut:
    """A stored template, with what keeps it from being used: one saved under earlier rules may break today's
    limits, and then every message falls back to the default wording until it is fixed."""
    problem = _problem(row["message_kind"], row["channel"], row["language"], row["source"])
    return TemplateOut(**row, overridden=True, problem=problem)


@router.get("/institutions/{code}/templates", summary=f"The institution's own templates {RULE}.")
async def list_templates(code: str, uow: UnitOfWorkDep, caller: Principal = require_scope("notify:manage")
                         ) -> list[TemplateOut]:
    caller.require_institution(code)
    return [_saved(row) for row in await TemplateRepository(uow.session).listing(code)]


@router.get("/institutions/{code}/templates/{kind}/{channel}/{language}",
            summary=f"The template in use: the institution's own, or the default {RULE}.")
async def get_template(code: str, kind: str, channel: ChannelName, language: Language, uow: UnitOfWorkDep,
                       caller: Principal = require_scope("notify:manage")) -> TemplateOut:
    caller.require_institution(code)
    key = _key(code, kind, channel, language)
    own = await TemplateRepository(uow.session).source(code, kind, channel, language)
    if own is not None:
        rows = [r for r in await TemplateRepository(uow.session).listing(code)
                if (r["message_kind"], r["channel"], r["language"]) == (kind, channel, language)]
        return _saved(rows[0])
    return TemplateOut(**key, source=default_source(kind, channel, language), updated_at=None, updated_by=None,
                       overridden=False)


@router.put("/institutions/{code}/templates/{kind}/{channel}/{language}",
            summary=f"Use the institution's own wording for one message kind, channel and language {RULE}.")
async def put_template(code: InstitutionCode, kind: str, channel: ChannelName, language: Language, body: TemplateIn,
                       uow: UnitOfWorkDep, services: ServicesDep,
                       caller: Principal = require_scope("notify:manage")) -> TemplateOut:
    caller.require_institution(code)
    await require_known(uow, code)
    key = _key(code, kind, channel, language)
    if problem := _problem(kind, channel, language, body.source):
        raise InvalidField("source", problem)
    now = services.clock()
    await TemplateRepository(uow.session).put(key, body.source, caller.subject, now)
    await uow.commit()
    return TemplateOut(**key, source=body.source, updated_at=now, updated_by=caller.subject, overridden=True)


@router.delete("/institutions/{code}/templates/{kind}/{channel}/{language}", status_code=204,
               summary=f"Go back to the default wording {RULE}.")
async def delete_template(code: str, kind: str, channel: ChannelName, language: Language, uow: UnitOfWorkDep,
                          caller: Principal = require_scope("notify:manage")) -> Response:
    caller.require_institution(code)
    if not await TemplateRepository(uow.session).delete(_key(code, kind, channel, language)):
        raise NotFound("the institution has no own template for this")
    await uow.commit()
    return Response(status_code=204)
