"""ISBN, ISSN, OCLC and LCCN as the search index keeps them, so a query in any common spelling finds the record.

Identifiers are indexed as tokens with a kind prefix (`isbn9780262033848`, `issn00280836`), which no word of a
title can produce, so a fielded identifier search needs no field restriction on either engine.
"""

from __future__ import annotations

import re

_ISBN_CHARS = re.compile(r"[0-9Xx]")
_ISBN_LABEL = re.compile(r"^isbn(?:-1[03])?:?\s*", re.IGNORECASE)
_ISSN = re.compile(r"^(\d{4})-?(\d{3}[\dXx])")


def _isbn13_check(first12: str) -> str:
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(first12))
    return str((10 - total % 10) % 10)


def normalize_isbn(value: str) -> str | None:
    """The ISBN-13 of an ISBN-10 or -13 in any spelling ("0-262-03384-4 (pbk.)"), or None if it is not one.

    A wrong check digit is tolerated (real records carry them), but the length must be right.
    """
    stripped = _ISBN_LABEL.sub("", value.strip())
    head = stripped.split(" ")[0] if stripped else ""
    chars = "".join(_ISBN_CHARS.findall(head.replace("-", ""))).upper()
    if len(chars) == 13 and chars.isdigit():
        return chars
    if len(chars) == 10 and chars[:9].isdigit():
        first12 = "978" + chars[:9]
        return first12 + _isbn13_check(first12)
    return None


def normalize_issn(value: str) -> str | None:
    """An ISSN as eight characters without the hyphen (`0028-0836` -> `00280836`), or None."""
    match = _ISSN.match(re.sub(r"^issn:?\s*", "", value.strip(), flags=re.IGNORECASE))
    if not match:
        return None
    return (match.group(1) + match.group(2)).upper()


def normalize_oclc(value: str) -> str | None:
    """An OCLC number without prefixes (`(OCoLC)ocm012345` -> `12345`), or None."""
    digits = re.sub(r"^(?:\(OCoLC\))?\s*(?:oc[mn]|on)?", "", value.strip(), flags=re.IGNORECASE).strip()
    digits = digits.lstrip("0")
    return digits if digits.isdigit() else None


def normalize_lccn(value: str) -> str | None:
    """An LCCN without spaces and hyphens, lower-cased (`n 79-21164` -> `n7921164`), or None."""
    compact = re.sub(r"[\s-]", "", value.strip()).lower()
    return compact if compact.isalnum() else None


def identifier_tokens(*, isbns: list[str], issns: list[str], oclc: list[str], lccns: list[str]) -> list[str]:
    """The prefixed tokens of a cluster's identifiers, plus the bare ISBN/ISSN so a keyword search finds them."""
    tokens: list[str] = []
    for kind, values, normalize in (("isbn", isbns, normalize_isbn), ("issn", issns, normalize_issn),
                                    ("oclc", oclc, normalize_oclc), ("lccn", lccns, normalize_lccn)):
        for value in values:
            normalized = normalize(value)
            if normalized:
                tokens.append(f"{kind}{normalized.lower()}")
                if kind in ("isbn", "issn"):
                    tokens.append(normalized.lower())
    return list(dict.fromkeys(tokens))


def identifier_token(kind: str, normalized: str) -> str:
    """The token a normalized identifier of `kind` (isbn, issn, oclc, lccn) is indexed under."""
    return f"{kind}{normalized.lower()}"
