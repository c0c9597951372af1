from pathlib import Path

from bibliomesh_contracts.events.directory import InstitutionSnapshot
from bibliomesh_notify.bootstrap import create_app
from bibliomesh_notify.settings import NotifySettings
from meshkit.testing import TokenFactory, eventually, publish_institution, running, trust


async def test_a_library_sees_its_own_contact_and_not_another_ones(tmp_path: Path) -> None:
    tokens = TokenFactory()
    app = create_app(settings=NotifySettings(data_dir=tmp_path, log_json=False), migrate=True)
    trust(app, tokens)
    async with running(app) as client:
        await publish_institution(app.state.runtime.bus, InstitutionSnapshot(
            code="CN-U1", name_en="U1", kind="university", ill_email="ill@u1.example.edu", language="zh", version=1))
        own = tokens.headers("CN-U1", scopes=["notify:manage"], roles=["institution-admin"])

        async def known() -> bool:
            return (await client.get("/notify/contacts/CN-U1", headers=own)).status_code == 200

        await eventually(known)
        contact = (await client.get("/notify/contacts/CN-U1", headers=own)).json()
        assert contact["ill_email"] == "ill@u1.example.edu" and contact["language"] == "zh"

        other = tokens.headers("CN-U2", scopes=["notify:manage"], roles=["institution-admin"])
        assert (await client.get("/notify/contacts/CN-U1", headers=other)).status_code == 403
        admin = tokens.headers("PLATFORM", scopes=["notify:manage"], roles=["platform-admin"])
        assert (await client.get("/notify/contacts/CN-U1", headers=admin)).status_code == 200
        no_scope = tokens.headers("CN-U1", scopes=["catalog:read"])
        assert (await client.get("/notify/contacts/CN-U1", headers=no_scope)).status_code == 403
