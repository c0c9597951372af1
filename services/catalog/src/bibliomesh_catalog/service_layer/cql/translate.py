"""CQL syntax trees into the catalogue's search tree, or the SRU diagnostic that says what is not supported.

Indexes: cql.anywhere / cql.serverChoice (every text field), dc.title, dc.creator, dc.subject, dc.publisher,
dc.date (publication year), bath.isbn, bath.issn, rec.id (cluster id), cql.allRecords. Relations on text:
`=` and `all` (every word), `any` (some word), `adj` and `==` (the words as a phrase); dc.date also takes
`<`, `>`, `<=`, `>=`. A trailing `*` on a word matches word beginnings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bibliomesh_catalog.adapters.search.identifiers import identifier_token, normalize_isbn, normalize_issn
from bibliomesh_catalog.adapters.search.query import (
    And,
    AndNot,
    ClusterIds,
    Field,
    Match,
    Node,
    Or,
    Sort,
    YearRange,
)
from bibliomesh_catalog.adapters.search.text import is_cjk_token, phrase_tokens
from bibliomesh_catalog.service_layer.cql.diagnostics import Diagnostic
from bibliomesh_catalog.service_layer.cql.parser import Clause, CqlQuery, SearchClause, SortKey

TEXT_INDEXES = {"cql.anywhere": Field.ANY, "cql.serverchoice": Field.ANY, "dc.title": Field.TITLE,
                "dc.creator": Field.AUTHOR, "dc.subject": Field.SUBJECT, "dc.publisher": Field.PUBLISHER}
OTHER_INDEXES = ("bath.isbn", "bath.issn", "rec.id", "dc.date", "cql.allrecords")
CONTEXT_SETS = {
    "cql": ("info:srw/cql-context-set/1/cql-v1.2", "info:srw/cql-context-set/1/cql-v1.1"),
    "dc": ("info:srw/cql-context-set/1/dc-v1.1",),
    "bath": ("http://zing.z3950.org/cql/bath/2.0/",),
    "rec": ("info:srw/cql-context-set/2/rec-1.1", "info:srw/cql-context-set/2/rec-1.0"),
}
_UNQUALIFIED = {name.split(".", 1)[1]: name for name in (*TEXT_INDEXES, *OTHER_INDEXES)}
_UNQUALIFIED.update({"author": "dc.creator", "id": "rec.id"})
TEXT_RELATIONS = ("=", "==", "all", "any", "adj")
YEAR_RELATIONS = ("=", "==", "<", ">", "<=", ">=")
EVERYTHING = YearRange()  # no bounds: every document


@dataclass(frozen=True)
class Translation:
    """The search tree (None: every record) and the order `sortby` asked for."""

    query: Node | None
    sort: Sort | None = None


def _resolve_index(name: str | None, prefixes: dict[str, str]) -> str:
    if name is None:
        return "cql.serverchoice"
    lowered = name.lower()
    if "." not in lowered:
        if lowered in _UNQUALIFIED:
            return _UNQUALIFIED[lowered]
        raise Diagnostic(16, name)
    prefix, index = lowered.split(".", 1)
    if prefix in prefixes:  # a prefix assigned in the query: map it to the set its URI names
        known = [s for s, uris in CONTEXT_SETS.items() if prefixes[prefix] in uris]
        if not known:
            raise Diagnostic(15, prefixes[prefix])
        prefix = known[0]
    if prefix not in CONTEXT_SETS:
        raise Diagnostic(15, prefix)
    full = f"{prefix}.{index}"
    if full not in TEXT_INDEXES and full not in OTHER_INDEXES:
        raise Diagnostic(16, name)
    return full


def _word(raw: str) -> tuple[str, bool]:
    """A word without its masking: (text, prefix). Unsupported masking and anchoring are diagnosed."""
    unescaped = re.sub(r"\\.", "", raw)
    if "^" in unescaped:
        raise Diagnostic(31, raw)
    if "?" in unescaped or "*" in unescaped.rstrip("*"):
        raise Diagnostic(28, raw)
    prefix = unescaped.endswith("*") and not raw.endswith("\\*")
    text = raw[:-1].rstrip("*") if prefix else raw
    return re.sub(r"\\(.)", r"\1", text), prefix


def _match(field: Field, raw: str) -> Node:
    text, prefix = _word(raw)
    tokens = tuple(phrase_tokens(text))
    if not tokens:
        raise Diagnostic(27, raw)
    if prefix and is_cjk_token(tokens[-1]):
        prefix = False
    return Match(field, tokens, prefix=prefix)


def _text_clause(field: Field, relation: str, term: str) -> Node:
    if relation not in TEXT_RELATIONS:
        raise Diagnostic(19, relation)
    if relation in ("adj", "=="):
        return _match(field, term)
    words = [_match(field, w) for w in term.split()]
    if not words:
        raise Diagnostic(27, term)
    if len(words) == 1:
        return words[0]
    return Or(tuple(words)) if relation == "any" else And(tuple(words))


def _list_clause(relation: str, values: list[Node]) -> Node:
    if len(values) == 1:
        return values[0]
    return Or(tuple(values)) if relation == "any" else And(tuple(values))


def _identifier(kind: str, value: str) -> Node:
    normalized = (normalize_isbn if kind == "isbn" else normalize_issn)(value)
    if normalized is None:
        raise Diagnostic(36, value)
    return Match(Field.IDENTIFIER, (identifier_token(kind, normalized),))


def _year(relation: str, term: str) -> Node:
    if relation not in YEAR_RELATIONS:
        raise Diagnostic(19, relation)
    if not re.fullmatch(r"\d{1,4}", term.strip()):
        raise Diagnostic(36, term)
    year = int(term)
    return {"=": YearRange(year, year), "==": YearRange(year, year), "<": YearRange(None, year - 1),
            ">": YearRange(year + 1, None), "<=": YearRange(None, year), ">=": YearRange(year, None)}[relation]


def _search_clause(clause: SearchClause, prefixes: dict[str, str]) -> Node:
    index = _resolve_index(clause.index, prefixes)
    relation = clause.relation or "="
    if clause.modifiers:
        raise Diagnostic(20, "/".join(m.name for m in clause.modifiers))
    if index in TEXT_INDEXES:
        return _text_clause(TEXT_INDEXES[index], relation, clause.term)
    if index == "dc.date":
        return _year(relation, clause.term)
    if relation not in TEXT_RELATIONS:
        raise Diagnostic(19, relation)
    if index == "cql.allrecords":
        return EVERYTHING
    values = clause.term.split()
    if not values:
        raise Diagnostic(27, clause.term)
    if index == "rec.id":
        if not all(v.isdigit() and len(v) < 19 for v in values):
            raise Diagnostic(36, clause.term)
        ids = tuple(int(v) for v in values)
        return ClusterIds(ids) if relation == "any" or len(ids) == 1 else And(tuple(ClusterIds((i,)) for i in ids))
    return _list_clause(relation, [_identifier(index.split(".")[1], v) for v in values])


def _clause(clause: Clause, prefixes: dict[str, str]) -> Node:
    if isinstance(clause, SearchClause):
        return _search_clause(clause, prefixes)
    if clause.modifiers:
        raise Diagnostic(46, "/".join(m.name for m in clause.modifiers))
    left, right = _clause(clause.left, prefixes), _clause(clause.right, prefixes)
    if clause.op == "and":
        return And((left, right))
    if clause.op == "or":
        return Or((left, right))
    if clause.op == "not":
        return AndNot(left, right)
    raise Diagnostic(37, clause.op)


def _sort(keys: tuple[SortKey, ...], prefixes: dict[str, str]) -> Sort | None:
    if not keys:
        return None
    key = keys[0]
    index = _resolve_index(key.index, prefixes)
    descending = any(m.name.lower() == "sort.descending" for m in key.modifiers)
    if index == "dc.title":
        return "title"
    if index == "dc.date":
        return "year_desc" if descending else "year_asc"
    raise Diagnostic(80, f"cannot sort by {key.index}; sort by dc.title or dc.date")


def translate(query: CqlQuery) -> Translation:
    """The search tree of a parsed CQL query; raises Diagnostic for what the catalogue does not support."""
    node = _clause(query.root, query.prefixes)
    return Translation(None if node == EVERYTHING else node, _sort(query.sort_keys, query.prefixes))

