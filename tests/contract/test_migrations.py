"""Each service's migrations build exactly the tables its code uses, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from bibliomesh_launcher.services import SERVICES
from meshkit.db import create_engine
from meshkit.migrations import upgrade_in_thread
from meshkit.service_spec import ServiceSpec
from tests.support.infra import postgres_database


def _not_engine_specific(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Full-text search storage differs per engine (FTS5 virtual tables and their shadow tables, a tsvector table):
    the catalogue's migrations own the `search_fts*` tables and its search tests cover them."""
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", "")
    return not (reflected and compare_to is None and str(table).startswith("search_fts"))


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'migrations.sqlite'}"
    else:
        async with postgres_database("bm_migrations") as url:
            yield url


@pytest.mark.integration
@pytest.mark.parametrize("spec", SERVICES, ids=lambda spec: spec.name)
async def test_migrations_match_the_models(spec: ServiceSpec, database_url: str) -> None:
    await upgrade_in_thread(spec.migrations, database_url)
    await upgrade_in_thread(spec.migrations, database_url)  # a second run is a no-op

    def differences(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True,
                                                               "include_object": _not_engine_specific})
        return list(compare_metadata(context, spec.metadata))

    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(differences)
    finally:
        await engine.dispose()
    assert diff == [], f"{spec.name}: migrations and tables differ: {diff}"
