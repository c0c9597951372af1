"""Libraries notify copied before it kept their university (`parent_code`, migration 0004) do not say whether they
are branches until the directory announces them again. A known patron's notification about a request whose
borrowing library may be of their university is then held, not dropped, and the announcement shows it or keeps it
hidden."""

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa
from notify_fixtures import MailServer, Notify, mail_server, new_request_id, notify

from bibliomesh_notify.adapters.tables import library_contacts, notifications, people
from bibliomesh_notify.bootstrap import MIGRATIONS
from bibliomesh_notify.settings import NotifySettings
from meshkit.db import create_engine
from meshkit.migrations import upgrade
from meshkit.testing import eventually
from tests.support.infra import postgres_database

LIBRARIES = ("CN-U1", "CN-U1-ENG", "CN-U1-MED", "CN-U2-LAW")
PATRONS = {"user:eng": "CN-U1-ENG", "user:bo": "CN-U1", "user:far": "CN-U2-LAW"}


async def _copied_before_parent_codes(url: str) -> None:
    """A database at revision 0005 whose libraries were copied before 0004: branches without their university."""
    await asyncio.to_thread(upgrade, MIGRATIONS, url, "0005")
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.insert(library_contacts), [
                {"code": code, "name_en": f"{code} Library", "name_zh": None, "language": "en", "status": "active",
                 "version": 1, "ill_email": "ill@u1.example.edu" if code == "CN-U1" else None}
                for code in LIBRARIES])
            await conn.execute(sa.insert(people), [
                {"subject": subject, "institution": code, "display_name": None, "language": "en",
                 "email": f"{subject[5:]}@example.edu", "roles": ["patron"], "status": "active", "version": 1}
                for subject, code in PATRONS.items()])
    finally:
        await engine.dispose()


async def kinds(n: Notify, subject: str) -> list[str]:
    page = (await n.client.get("/notify/notifications", headers=n.person_headers(subject, PATRONS[subject]))).json()
    return [item["message_kind"] for item in page["items"]]


async def held(n: Notify, subject: str) -> list[str | None]:
    async with n.runtime.engine.connect() as conn:
        return list((await conn.scalars(sa.select(notifications.c.unconfirmed_patron_of).where(
            notifications.c.recipient == subject).order_by(notifications.c.id))).all())


async def _announced_again(n: Notify, smtp: MailServer) -> None:
    n.versions.update(dict.fromkeys(LIBRARIES, 1))
    await n.step("submitted", new_request_id(), borrower="CN-U1", lender=None, patron="user:eng")
    await n.step("submitted", new_request_id(), borrower="CN-U1-MED", lender=None, patron="user:bo")
    await n.step("submitted", new_request_id(), borrower="CN-U1", lender=None, patron="user:far")
    await n.step("submitted", new_request_id(), borrower="CN-U1", lender=None, patron="user:bo")  # its own library

    async def own_library_told() -> bool:  # steps are handled in order: the ones before are done
        return await kinds(n, "user:bo") == ["patron.submitted"]

    await eventually(own_library_told)
    await n.settled()
    assert [m["To"] for m in smtp.messages] == ["bo@example.edu"]  # nothing mailed to who may be a stranger
    assert (await kinds(n, "user:eng"), await held(n, "user:eng")) == ([], ["CN-U1"])
    assert await held(n, "user:bo") == ["CN-U1-MED", None]
    assert (await kinds(n, "user:far"), await held(n, "user:far")) == ([], ["CN-U1"])

    await n.institution("CN-U1-ENG", ill_email=None, kind="branch-library", parent_code="CN-U1")
    assert await kinds(n, "user:eng") == ["patron.submitted"]  # their library is the borrower's branch
    await n.institution("CN-U1-MED", ill_email=None, kind="branch-library", parent_code="CN-U1")
    assert await kinds(n, "user:bo") == ["patron.submitted"] * 2  # the borrower is their university's branch

    await n.institution("CN-U2-LAW", ill_email=None, kind="branch-library", parent_code="CN-U2")
    await n.institution("CN-U1", ill_email="ill@u1.example.edu")
    assert (await kinds(n, "user:far"), await held(n, "user:far")) == ([], ["CN-U1"])  # another university's
    assert [m["To"] for m in smtp.messages] == ["bo@example.edu"]


async def test_a_branch_patron_is_told_once_the_directory_announces_the_branch_again(tmp_path: Path) -> None:
    await _copied_before_parent_codes(NotifySettings(data_dir=tmp_path).effective_database_url())
    async with mail_server() as smtp, notify(tmp_path, smtp_host="127.0.0.1", smtp_port=smtp.port) as n:
        await _announced_again(n, smtp)


@pytest.mark.integration
async def test_a_branch_patron_is_told_once_the_directory_announces_the_branch_again_on_postgresql(
        tmp_path: Path) -> None:
    async with postgres_database("bm_notify_parent") as url:
        await _copied_before_parent_codes(url)
        async with mail_server() as smtp, \
                notify(tmp_path, database_url=url, smtp_host="127.0.0.1", smtp_port=smtp.port) as n:
            await _announced_again(n, smtp)
