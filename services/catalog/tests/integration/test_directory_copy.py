from pathlib import Path

import httpx

from bibliomesh_catalog.bootstrap import create_app
from bibliomesh_catalog.settings import CatalogSettings
from bibliomesh_contracts.events.directory import InstitutionSnapshot
from meshkit.testing import eventually, publish_institution, running


async def test_holders_follow_directory_events_and_ignore_stale_versions(tmp_path: Path) -> None:
    app = create_app(settings=CatalogSettings(data_dir=tmp_path, log_json=False), migrate=True)
    async with running(app) as client:
        bus = app.state.runtime.bus
        v2 = InstitutionSnapshot(code="CN-DL-U1", name_en="Renamed University", kind="university",
                                 regions=["CN-LN-DL"], version=2)
        await publish_institution(bus, v2)
        await publish_institution(bus, v2.model_copy(update={"name_en": "Old Name", "version": 1}))

        async def shows_latest() -> bool:
            holders = (await client.get("/catalog/holders")).json()
            return [h["name_en"] for h in holders] == ["Renamed University"]

        async def both_consumed() -> bool:
            return await _count(client, app) == 2

        # Both events are consumed (the older one arrives second and may be consumed after the newer one shows);
        # the older one changed nothing.
        await eventually(both_consumed)
        assert await shows_latest()


async def _count(client: httpx.AsyncClient, app) -> int:
    import sqlalchemy as sa

    from bibliomesh_catalog.adapters.tables import messaging

    async with app.state.runtime.engine.connect() as conn:
        return int(await conn.scalar(sa.select(sa.func.count()).select_from(messaging.inbox)))
