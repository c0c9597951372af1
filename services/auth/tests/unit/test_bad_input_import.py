"""Reading an account import: file-level problems are 4xx, row-level problems are reported per row."""

import json

import pytest

from bibliomesh_auth.entrypoints.api.schemas_import import MAX_IMPORT_BYTES, parse_upload
from meshkit.problems import ContentTooLarge, Problem


def test_csv_rows_are_validated_one_by_one() -> None:
    body = ("\ufeffUsername,Email,Roles\n"
            "li.wei,li.wei@example.edu,staff; patron\n"
            "\n"
            "broken,x@example.edu,patron,surplus\n"
            "bad,not-mail,patron\n"
            "short\n").encode()
    rows = parse_upload(body, "text/csv; charset=utf-8")
    assert [r.row for r in rows] == [1, 2, 3, 4]
    assert rows[0].fields == {"username": "li.wei", "email": "li.wei@example.edu", "roles": ["staff", "patron"]}
    assert (rows[1].fields, rows[1].field) == (None, "row")
    assert (rows[2].fields, rows[2].field, rows[2].username) == (None, "email", "bad")
    assert rows[3].fields == {"username": "short"}


def test_json_rows_are_validated_one_by_one() -> None:
    rows = parse_upload(json.dumps([{"username": "a.b"}, {"username": "a b"}, 7, {"username": "c", "x": 1}]).encode(),
                        "application/json")
    assert [r.field for r in rows] == [None, "username", "row", "x"]


@pytest.mark.parametrize(("body", "content_type", "status"), [
    (b"username\nx\n", "text/plain", 415),
    (b"", "text/csv", 400),
    (b"name\nx\n", "text/csv", 422),
    (b'username\n"open\n', "text/csv", 400),
    (b"\xff\xfe", "text/csv", 400),
    (b"{}", "application/json", 422),
    (b"[", "application/json", 400),
])
def test_whole_file_problems(body: bytes, content_type: str, status: int) -> None:
    with pytest.raises(Problem) as raised:
        parse_upload(body, content_type)
    assert raised.value.status == status


def test_size_limits() -> None:
    with pytest.raises(ContentTooLarge):
        parse_upload(b"username\n" + b"x" * MAX_IMPORT_BYTES, "text/csv")
    with pytest.raises(ContentTooLarge):
        parse_upload(("username\n" + "u\n" * 2001).encode(), "text/csv")


def test_json_nested_too_deeply_is_refused_naming_the_body() -> None:
    with pytest.raises(Problem) as raised:
        parse_upload(b"[" * 3000 + b"]" * 3000, "application/json")
    assert raised.value.status == 422
    assert raised.value.extensions["errors"] == [{"field": "body", "message": "nested too deeply"}]
