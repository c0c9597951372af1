"""`GET|POST /catalog/oai`: OAI-PMH 2.0 data provider of the union catalogue, for harvesters (public)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from bibliomesh_catalog.service_layer.oai import Provider, handle_oai
from meshkit.dev_secrets import development_secret
from meshkit.runtime import ServiceRuntime
from meshkit.web import UnitOfWorkDep, get_runtime

router = APIRouter(prefix="/catalog", tags=["oai-pmh"])

_DESCRIPTION = (
    "Verbs Identify, ListMetadataFormats, ListSets, ListIdentifiers, ListRecords, GetRecord. Items are clusters "
    "(`oai:bibliomesh:cluster/<id>`), formats `oai_dc` and `marc21` (MARCXML with an 852 per holding), one set per "
    "holding institution (setSpec = institution code, with any character a setSpec cannot hold, `~` included, "
    "written as `~` and the hex of its UTF-8 bytes: `CN-XX/A` is `CN-XX~2FA`, `CN-XX:B` is `CN-XX~3AB`; there is no "
    "set hierarchy). Deleted clusters stay as deleted headers. Lists page 100 at a time with resumption tokens. "
    "Errors are OAI-PMH error codes in a 200 response.")
_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"content": {"text/xml": {}}, "description": "An OAI-PMH response document."}}


def provider(runtime: ServiceRuntime) -> Provider:
    """Built once per runtime: the signing key is read (or, in development, made) on first use."""
    found: Provider | None = runtime.extra.get("oai.provider")
    if found is None:
        settings = runtime.settings
        secret = settings.oai_token_secret  # type: ignore[attr-defined]
        key = secret.get_secret_value() if secret else development_secret(settings.data_dir, "oai-token.key")
        found = Provider(base_url=settings.public_url.rstrip("/") + "/catalog/oai",
                         admin_email=settings.oai_admin_email, token_key=key.encode())  # type: ignore[attr-defined]
        runtime.extra["oai.provider"] = found
    return found


async def _answer(request: Request, uow: UnitOfWorkDep, pairs: list[tuple[str, str]]) -> Response:
    reply = await handle_oai(uow.session, pairs, provider(get_runtime(request)))
    return Response(content=reply.body, media_type=reply.media_type)


@router.get("/oai", summary="OAI-PMH 2.0 (public).", description=_DESCRIPTION, response_class=Response,
            responses=_RESPONSES)
async def oai_get(request: Request, uow: UnitOfWorkDep) -> Response:
    return await _answer(request, uow, list(request.query_params.multi_items()))


@router.post("/oai", summary="OAI-PMH 2.0 with a form body (public).", description=_DESCRIPTION,
             response_class=Response, responses=_RESPONSES)
async def oai_post(request: Request, uow: UnitOfWorkDep) -> Response:
    form = await request.form()
    pairs = [(name, value) for name, value in form.multi_items() if isinstance(value, str)]
    return await _answer(request, uow, pairs)
