"""Which libraries count as one for a patron: the same one, or libraries of one university."""

import pytest

from bibliomesh_notify.domain.affiliation import Affiliation, Library, affiliation, same_university

U1, U2 = Library("CN-U1", None), Library("CN-U2", None)
U1_LAW, U1_MED = Library("CN-U1-LAW", "CN-U1"), Library("CN-U1-MED", "CN-U1")
U2_LAW = Library("CN-U2-LAW", "CN-U2")


@pytest.mark.parametrize(("a", "b", "together"), [
    (U1, U1, True), (U1_LAW, U1_LAW, True),
    (U1_LAW, U1, True), (U1, U1_LAW, True), (U1_LAW, U1_MED, True),
    (U1, U2, False), (U1_LAW, U2, False), (U2, U1_LAW, False), (U1_LAW, U2_LAW, False),
    (Library("CN-PL", None), Library("CN-PL2", None), False),  # two parentless libraries share no university
])
def test_same_university(a: Library, b: Library, together: bool) -> None:
    assert same_university(a, b) is together


U1_ENG_UNKNOWN = Library("CN-U1-ENG", None, parent_known=False)  # copied before notify kept parent codes
U1_UNKNOWN = Library("CN-U1", None, parent_known=False)


@pytest.mark.parametrize(("a", "b", "found"), [
    (U1_LAW, U1, Affiliation.SAME), (U1, U2, Affiliation.OTHER),
    (U1_ENG_UNKNOWN, U1, Affiliation.UNKNOWN),  # may be U1's branch: not known to be another university's
    (U1, U1_ENG_UNKNOWN, Affiliation.UNKNOWN), (U1_ENG_UNKNOWN, U2_LAW, Affiliation.UNKNOWN),
    (U1_LAW, U1_UNKNOWN, Affiliation.SAME),  # what is known already says it
    (U1_UNKNOWN, U1_UNKNOWN, Affiliation.SAME),
])
def test_affiliation_is_unknown_only_while_a_missing_parent_could_still_make_them_one(
        a: Library, b: Library, found: Affiliation) -> None:
    assert affiliation(a, b) is found
