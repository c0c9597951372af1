"""When two member records describe the same edition.

Candidates share a key: OCLC number, LCCN, ISBN, ISSN, or title + first author + year (the title may also be a
parallel title in another script, so a romanized record and a Chinese one meet on the Chinese title). A shared key
is only a reason to look; the pair merges unless something contradicts it (`contradiction`):

- format: print and electronic never merge; when nothing else contradicts, they are the same work (`same_work`).
- volumes: both name a volume and they differ, or one is a volume and the other the whole set.
- editions: both state an edition number and they differ; with only a title key, an edition of 2 or more on one
  side and none on the other also contradicts (first editions rarely say so, later ones do).
- year: more than a year apart; one year apart is accepted with an identifier (copyright vs. publication date,
  December imprints), never on the title key alone (the key holds the year). Reprints with a new date are
  therefore separate clusters.
- pages differ by more than 10 and by more than 10 %; series numbers differ; both have ISSNs and share none;
  on the title key alone, both have ISBNs and share none.
- title: normalized titles must agree (equal, one the other without its subtitle, or similarity >= 0.85 with
  no conflicting numbers: "5th conference" vs "6th conference"). Titles in different scripts (a Chinese title
  and its pinyin) cannot be compared: with an identifier they do not veto; with the title key alone they match
  only through a parallel title in the same script. Common traditional characters count as simplified.
- authors (identifier matches): both present, same script, and not one word in common.

Clusters are connected components of accepted pairs, built strongest key first, and a record joins a cluster only
if it contradicts none of its members (so a chain cannot join volume 1 to volume 2 through a set record).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from difflib import SequenceMatcher

from bibliomesh_catalog.domain.identifiers import has_cjk, normalize_text, title_key
from bibliomesh_catalog.domain.records import RecordDescription, match_keys

STRENGTH = {"override": 9, "oclc": 5, "lccn": 4, "isbn": 4, "issn": 3, "title": 1}
TITLE_SIMILARITY = 0.85
_IDENTIFIERS = ("oclc", "lccn", "isbn", "issn")


@dataclass(slots=True)
class MatchProfile:
    """What matching compares, derived from a record's description."""

    node: int
    format: str
    titles: tuple[str, ...]
    title_proper: str
    author: str
    author_words: frozenset[str]
    year: int | None
    isbns: frozenset[str]
    issns: frozenset[str]
    oclc: frozenset[str]
    lccns: frozenset[str]
    title_keys: frozenset[str]
    volume: str | None
    is_set: bool
    edition: str | None
    pages: int | None
    series_number: str | None


def profile_of(node: int, description: RecordDescription) -> MatchProfile:
    """The match profile of one record."""
    titles = [title_key(description.title, description.nonfiling), description.title_key]
    for alt in description.alt_titles:
        titles += [title_key(alt), title_key(alt.split(" : ", 1)[0])]
    authors = [normalize_text(a) for a in description.authors[:1]]
    tkey = description.title_key
    return MatchProfile(
        node=node, format=description.format, titles=tuple(t for t in dict.fromkeys(titles) if t),
        title_proper=tkey, author=description.author_key,
        author_words=frozenset(w for a in authors for w in a.split() if len(w) > 1 or has_cjk(w)),
        year=description.year, isbns=frozenset(description.isbns), issns=frozenset(description.issns),
        oclc=frozenset(description.oclc_numbers), lccns=frozenset(description.lccns),
        title_keys=frozenset(value for kind, value in match_keys(description) if kind == "title"),
        volume=description.volume, is_set=description.is_set, edition=description.edition_number,
        pages=description.pages, series_number=description.series_number,
    )


@dataclass(frozen=True, slots=True)
class Decision:
    """The verdict on a pair: merge (with the key that joined them), same work in another format, or neither."""

    merge: bool
    key: str | None = None
    strength: int = 0
    reason: str = ""
    same_work: bool = False


def shared_key(a: MatchProfile, b: MatchProfile) -> tuple[str, str] | None:
    """The strongest key the two records share, as (kind, value)."""
    for kind, left, right in (("oclc", a.oclc, b.oclc), ("lccn", a.lccns, b.lccns), ("isbn", a.isbns, b.isbns),
                              ("issn", a.issns, b.issns)):
        common = left & right
        if common:
            return kind, min(common)
    common_titles = a.title_keys & b.title_keys
    if common_titles:
        return "title", min(common_titles)
    return None


def compare(a: MatchProfile, b: MatchProfile) -> Decision:
    """Decide whether two records describe the same edition (see the module docstring for the rules)."""
    key = shared_key(a, b)
    if key is None:
        return Decision(False, reason="no shared key")
    kind, value = key
    reason = contradiction(a, b, by_identifier=kind in _IDENTIFIERS, ignore_format=True)
    if reason:
        return Decision(False, reason=reason)
    if a.format != b.format:
        return Decision(False, reason="print and electronic versions are separate clusters", same_work=True)
    return Decision(True, key=f"{kind}:{value}", strength=STRENGTH[kind], reason=f"shared {kind}")


def contradiction(a: MatchProfile, b: MatchProfile, *, by_identifier: bool = True,
                  ignore_format: bool = False) -> str | None:
    """Why the two cannot be the same edition, or None when nothing contradicts it."""
    if not ignore_format and a.format != b.format:
        return "different formats"
    volume = _volume_conflict(a, b)
    if volume:
        return volume
    if a.edition and b.edition and a.edition != b.edition:
        return "different editions"
    if not by_identifier and (_later_edition(a.edition) != _later_edition(b.edition)):
        return "one states a later edition, the other none"
    if a.year is not None and b.year is not None and abs(a.year - b.year) > (1 if by_identifier else 0):
        return "publication years differ"
    if a.pages and b.pages and abs(a.pages - b.pages) > max(10, 0.1 * max(a.pages, b.pages)):
        return "page counts differ"
    if a.series_number and b.series_number and a.series_number != b.series_number:
        return "different numbers in the series"
    if a.issns and b.issns and not a.issns & b.issns:
        return "different ISSNs"
    if not by_identifier and a.isbns and b.isbns and not a.isbns & b.isbns:
        return "different ISBNs"
    agree = titles_agree(a, b)
    if agree is False:
        return "titles differ"
    if by_identifier and a.author_words and b.author_words and not a.author_words & b.author_words \
            and has_cjk(a.author) == has_cjk(b.author):
        return "authors differ"
    return None


def _volume_conflict(a: MatchProfile, b: MatchProfile) -> str | None:
    if a.volume and b.volume and a.volume != b.volume:
        return "different volumes"
    if (a.volume and b.is_set and not b.volume) or (b.volume and a.is_set and not a.volume):
        return "a single volume and the whole set"
    return None


def _later_edition(edition: str | None) -> bool:
    return edition is not None and edition != "1"


def titles_agree(a: MatchProfile, b: MatchProfile) -> bool | None:
    """True if some pair of titles in the same script agrees, False if all such pairs disagree, None if no pair
    is in the same script (a Chinese title and its romanization)."""
    if has_cjk(a.titles[0]) == has_cjk(b.titles[0]) and _numbers_conflict(a.titles[0], b.titles[0]) \
            and not _is_prefix(a.titles[0], b.titles[0]):
        return False
    comparable = False
    for left in a.titles:
        for right in b.titles:
            if has_cjk(left) != has_cjk(right):
                continue
            comparable = True
            if _title_pair_agrees(left, right):
                return True
    if a.title_proper and a.title_proper == b.title_proper and not _numbers_conflict(a.titles[0], b.titles[0]):
        return True
    return False if comparable else None


def _title_pair_agrees(left: str, right: str) -> bool:
    if left == right:
        return True
    if _is_prefix(left, right):
        return True  # one of them without its subtitle
    if _numbers_conflict(left, right):
        return False
    matcher = SequenceMatcher(None, left, right, autojunk=False)
    return matcher.real_quick_ratio() >= TITLE_SIMILARITY and matcher.ratio() >= TITLE_SIMILARITY


def _is_prefix(left: str, right: str) -> bool:
    shorter, longer = sorted((left, right), key=len)
    return longer.startswith(shorter) and longer[len(shorter):len(shorter) + 1] in (" ", "") \
        and (len(shorter) >= 8 or " " in shorter or has_cjk(shorter))


def _numbers_conflict(left: str, right: str) -> bool:
    """Both titles carry numbers (volume, conference, year) and not the same ones."""
    mine, theirs = _numbers(left), _numbers(right)
    return bool(mine and theirs and mine != theirs)


def _numbers(title: str) -> frozenset[str]:
    return frozenset(word.lstrip("0") for word in title.split() if word.isdigit())


@dataclass
class ClusterPlan:
    """Components of accepted pairs, the key that joined each record, and the work links between components."""

    components: list[list[int]]
    joined_by: dict[int, str]
    same_work: list[tuple[int, int]]


_CROSS_CHECK_LIMIT = 50


def build_clusters(profiles: dict[int, MatchProfile], pairs: Collection[tuple[int, int]],
                   links: Collection[tuple[int, int]] = (), splits: Collection[frozenset[int]] = ()
                   ) -> ClusterPlan:
    """Cluster `profiles` given the candidate `pairs` (records sharing a key) and staff decisions: `links` are
    merged whatever the rules say, `splits` never end up together. Deterministic for the same input."""
    parent = {node: node for node in profiles}
    members = {node: [node] for node in profiles}

    def find(node: int) -> int:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    edges: list[tuple[int, int, int, str]] = []
    work: list[tuple[int, int]] = []
    for a, b in sorted(pairs):
        decision = compare(profiles[a], profiles[b])
        if decision.merge and decision.key:
            edges.append((-decision.strength, a, b, decision.key))
        elif decision.same_work:
            work.append((a, b))
    splits = set(splits)
    forced = sorted((-STRENGTH["override"], min(pair), max(pair), "override") for pair in links
                    if pair[0] in profiles and pair[1] in profiles)
    joined: dict[int, str] = {}
    for _, a, b, key in [*forced, *sorted(edges)]:
        root_a, root_b = find(a), find(b)
        if root_a != root_b:
            if not _compatible(profiles, members[root_a], members[root_b], splits, key == "override"):
                continue
            if len(members[root_a]) < len(members[root_b]):
                root_a, root_b = root_b, root_a
            parent[root_b] = root_a
            members[root_a].extend(members.pop(root_b))
        joined.setdefault(a, key)
        joined.setdefault(b, key)
    components = sorted(sorted(group) for group in members.values())
    same_work = sorted({tuple(sorted((find(a), find(b)))) for a, b in work if find(a) != find(b)})
    roots = {find(group[0]): group[0] for group in components}
    return ClusterPlan(components=components, joined_by=joined,
                       same_work=[(roots[a], roots[b]) for a, b in same_work])


def _compatible(profiles: dict[int, MatchProfile], left: list[int], right: list[int],
                splits: Collection[frozenset[int]], forced: bool) -> bool:
    if splits and any(frozenset((x, y)) in splits for x in left for y in right):
        return False
    if forced:
        return True
    for x in left[:_CROSS_CHECK_LIMIT]:
        for y in right[:_CROSS_CHECK_LIMIT]:
            if contradiction(profiles[x], profiles[y], by_identifier=True):
                return False
    return True
