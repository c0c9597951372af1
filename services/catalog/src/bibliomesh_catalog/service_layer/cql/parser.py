"""A CQL 1.2 parser (Contextual Query Language, the query language of SRU): text in, syntax tree out.

    cqlQuery      ::= prefixAssignment* scopedClause [sortby sortSpec]
    scopedClause  ::= searchClause (boolean modifier* searchClause)*       (left to right, no precedence)
    searchClause  ::= '(' cqlQuery ')' | index relation modifier* term | term
    relation      ::= '=' | '==' | '<' | '>' | '<=' | '>=' | '<>' | name (all, any, adj, within, ...)
    modifier      ::= '/' name [comparison value]
    prefix        ::= '>' [name '='] term

Words and relation names are case-insensitive; terms keep their case. Quoted terms take `\\"` and `\\\\`; other
backslash escapes (`\\*`, `\\?`) are kept so masking can be told from a literal character.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

BOOLEANS = ("and", "or", "not", "prox")
_SYMBOLS = ("==", "<=", ">=", "<>", "=", "<", ">", "(", ")", "/")
_TOKEN = re.compile(r'\s*(?:(?P<quoted>"(?:[^"\\]|\\.)*")|(?P<symbol>==|<=|>=|<>|[=<>()/])|(?P<word>[^\s()=<>"/]+))')


class CqlSyntaxError(ValueError):
    """The query is not CQL; `position` is the character offset where parsing stopped."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} (at character {position + 1})")
        self.position = position


@dataclass(frozen=True)
class Modifier:
    """`/name`, `/name=value` on a relation or boolean."""

    name: str
    comparison: str | None = None
    value: str | None = None


@dataclass(frozen=True)
class SearchClause:
    """`index relation term`; index and relation are None for a bare term (server's choice)."""

    term: str
    index: str | None = None
    relation: str | None = None
    modifiers: tuple[Modifier, ...] = ()


@dataclass(frozen=True)
class BooleanClause:
    """`left op right`; op is and, or, not or prox (lower case)."""

    op: str
    left: Clause
    right: Clause
    modifiers: tuple[Modifier, ...] = ()


Clause = SearchClause | BooleanClause


@dataclass(frozen=True)
class SortKey:
    """One `sortby` key and its modifiers (e.g. sort.descending)."""

    index: str
    modifiers: tuple[Modifier, ...] = ()


@dataclass(frozen=True)
class CqlQuery:
    """A parsed query: the clause tree, the `sortby` keys and the prefix assignments (prefix -> URI)."""

    root: Clause
    sort_keys: tuple[SortKey, ...] = ()
    prefixes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Token:
    kind: str  # quoted | symbol | word | end
    text: str
    position: int

    def is_word(self, *words: str) -> bool:
        return self.kind == "word" and self.text.lower() in words


def _tokens(query: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(query):
        match = _TOKEN.match(query, position)
        if match is None or match.end() == position:
            if query[position:].strip() == "":
                break
            start = position + len(query[position:]) - len(query[position:].lstrip())
            raise CqlSyntaxError("unterminated quoted term" if query[start] == '"' else "unexpected character",
                                 start)
        kind = match.lastgroup or "word"
        tokens.append(_Token(kind, match.group(kind), match.start(kind)))
        position = match.end()
    tokens.append(_Token("end", "", len(query)))
    return tokens


def _unquote(token: _Token) -> str:
    if token.kind != "quoted":
        return token.text
    return re.sub(r'\\(["\\])', r"\1", token.text[1:-1])


class _Parser:
    def __init__(self, query: str) -> None:
        self.tokens = _tokens(query)
        self.at = 0

    @property
    def current(self) -> _Token:
        return self.tokens[self.at]

    def peek(self, ahead: int = 1) -> _Token:
        return self.tokens[min(self.at + ahead, len(self.tokens) - 1)]

    def take(self) -> _Token:
        token = self.current
        self.at += 1
        return token

    def expect_term(self, what: str) -> _Token:
        token = self.current
        if token.kind not in ("word", "quoted"):
            raise CqlSyntaxError(f"expected {what}", token.position)
        return self.take()

    def query(self, top: bool) -> CqlQuery:
        prefixes: dict[str, str] = {}
        while self.current.kind == "symbol" and self.current.text == ">":
            self.take()
            if self.peek().kind == "symbol" and self.peek().text == "=":
                name = self.expect_term("a prefix name").text
                self.take()
            else:
                name = ""
            prefixes[name] = _unquote(self.expect_term("a context set URI"))
        root = self.scoped_clause()
        sort_keys: tuple[SortKey, ...] = ()
        if top and self.current.is_word("sortby"):
            self.take()
            sort_keys = self.sort_spec()
        return CqlQuery(root, sort_keys, prefixes)

    def scoped_clause(self) -> Clause:
        clause = self.search_clause()
        while self.current.kind == "word" and self.current.text.lower() in BOOLEANS:
            op = self.take().text.lower()
            modifiers = self.modifiers()
            clause = BooleanClause(op, clause, self.search_clause(), modifiers)
        return clause

    def search_clause(self) -> Clause:
        token = self.current
        if token.kind == "symbol" and token.text == "(":
            self.take()
            inner = self.query(top=False)
            if self.current.kind != "symbol" or self.current.text != ")":
                raise CqlSyntaxError("expected ')'", self.current.position)
            self.take()
            return inner.root
        first = self.expect_term("a search term")
        if self._relation_follows():
            relation = self.take().text.lower()
            modifiers = self.modifiers()
            term = self.expect_term("a search term after the relation")
            return SearchClause(_unquote(term), first.text, relation, modifiers)
        return SearchClause(_unquote(first))

    def _relation_follows(self) -> bool:
        following = self.current
        if following.kind == "symbol":
            return following.text in _SYMBOLS[:7]
        if following.kind != "word" or following.text.lower() in (*BOOLEANS, "sortby"):
            return False
        after = self.peek()
        return after.kind in ("word", "quoted") or (after.kind == "symbol" and after.text == "/")

    def modifiers(self) -> tuple[Modifier, ...]:
        found = []
        while self.current.kind == "symbol" and self.current.text == "/":
            self.take()
            name = self.expect_term("a modifier name").text
            if self.current.kind == "symbol" and self.current.text in _SYMBOLS[:7]:
                comparison = self.take().text
                found.append(Modifier(name, comparison, _unquote(self.expect_term("a modifier value"))))
            else:
                found.append(Modifier(name))
        return tuple(found)

    def sort_spec(self) -> tuple[SortKey, ...]:
        keys = []
        while self.current.kind in ("word", "quoted"):
            keys.append(SortKey(_unquote(self.take()), self.modifiers()))
        if not keys:
            raise CqlSyntaxError("expected a sort key after sortby", self.current.position)
        return tuple(keys)


def parse(query: str) -> CqlQuery:
    """Parse a CQL query; raises CqlSyntaxError with the position of the problem."""
    if not query.strip():
        raise CqlSyntaxError("empty query", 0)
    parser = _Parser(query)
    parsed = parser.query(top=True)
    if parser.current.kind != "end":
        raise CqlSyntaxError(f"unexpected {parser.current.text!r}", parser.current.position)
    return parsed
