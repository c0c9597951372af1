"""From a provider's claims to an account and roles: the rules institutions write."""

import pytest

from bibliomesh_auth.federation.errors import NoRoleGranted, UntrustedAnswer
from bibliomesh_auth.federation.mapping import ClaimNames, RoleRules, affiliations_of, map_identity

RULES = RoleRules.of({"student": ["patron"], "faculty": ["patron"], "Staff": ["patron", "staff"]})


def test_roles_are_the_union_over_every_affiliation() -> None:
    identity = map_identity({"sub": "s1", "eduPersonAffiliation": ["student", "staff", "member"]}, ClaimNames(),
                            RULES)
    assert identity.roles == {"patron", "staff"} and identity.affiliations == ("member", "staff", "student")


@pytest.mark.parametrize(("value", "expected"), [
    (["Faculty", "member"], ("faculty", "member")),
    ("student member", ("member", "student")),
    ("staff,member", ("member", "staff")),
    (["staff@uni.example"], ("staff",)),  # eduPersonScopedAffiliation: no scopes configured, none checked
    (None, ()),
])
def test_affiliations_come_as_lists_or_strings(value: object, expected: tuple[str, ...]) -> None:
    assert affiliations_of(value) == (expected, ())


def test_a_scoped_affiliation_counts_only_at_the_institutions_own_scopes() -> None:
    # One provider for a university and its branch: staff at the branch is not staff at the main library.
    rules = RoleRules.of({"staff": ["patron", "staff"], "member": ["patron"]},
                         affiliation_scopes=["Main.Uni.Example", "uni.example"])
    claims = {"sub": "s1", "eduPersonScopedAffiliation": ["staff@branch.uni.example", "member@uni.example",
                                                          "student"]}
    identity = map_identity(claims, ClaimNames(affiliation="eduPersonScopedAffiliation"), rules)
    assert identity.roles == {"patron"} and identity.affiliations == ("member", "student")
    assert identity.out_of_scope == ("staff@branch.uni.example",)
    with pytest.raises(NoRoleGranted, match="another institution's scope"):
        map_identity({"sub": "s2", "eduPersonScopedAffiliation": "staff@evil.example"},
                     ClaimNames(affiliation="eduPersonScopedAffiliation"), rules)
    assert affiliations_of("STAFF@MAIN.UNI.EXAMPLE", rules.affiliation_scopes) == (("staff",), ())


def test_no_matching_rule_falls_back_to_default_roles_and_refuses_without_them() -> None:
    claims = {"sub": "s1", "eduPersonAffiliation": ["affiliate"]}
    with pytest.raises(NoRoleGranted):
        map_identity(claims, ClaimNames(), RULES)
    lenient = RoleRules.of({"student": ["patron"]}, default_roles=["patron"])
    assert map_identity(claims, ClaimNames(), lenient).roles == {"patron"}


def test_the_institution_chooses_which_claims_to_read() -> None:
    names = ClaimNames(username="uid", email="mail", name="displayName", affiliation="role")
    claims = {"sub": "s1", "uid": "zhang.san", "mail": "zs@uni.example", "displayName": "张三", "role": "faculty",
              "preferred_username": "ignored"}
    identity = map_identity(claims, names, RULES)
    assert (identity.username, identity.email, identity.display_name) == ("zhang.san", "zs@uni.example", "张三")


def test_missing_username_falls_back_to_the_subject_and_unverified_email_is_dropped() -> None:
    identity = map_identity({"sub": "opaque-123", "email": "x@uni.example", "email_verified": False,
                             "eduPersonAffiliation": "student"}, ClaimNames(), RULES)
    assert identity.username == "opaque-123" and identity.email is None


def test_a_subject_is_required() -> None:
    with pytest.raises(UntrustedAnswer):
        map_identity({"eduPersonAffiliation": "student"}, ClaimNames(), RULES)


def test_rules_report_every_role_they_can_grant() -> None:
    assert RoleRules.of({"a": ["patron"]}, ["staff"]).granted_roles() == {"patron", "staff"}


def test_claims_are_kept_as_plain_text_that_no_spreadsheet_runs() -> None:
    """A provider's claims end up in the account staff list and export: what an API call or an import would refuse
    is made harmless instead (the person still gets in), and a subject with control characters is not trusted."""
    claims = {"sub": "s1", "eduPersonAffiliation": "student", "preferred_username": "zhang\x00san\n",
              "name": "=HYPERLINK(\"https://evil.example\",\"Zhang\")", "email": "=cmd@uni.example"}
    identity = map_identity(claims, ClaimNames(), RULES)
    assert identity.username == "zhangsan"
    assert identity.display_name == 'HYPERLINK("https://evil.example","Zhang")'
    assert identity.email is None
    assert map_identity({**claims, "name": "\t+-@=", "email": "zs@uni.example"}, ClaimNames(), RULES
                        ).display_name is None
    with pytest.raises(UntrustedAnswer):
        map_identity({**claims, "sub": "s1\x00"}, ClaimNames(), RULES)
