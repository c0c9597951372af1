from bibliomesh_ill.domain.citations import identifiers_of, isbn13


def test_isbns_as_typed_become_isbn13() -> None:
    assert isbn13("0-306-40615-2 (pbk.)") == "9780306406157"
    assert isbn13("978-0-306-40615-7") == "9780306406157"
    assert isbn13("080442957x") == "9780804429573"


def test_an_x_anywhere_but_the_isbn10_check_digit_is_no_isbn() -> None:
    for typed in ("X123456789", "03064X6152", "978030640615X", "12345"):
        assert isbn13(typed) is None, typed
    assert identifiers_of({"isbn": "X123456789", "issn": "0378-5955"}) == {("issn", "0378-5955")}
