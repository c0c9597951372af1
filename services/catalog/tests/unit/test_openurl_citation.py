"""Reading citations out of OpenURL 1.0 KEV and 0.1 query strings."""

from __future__ import annotations

from urllib.parse import parse_qs

from bibliomesh_catalog.domain.citation import parse_citation


def citation_of(query: str):  # type: ignore[no-untyped-def]
    return parse_citation(parse_qs(query))


def test_openurl_1_0_book_with_identifiers_in_rft_id() -> None:
    citation = citation_of(
        "url_ver=Z39.88-2004&rft_val_fmt=info%3Aofi%2Ffmt%3Akev%3Amtx%3Abook&rft.genre=book"
        "&rft.btitle=The+Art+of+Computer+Programming&rft.aulast=Knuth&rft.aufirst=Donald&rft.date=1997-01"
        "&rft.isbn=0-201-89683-4&rft_id=info%3Aoclcnum%2F35318343&rft_id=urn%3AISBN%3A9780201896831"
        "&rft_id=info%3Adoi%2F10.1000%2Fx")
    assert citation.version == "1.0" and citation.genre == "book"
    assert citation.isbns == ("0-201-89683-4", "9780201896831")
    assert citation.oclc_numbers == ("35318343",)
    assert citation.title == "The Art of Computer Programming"
    assert citation.authors == ("Knuth, Donald",)
    assert citation.year == 1997


def test_openurl_1_0_article_keeps_journal_and_article_titles_apart() -> None:
    citation = citation_of("rft.genre=article&rft.atitle=A+study&rft.jtitle=Nature&rft.issn=0028-0836"
                           "&rft.au=Smith%2C+J.&rft.au=Doe%2C+A.&rft.date=2003")
    assert citation.version == "1.0"
    assert (citation.title, citation.article_title) == ("Nature", "A study")
    assert citation.issns == ("0028-0836",) and citation.authors == ("Smith, J.", "Doe, A.")


def test_openurl_0_1_style() -> None:
    citation = citation_of("sid=EBSCO:x&genre=book&isbn=9780262033848&title=Introduction+to+Algorithms"
                           "&aulast=Cormen&date=2009&id=oclcnum:123")
    assert citation.version == "0.1"
    assert citation.isbns == ("9780262033848",) and citation.oclc_numbers == ("123",)
    assert citation.title == "Introduction to Algorithms" and citation.authors == ("Cormen",)
    assert citation.year == 2009


def test_an_openurl_without_identifier_or_title_is_empty() -> None:
    assert citation_of("rft.aulast=Knuth&rft.date=1997").is_empty
    assert citation_of("").is_empty
    assert not citation_of("title=Anything").is_empty
    assert citation_of("rft.date=circa+1900").year is None


def test_only_a_book_or_journal_title_is_looked_for_never_an_article_or_chapter_title() -> None:
    article = citation_of("url_ver=Z39.88-2004&rft_val_fmt=info%3Aofi%2Ffmt%3Akev%3Amtx%3Ajournal"
                          "&rft.atitle=Malcolm+X&rft.issn=1476-4687")
    assert article.format == "journal" and article.is_serial and article.catalogue_title is None
    assert citation_of("rft.genre=article&rft.atitle=A+study&rft.jtitle=Nature").catalogue_title == "Nature"
    assert citation_of("genre=article&atitle=A+study").catalogue_title is None
    chapter = citation_of("rft.genre=bookitem&rft.atitle=Chapter+one&rft.btitle=The+book")
    assert not chapter.is_serial and chapter.catalogue_title == "The book"
    assert citation_of("rft.genre=bookitem&rft.atitle=Chapter+one").catalogue_title is None
    assert citation_of("atitle=Untyped").catalogue_title == "Untyped"
