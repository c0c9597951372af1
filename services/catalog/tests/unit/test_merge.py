"""The union record takes each field from the member with the most complete version of it."""

from __future__ import annotations

from bibliomesh_catalog.domain.display import ClusterDisplay
from bibliomesh_catalog.domain.merge import merge_display
from bibliomesh_catalog.domain.records import RecordDescription


def test_each_field_comes_from_the_most_complete_member() -> None:
    sparse = RecordDescription(title="Pragmatic programmer", authors=["Hunt, Andrew"], year=1999,
                               isbns=["9780201616224"], publisher="Addison-Wesley")
    rich = RecordDescription(title="The pragmatic programmer : from journeyman to master",
                             authors=["Hunt, Andrew", "Thomas, David"], year=1999, isbns=["9780201616224"],
                             oclc_numbers=["42061052"], subjects=["Computer programming"], extent="xxiv, 321 p.",
                             publisher="Addison-Wesley", place="Reading, Mass.", alt_titles=["程序员修炼之道"])
    third = RecordDescription(title="Pragmatic programmer", year=2000, isbns=["9780201616224", "9780132119177"],
                              lccns=["99043581"], publisher="Addison-Wesley Longman")
    display = merge_display([(3, third), (1, sparse), (2, rich)], "print")
    union = ClusterDisplay.model_validate(display)
    assert union.title == "The pragmatic programmer : from journeyman to master"
    assert union.authors == ["Hunt, Andrew", "Thomas, David"]
    assert union.publisher == "Addison-Wesley Longman"  # the longest statement
    assert union.year == 1999  # what most members say
    assert union.isbns == ["9780201616224", "9780132119177"]  # identifiers: the union
    assert union.oclc_numbers == ["42061052"] and union.lccns == ["99043581"]
    assert union.extent == "xxiv, 321 p." and union.place == "Reading, Mass."
    assert display["alt_titles"] == ["程序员修炼之道"]


def test_a_single_member_is_its_own_display() -> None:
    alone = RecordDescription(title="Alone", authors=["X, Y"], year=2001, isbns=["9780306406157"])
    display = merge_display([(1, alone)], "electronic")
    assert ClusterDisplay.model_validate(display).model_dump() == {**ClusterDisplay(
        title="Alone", authors=["X, Y"], year=2001, isbns=["9780306406157"], format="electronic").model_dump()}
