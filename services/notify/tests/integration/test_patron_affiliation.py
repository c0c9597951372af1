"""A patron hears about a request only if they belong to the borrowing library or to its university: a library
naming another institution's user as the patron of its request gets nothing sent to that user."""

import logging
from pathlib import Path

import pytest
from notify_fixtures import Notify, mail_server, new_request_id, notify

from meshkit.testing import eventually

RECIPIENTS = "bibliomesh_notify.service_layer.recipients"


async def kinds(n: Notify, subject: str, institution: str) -> list[str]:
    page = (await n.client.get("/notify/notifications", headers=n.person_headers(subject, institution))).json()
    return sorted(item["message_kind"] for item in page["items"])


def refusals(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    return [(r.borrower, r.patron_institution) for r in caplog.records  # type: ignore[attr-defined]
            if r.name == RECIPIENTS and r.levelno >= logging.INFO]


async def test_another_institutions_user_named_as_patron_gets_nothing_while_the_borrowers_staff_do(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=RECIPIENTS)
    async with mail_server() as smtp, notify(tmp_path, smtp_host="127.0.0.1", smtp_port=smtp.port) as n:
        await n.institution("CN-U1", ill_email="ill@u1.example.edu")
        await n.institution("CN-U2", ill_email="ill@u2.example.edu")
        await n.person("user:staff-u1", "CN-U1", email="staff@u1.example.edu", roles=("staff",))
        await n.person("user:yan", "CN-U2", email="yan@u2.example.edu", name="Yan")
        request_id = new_request_id()
        await n.step("submitted", request_id, borrower="CN-U1", lender=None, patron="user:yan")
        await n.step("shipped", request_id, borrower="CN-U1", lender="CN-PL", patron="user:yan", version=2)

        async def staff_told() -> bool:
            return await kinds(n, "user:staff-u1", "CN-U1") == ["borrower.item_shipped"]

        await eventually(staff_told)  # steps are handled in order: both are done
        await n.settled()
        assert len(smtp.to("ill@u1.example.edu")) == 1
        assert await kinds(n, "user:yan", "CN-U2") == []
        assert smtp.to("yan@u2.example.edu") == []
        assert all("Yan" not in m.get_body(("plain",)).get_content() for m in smtp.messages)
        assert refusals(caplog) == [("CN-U1", "CN-U2")] * 2


async def test_patrons_of_the_borrowers_university_are_told_and_those_of_another_university_are_not(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=RECIPIENTS)
    async with notify(tmp_path) as n:
        await n.institution("CN-U1", ill_email=None)
        await n.institution("CN-U1-LAW", ill_email=None, kind="branch-library", parent_code="CN-U1")
        await n.institution("CN-U1-MED", ill_email=None, kind="branch-library", parent_code="CN-U1")
        await n.institution("CN-U2", ill_email=None)
        await n.institution("CN-U2-LAW", ill_email=None, kind="branch-library", parent_code="CN-U2")
        await n.person("user:ada", "CN-U1-LAW", email=None)
        await n.person("user:bo", "CN-U1", email=None)
        await n.person("user:dee", "CN-U2-LAW", email=None)
        await n.person("user:eve", "CN-U2", email=None)
        for borrower, patron in [("CN-U1", "user:dee"),       # a branch of another university
                                 ("CN-U1-LAW", "user:eve"),   # another university
                                 ("CN-U1", "user:ada"),       # a branch's patron, on the university's request
                                 ("CN-U1-MED", "user:bo"),    # the university's patron, on a branch's request
                                 ("CN-U1-MED", "user:ada"),   # a sibling branch's patron
                                 ("CN-U1", "user:bo")]:       # the borrower's own patron
            await n.step("submitted", new_request_id(), borrower=borrower, lender=None, patron=patron)

        async def told() -> bool:  # steps are handled in order: the refused ones, published first, are done
            return (await kinds(n, "user:ada", "CN-U1-LAW") == ["patron.submitted"] * 2
                    and await kinds(n, "user:bo", "CN-U1") == ["patron.submitted"] * 2)

        await eventually(told)
        assert await kinds(n, "user:dee", "CN-U2-LAW") == []
        assert await kinds(n, "user:eve", "CN-U2") == []
        assert refusals(caplog) == [("CN-U1", "CN-U2-LAW"), ("CN-U1-LAW", "CN-U2")]
