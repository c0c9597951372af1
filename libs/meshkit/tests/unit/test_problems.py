"""Errors reach clients as RFC 9457 problem+json: precise for their mistakes, silent about our internals."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, Field

from meshkit.problems import PROBLEM_JSON, Conflict, install_problem_handlers

SECRET = "postgresql://ill:hunter2@db.internal/ill"


class LoanRequest(BaseModel):
    title: str
    copies: int = Field(ge=1)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/loans")
    async def request_loan(body: LoanRequest) -> dict[str, str]:
        return {"title": body.title}

    @app.post("/loans/{loan_id}/ship")
    async def ship(loan_id: int) -> None:
        raise Conflict(f"loan {loan_id} was already shipped", current_state="shipped")

    @app.get("/broken")
    async def broken() -> None:
        raise RuntimeError(f"could not connect to {SECRET}")

    # The handler for unexpected errors answers, and Starlette then re-raises for the server to log.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as test_client:
        yield test_client


async def test_invalid_body_is_422_naming_the_field(client: httpx.AsyncClient) -> None:
    response = await client.post("/loans", json={"title": "Dream of the Red Chamber", "copies": 0})
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_JSON
    problem = response.json()
    assert problem["status"] == 422
    assert "copies" in problem["detail"]
    assert [e["field"] for e in problem["errors"]] == ["copies"]
    assert problem["instance"] == "/loans"


async def test_every_invalid_field_is_named(client: httpx.AsyncClient) -> None:
    problem = (await client.post("/loans", json={})).json()
    assert {e["field"] for e in problem["errors"]} == {"title", "copies"}
    assert "title" in problem["detail"] and "copies" in problem["detail"]


async def test_a_body_that_is_not_json_names_the_body_and_where_it_broke(client: httpx.AsyncClient) -> None:
    response = await client.post("/loans", content=b'{"title": "Fortress Besieged",',
                                 headers={"content-type": "application/json"})
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == "body"   # not the character position, which is no field
    assert error["message"].startswith("not valid JSON at character 30")


@pytest.mark.parametrize(("body", "reason"), [
    (b'{"title": "\xff\xfe", "copies": 1}', "not UTF-8"),
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
])
async def test_a_body_json_cannot_even_decode_names_the_body_and_why(client: httpx.AsyncClient, body: bytes,
                                                                    reason: str) -> None:
    # FastAPI answers these (a UnicodeDecodeError, a RecursionError) with a bare 400 naming nothing.
    response = await client.post("/loans", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_JSON
    [error] = response.json()["errors"]
    assert error["field"] == "body" and reason in error["message"]


async def test_invalid_path_parameter_is_named(client: httpx.AsyncClient) -> None:
    problem = (await client.post("/loans/abc/ship")).json()
    assert problem["status"] == 422
    assert [e["field"] for e in problem["errors"]] == ["path.loan_id"]


async def test_domain_error_keeps_its_status_and_extensions(client: httpx.AsyncClient) -> None:
    response = await client.post("/loans/7/ship")
    assert response.status_code == 409
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json() == {"type": "about:blank", "title": "Conflict", "status": 409,
                               "detail": "loan 7 was already shipped", "instance": "/loans/7/ship",
                               "current_state": "shipped"}


async def test_unknown_route_is_a_problem_too(client: httpx.AsyncClient) -> None:
    response = await client.get("/nowhere")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["title"] == "Not found"


async def test_unexpected_error_is_500_without_internals(client: httpx.AsyncClient) -> None:
    response = await client.get("/broken")
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM_JSON
    problem = response.json()
    assert problem["status"] == 500
    assert problem["detail"] == "The server could not complete the request."
    for leak in ("hunter2", "db.internal", "RuntimeError", "Traceback", "could not connect"):
        assert leak not in response.text
