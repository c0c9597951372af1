"""Account rules and who may manage whom, without I/O."""

import pytest

from bibliomesh_auth.domain.accounts import password_problem, pickup_problem, roles_problem
from bibliomesh_auth.domain.permissions import managed_institution, require_manager_of
from meshkit.problems import Forbidden
from meshkit.security import Principal

MANAGE = frozenset({"accounts:manage"})
READ = frozenset({"catalog:read"})
PLATFORM = Principal(subject="client:root", institution="PLATFORM", roles=frozenset({"platform-admin"}),
                     scopes=MANAGE)
ADMIN_U1 = Principal(subject="user:1", institution="CN-U1", roles=frozenset({"institution-admin"}), scopes=MANAGE)
STAFF_U1 = Principal(subject="user:2", institution="CN-U1", roles=frozenset({"staff"}), scopes=MANAGE)
PATRON_U1 = Principal(subject="user:3", institution="CN-U1", roles=frozenset({"patron"}), scopes=MANAGE)
# The same admins with a token narrowed to what a third-party app asked for.
PLATFORM_READING = Principal(subject="client:root", institution="PLATFORM", roles=frozenset({"platform-admin"}),
                             scopes=READ | {"directory:admin"})
ADMIN_U1_READING = Principal(subject="user:1", institution="CN-U1", roles=frozenset({"institution-admin"}),
                             scopes=READ)


@pytest.mark.parametrize(("caller", "asked", "allowed"), [
    (PLATFORM, None, None), (PLATFORM, "CN-U2", "CN-U2"),
    (ADMIN_U1, None, "CN-U1"), (ADMIN_U1, "CN-U1", "CN-U1"), (ADMIN_U1, "CN-U2", Forbidden),
    (STAFF_U1, None, Forbidden), (STAFF_U1, "CN-U1", Forbidden),
    (PATRON_U1, None, Forbidden), (PATRON_U1, "CN-U1", Forbidden),
    (PLATFORM_READING, None, Forbidden), (PLATFORM_READING, "CN-U1", Forbidden),
    (ADMIN_U1_READING, None, Forbidden), (ADMIN_U1_READING, "CN-U1", Forbidden),
])
def test_one_rule_gives_both_the_list_filter_and_the_record_check(caller: Principal, asked: str | None,
                                                                   allowed: object) -> None:
    if allowed is Forbidden:
        with pytest.raises(Forbidden):
            managed_institution(caller, asked)
        if asked:
            with pytest.raises(Forbidden):
                require_manager_of(caller, asked)
    else:
        assert managed_institution(caller, asked) == allowed


def test_password_policy() -> None:
    assert password_problem("short", "li") == "must be at least 10 characters"
    assert password_problem("li.wei-password", "li.wei") == "must not contain the username"
    assert password_problem("x" * 201, "li") == "must be at most 200 characters"
    assert password_problem("correct-horse-battery", "li.wei") is None


def test_roles_an_admin_may_give() -> None:
    assert roles_problem(frozenset(), by_platform_admin=True) == "at least one role is needed"
    assert "unknown" in (roles_problem(frozenset({"wizard"}), by_platform_admin=True) or "")
    assert roles_problem(frozenset({"platform-admin"}), by_platform_admin=False) is not None
    assert roles_problem(frozenset({"platform-admin"}), by_platform_admin=True) is None
    assert roles_problem(frozenset({"patron", "staff", "institution-admin"}), by_platform_admin=False) is None


def test_pickup_location_must_be_offered() -> None:
    assert pickup_problem(None, []) is None
    assert pickup_problem("Main Desk", ["Main Desk"]) is None
    assert "offered: Main Desk" in (pickup_problem("Back Door", ["Main Desk"]) or "")
    assert "offered: none" in (pickup_problem("Back Door", []) or "")
