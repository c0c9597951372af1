"""What an API client may be given, without I/O."""

from datetime import UTC, datetime

import pytest

from bibliomesh_auth.domain.clients import (
    PARTNER_SCOPES,
    grant_problem,
    issued_in_time,
    redirect_uri_problem,
    scope_problem,
    tokens_not_before,
)


def test_partner_scopes_are_what_the_institutions_staff_and_admins_may_hold() -> None:
    staff_and_admin = {"openid", "catalog:read", "catalog:write", "ill:request", "ill:lend", "ill:manage",
                       "notify:manage", "accounts:manage"}
    assert staff_and_admin == PARTNER_SCOPES
    assert scope_problem(frozenset({"accounts:manage"}), platform_client=False, by_platform_admin=False) is None
    assert scope_problem(frozenset({"catalog:write", "ill:lend"}), platform_client=False, by_platform_admin=False) \
        is None
    assert scope_problem(frozenset({"directory:admin"}), platform_client=False, by_platform_admin=False)
    assert scope_problem(frozenset({"directory:admin"}), platform_client=False, by_platform_admin=True) is None
    assert scope_problem(frozenset({"directory:admin"}), platform_client=True, by_platform_admin=True) is None
    assert "unknown" in (scope_problem(frozenset({"root"}), platform_client=True, by_platform_admin=True) or "")


def test_grants_by_kind_of_client() -> None:
    assert grant_problem(frozenset({"client_credentials"}), is_public=False, by_platform_admin=False) is None
    assert grant_problem(frozenset({"authorization_code"}), is_public=False, by_platform_admin=True)
    assert grant_problem(frozenset({"client_credentials"}), is_public=True, by_platform_admin=True)
    assert grant_problem(frozenset({"authorization_code", "refresh_token"}), is_public=True,
                         by_platform_admin=True) is None
    assert grant_problem(frozenset({"password"}), is_public=False, by_platform_admin=False)
    assert grant_problem(frozenset({"password"}), is_public=False, by_platform_admin=True) is None
    assert grant_problem(frozenset({"refresh_token"}), is_public=False, by_platform_admin=True)
    assert grant_problem(frozenset(), is_public=False, by_platform_admin=True)


@pytest.mark.parametrize(("uri", "dev", "ok"), [
    ("https://app.example.org/callback", False, True),
    ("http://127.0.0.1:8000/callback", False, True),
    ("http://localhost/cb", False, True),
    ("http://app.example.org/cb", False, False),
    ("http://app.example.org/cb", True, True),
    ("https://app.example.org/cb#x", True, False),
    ("https://*.example.org/cb", True, False),
    ("javascript:alert(1)", True, False),
    ("/relative", True, False),
])
def test_redirect_uris_are_exact_absolute_and_https(uri: str, dev: bool, ok: bool) -> None:
    assert (redirect_uri_problem(uri, allow_plain_http=dev) is None) == ok


def test_tokens_issued_up_to_a_disable_are_refused_even_within_its_second() -> None:
    disabled_at = datetime(2025, 3, 1, 9, 30, 15, 999_999, tzinfo=UTC)
    cutoff = tokens_not_before(disabled_at)
    assert cutoff == datetime(2025, 3, 1, 9, 30, 16, tzinfo=UTC)
    same_second = int(datetime(2025, 3, 1, 9, 30, 15, tzinfo=UTC).timestamp())
    assert not issued_in_time(same_second, cutoff)
    assert issued_in_time(same_second + 1, cutoff)
    assert issued_in_time(same_second, None)  # never disabled
    assert not issued_in_time(None, cutoff) and not issued_in_time(True, cutoff) and not issued_in_time("0", cutoff)
