"""What an API client may be given, without I/O."""

import pytest

from bibliomesh_auth.domain.clients import PARTNER_SCOPES, grant_problem, redirect_uri_problem, scope_problem


def test_partner_scopes_are_what_the_institutions_staff_and_admins_may_hold() -> None:
    staff_and_admin = {"openid", "catalog:read", "catalog:write", "ill:request", "ill:lend", "ill:manage",
                       "notify:manage"}
    assert staff_and_admin == PARTNER_SCOPES
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
