"""Which libraries count as one for a patron: the same one, or libraries of one university."""

import pytest

from bibliomesh_notify.domain.affiliation import Library, same_university

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
