"""Each bus test runs on both transports unless it names one: a RabbitMQ vhost with PostgreSQL databases, and the
embedded SQLite bus with SQLite databases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.infra import rabbitmq_vhost
from tests.support.mesh import BusKind, Mesh


@pytest.fixture(params=["rabbitmq", "embedded"])
def bus_kind(request: pytest.FixtureRequest) -> BusKind:
    kind: BusKind = request.param
    return kind


@pytest.fixture
async def mesh(bus_kind: BusKind, tmp_path: Path) -> AsyncIterator[Mesh]:
    if bus_kind == "embedded":
        embedded = Mesh("embedded", tmp_path)
        try:
            yield embedded
        finally:
            await embedded.close()
        return
    async with rabbitmq_vhost() as vhost:
        distributed = Mesh("rabbitmq", tmp_path, vhost)
        try:
            yield distributed
        finally:
            await distributed.close()


@pytest.fixture
async def rabbitmq_mesh(tmp_path: Path) -> AsyncIterator[Mesh]:
    async with rabbitmq_vhost() as vhost:
        distributed = Mesh("rabbitmq", tmp_path, vhost)
        try:
            yield distributed
        finally:
            await distributed.close()
