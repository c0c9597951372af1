from pathlib import Path

from bibliomesh_contracts.events.directory import InstitutionSnapshot
from bibliomesh_ill.bootstrap import create_app
from bibliomesh_ill.settings import IllSettings
from meshkit.testing import TokenFactory, eventually, publish_institution, running, trust

REGION = ["CN-LN-DL"]


async def test_partners_are_ordered_by_tier_for_the_callers_institution_only(tmp_path: Path) -> None:
    tokens = TokenFactory()
    app = create_app(settings=IllSettings(data_dir=tmp_path, log_json=False), migrate=True)
    trust(app, tokens)
    async with running(app) as client:
        for snapshot in (
            InstitutionSnapshot(code="CN-U1", name_en="U1", kind="university", regions=REGION, version=1),
            InstitutionSnapshot(code="CN-U1-ENG", name_en="U1 Eng", kind="branch-library", parent_code="CN-U1",
                                regions=REGION, version=1),
            InstitutionSnapshot(code="CN-PL", name_en="PL", kind="public-library", regions=REGION, version=1),
            InstitutionSnapshot(code="CN-FAR", name_en="Far", kind="university", regions=["CN-SH"], version=1),
        ):
            await publish_institution(app.state.runtime.bus, snapshot)
        staff = tokens.headers("CN-U1-ENG", scopes=["ill:manage"])

        async def all_known() -> bool:
            response = await client.get("/ill/partners", headers=staff)
            return response.status_code == 200 and len(response.json()) == 3

        await eventually(all_known)
        partners = (await client.get("/ill/partners", headers=staff)).json()
        assert partners == [{"code": "CN-U1", "tier": "university"}, {"code": "CN-PL", "tier": "region"},
                            {"code": "CN-FAR", "tier": "open"}]

        other_library = {"institution": "CN-PL"}
        assert (await client.get("/ill/partners", headers=staff, params=other_library)).status_code == 403
        admin = tokens.headers("PLATFORM", scopes=["ill:manage"], roles=["platform-admin"])
        as_admin = await client.get("/ill/partners", headers=admin, params=other_library)
        assert [p["code"] for p in as_admin.json()] == ["CN-U1", "CN-U1-ENG", "CN-FAR"]
        patron = tokens.headers("CN-U1-ENG", scopes=["ill:request"], roles=["patron"])
        assert (await client.get("/ill/partners", headers=patron)).status_code == 403
        assert (await client.get("/ill/partners")).status_code == 401
        expired = tokens.headers("CN-U1-ENG", scopes=["ill:manage"], expires_in=-600)
        assert (await client.get("/ill/partners", headers=expired)).status_code == 401
        stranger = TokenFactory().headers("CN-U1-ENG", scopes=["ill:manage"])  # signed by a key nobody trusts
        assert (await client.get("/ill/partners", headers=stranger)).status_code == 401
