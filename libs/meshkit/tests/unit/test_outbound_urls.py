"""Outbound targets (webhooks, harvest sources): an allowed scheme and public addresses only, unless private
targets are allowed."""

import pytest

from meshkit.outbound_urls import resolved_problem, url_problem

BOTH = ("http", "https")


@pytest.mark.parametrize("url", ["http://partner.example.org/hook", "https://127.0.0.1/hook",
                                 "https://10.1.2.3/hook", "https://169.254.169.254/latest/meta-data",
                                 "https://[::1]/hook", "https://[::ffff:192.168.0.1]/hook", "ftp://x.org/",
                                 "https://user:pw@partner.example.org/", "https:///nohost"])
def test_refused_unless_private_targets_are_allowed(url: str) -> None:
    assert url_problem(url, allow_private=False) is not None


def test_allowed_targets() -> None:
    assert url_problem("https://partner.example.org/hooks/ill", allow_private=False) is None
    assert url_problem("https://93.184.215.14/hook", allow_private=False) is None
    assert url_problem("http://127.0.0.1:8080/hook", allow_private=True) is None


def test_the_caller_chooses_the_schemes_allowed_for_public_targets() -> None:
    assert url_problem("http://koha.example.edu/oai", allow_private=False, public_schemes=BOTH) is None
    assert url_problem("http://koha.example.edu/oai", allow_private=False) == "must be an https:// URL"
    assert url_problem("ftp://koha.example.edu/oai", allow_private=False,
                       public_schemes=BOTH) == "must be an http:// or https:// URL"
    assert "non-public" in (url_problem("http://10.0.0.5/oai", allow_private=False, public_schemes=BOTH) or "")


async def test_a_name_that_resolves_to_loopback_is_refused() -> None:
    problem = await resolved_problem("https://localhost/hook", allow_private=False)
    assert problem is not None and "non-public" in problem
    assert await resolved_problem("http://localhost/hook", allow_private=True) is None


async def test_a_name_that_does_not_resolve_is_refused() -> None:
    problem = await resolved_problem("https://nowhere.invalid/hook", allow_private=False)
    assert problem is not None and "does not resolve" in problem
