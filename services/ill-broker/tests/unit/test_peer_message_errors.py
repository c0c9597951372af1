"""What staff see of a delivery error: never the peer's endpoint credentials or query, even cut short."""

from __future__ import annotations

from bibliomesh_ill.service_layer.peers.errors import public_error

URL = "https://reshare:s3cret@peer.example/iso18626?token=abc123"


def test_the_endpoint_the_error_ends_with_is_left_out() -> None:
    assert public_error(f"request ERROR: UnrecognisedDataValue: no such item ({URL})", URL) == \
        "request ERROR: UnrecognisedDataValue: no such item"


def test_an_error_cut_in_the_middle_of_the_endpoint_keeps_none_of_it() -> None:
    error = ("x" * 1980 + f" ({URL})")[:2000]
    assert public_error(error, URL) == "x" * 1980


def test_credentials_and_queries_of_other_urls_it_quotes_are_left_out() -> None:
    error = f"HTTP 502: redirected from {URL} to https://u:p@elsewhere.example/x?key=1 (https://peer.example/iso)"
    shown = public_error(error, URL)
    assert shown is not None
    assert "s3cret" not in shown and "abc123" not in shown and "u:p@" not in shown and "key=1" not in shown
    assert "https://elsewhere.example/x" in shown


def test_no_error_is_no_error() -> None:
    assert public_error(None, URL) is None
