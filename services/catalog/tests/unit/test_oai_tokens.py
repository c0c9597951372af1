"""Resumption tokens are signed with the provider's key: a token from another key, or altered, is refused."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from bibliomesh_catalog.service_layer.oai_arguments import ListRequest, OaiError, Position, decode_token, encode_token
from bibliomesh_catalog.settings import CatalogSettings

KEY = b"one key shared by every replica"
POSITION = Position(ListRequest("marc21", set_spec="CN-DL-BNU"), datetime(2026, 11, 1, tzinfo=UTC), 42, 100)


def test_a_token_round_trips_with_the_same_key() -> None:
    assert decode_token(encode_token(POSITION, KEY), KEY) == POSITION


@pytest.mark.parametrize("tamper", ["other key", "altered cursor", "truncated"])
def test_a_token_not_signed_by_this_provider_is_a_bad_resumption_token(tamper: str) -> None:
    token = encode_token(POSITION, KEY)
    if tamper == "other key":
        candidate, key = token, b"someone else's key"
    elif tamper == "altered cursor":
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).replace(b'"c":100', b'"c":999')
        candidate, key = base64.urlsafe_b64encode(raw).decode().rstrip("="), KEY
    else:
        candidate, key = token[:-5], KEY
    with pytest.raises(OaiError) as refused:
        decode_token(candidate, key)
    assert refused.value.code == "badResumptionToken"


def test_production_refuses_to_start_without_a_shared_token_secret() -> None:
    with pytest.raises(ValueError, match="CATALOG_OAI_TOKEN_SECRET"):
        CatalogSettings(environment="production", database_url="postgresql+asyncpg://db/catalog",
                        bus_url="amqp://guest:guest@mq/")
