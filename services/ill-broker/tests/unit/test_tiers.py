from bibliomesh_ill.domain.tiers import Member, Tier, tier_between


def member(code: str, kind: str = "university", parent: str | None = None, regions: set[str] | None = None,
           open_sharing: bool = True, active: bool = True) -> Member:
    return Member(code=code, kind=kind, parent_code=parent, regions=frozenset(regions or set()),
                  open_sharing=open_sharing, active=active)


def test_sister_branches_and_their_university_share_the_first_tier() -> None:
    branch = member("U1-ENG", "branch-library", "U1", {"R"})
    assert tier_between(branch, member("U1-MED", "branch-library", "U1", {"R"})) is Tier.UNIVERSITY
    assert tier_between(branch, member("U1", regions={"R"})) is Tier.UNIVERSITY
    assert tier_between(member("U1", regions={"R"}), branch) is Tier.UNIVERSITY


def test_region_then_open_sharing_then_nothing() -> None:
    borrower = member("U1", regions={"R"})
    assert tier_between(borrower, member("PL", "public-library", regions={"R"})) is Tier.REGION
    assert tier_between(borrower, member("FAR", regions={"OTHER"})) is Tier.OPEN
    assert tier_between(borrower, member("CLOSED", regions={"OTHER"}, open_sharing=False)) is None
    assert tier_between(borrower, member("SUSPENDED", regions={"R"}, active=False)) is None
    assert tier_between(borrower, borrower) is None
