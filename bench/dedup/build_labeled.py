"""Build `bench/dedup/labeled.json`: real Library of Congress records, variants derived from them, and
hand-made Chinese-script records, grouped into editions (every pair inside a group must merge) with explicit
pairs that must not merge.

    .venv/bin/python bench/dedup/build_labeled.py      # deterministic (seeded); rewrites labeled.json

Categories (labels come from how each record was made, never from the matcher):
  recatalogued      the same edition as another library catalogues it: ISBD punctuation, case, subtitle or
                    statement of responsibility dropped, ISBN hyphenated / converted 10<->13 / qualified
                    ("(pbk.)", ": $25.00"), LCCN and OCLC number missing, dates and extent written differently
  no_identifiers    as above, but the copy has no identifier at all (title + author + year only)
  year_off_by_one   the same ISBN, publication year one off (copyright vs. imprint date)       -> must merge
  new_edition       "2nd ed.", four years later, 25 % more pages; new ISBN or the old one reused -> must not
  reprint           the same ISBN, twelve years later, "Reprint" note                            -> must not
  multi_volume      v. 1 and v. 2 sharing the set ISBN (must not); v. 1 from a third library (must merge)
  electronic        the online version: 008/23 `o`, [electronic resource], 856 link, same ISBN -> must not
  same_title        real LoC pairs: same title and year, different authors, no shared identifier -> must not
  isbn_collision    real LoC pairs sharing an ISBN whose titles share no word                    -> must not
  typo              a one-letter typing error in a title word; with the ISBN kept (must merge, similarity
                    allows it) or without any identifier (must merge, but the title key then differs: this is
                    where key-based candidate search loses recall)
  chinese_script    a Chinese-script catalogue's record (245/100 from LoC's 880 fields) of a romanized LoC
                    record with the same ISBN                                                    -> must merge
  chinese_handmade  hand-made records: traditional vs simplified script with the same ISBN (merge), pinyin
                    vs characters with the same ISBN (merge), 上册/下册 (must not), same title from another
                    publisher (must not)
"""

from __future__ import annotations

import copy
import itertools
import json
import random
import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from pymarc import Field, Indicators, MARCReader, Record, Subfield

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.dedup.chinese import handmade  # noqa: E402
from bench.dedup.real_pairs import real_pairs, vernacular  # noqa: E402
from tests.support import testdata  # noqa: E402

OUTPUT = Path(__file__).with_name("labeled.json")
SCAN = 120_000
SEED = 20261128


class Builder:
    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.must_not: list[dict[str, str]] = []
        self.groups = itertools.count(1)
        self.serial = itertools.count(1)
        self.sources: set[str] = set()  # LoC control numbers already used, so no record appears twice

    def add(self, record: Record, institution: str, group: str, category: str) -> str:
        source = record.get("001")
        if source is not None and source.data:
            self.sources.add(source.data)
        local_id = f"{institution[-1].lower()}{next(self.serial):05d}"
        _set_control(record, "001", local_id)
        key = f"{institution}/{local_id}"
        self.records.append({"id": key, "institution": institution, "group": group, "category": category,
                             "marc": record.as_dict()})
        return key

    def group(self) -> str:
        return f"g{next(self.groups)}"

    def apart(self, a: str, b: str, category: str) -> None:
        self.must_not.append({"a": a, "b": b, "category": category})


def _set_control(record: Record, tag: str, value: str) -> None:
    for old in record.get_fields(tag):
        record.remove_field(old)
    record.add_ordered_field(Field(tag=tag, data=value))


def _isbn10(value: str) -> str | None:
    digits = re.sub(r"[^0-9Xx]", "", value.split(" ")[0]).upper()
    return digits if len(digits) == 10 else None


def _to13(isbn10: str) -> str:
    core = "978" + isbn10[:9]
    return core + str((10 - sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(core)) % 10) % 10)


def _isbn10_check(core: str) -> str:
    check = (11 - sum((10 - i) * int(d) for i, d in enumerate(core)) % 11) % 11
    return core + ("X" if check == 10 else str(check))


def _year(record: Record) -> int | None:
    f008 = record.get("008")
    text = f008.data[7:11] if f008 is not None and f008.data else ""
    return int(text) if text.isdigit() else None


def _set_year(record: Record, year: int) -> None:
    f008 = record.get("008")
    if f008 is not None and f008.data and len(f008.data) >= 11:
        f008.data = f008.data[:7] + f"{year:04d}" + f008.data[11:]
    for field in record.get_fields("260", "264"):
        field.subfields = [Subfield(s.code, re.sub(r"1[0-9]{3}|20[0-9]{2}", str(year), s.value))
                           if s.code == "c" else s for s in field.subfields]


def _replace_isbns(record: Record, values: list[str]) -> None:
    for field in record.get_fields("020"):
        record.remove_field(field)
    for value in values:
        record.add_ordered_field(Field(tag="020", indicators=Indicators(" ", " "), subfields=[Subfield("a", value)]))


def recatalogue(record: Record, rng: random.Random, *, drop_ids: bool) -> Record:
    """Another library's record of the same edition."""
    copy_ = copy.deepcopy(record)
    for tag in ("010", "035", "040", "042", "050", "082", "906", "925", "955"):
        if drop_ids or tag not in ("010", "035") or rng.random() < 0.6:
            for field in copy_.get_fields(tag):
                copy_.remove_field(field)
    title = copy_.get("245")
    if title is not None:
        keep = [s for s in title.subfields if s.code != "c" or rng.random() < 0.5]
        if rng.random() < 0.3:
            keep = [s for s in keep if s.code != "b"]
        styles = [lambda t: t.rstrip(" /:;.,"), lambda t: t.upper() if rng.random() < 0.1 else t.lower(),
                  lambda t: t.replace(" : ", ": ").replace(" ;", ";")]
        title.subfields = [Subfield(s.code, rng.choice(styles)(s.value)) for s in keep]
    for field in copy_.get_fields("020"):
        new = []
        for sub in field.subfields:
            if sub.code != "a":
                new.append(sub)
                continue
            isbn10 = _isbn10(sub.value)
            number = sub.value.split(" ")[0]
            if isbn10 and rng.random() < 0.5:
                number = _to13(isbn10)
            if rng.random() < 0.5:
                number = f"{number[:3]}-{number[3:6]}-{number[6:]}" if len(number) == 13 else \
                    f"{number[:1]}-{number[1:4]}-{number[4:9]}-{number[9:]}"
            qualifier = rng.choice(["", " (pbk.)", " (alk. paper)", " : $25.00", " (hbk.)"])
            new.append(Subfield("a", number + qualifier))
        field.subfields = new
    for field in copy_.get_fields("100"):
        field.subfields = [Subfield(s.code, s.value.rstrip(",.")) for s in field.subfields if s.code in "aq"]
    for field in copy_.get_fields("300"):
        field.subfields = [Subfield("a", re.sub(r"^[ivxlc]+, ", "", s.value)) if s.code == "a" else s
                           for s in field.subfields]
    copy_.add_ordered_field(Field(tag="952", indicators=Indicators(" ", " "),
                                  subfields=[Subfield("p", f"BC{rng.randrange(10**8):08d}")]))
    return copy_


def _typo(record: Record, rng: random.Random) -> Record:
    """Replace one letter of the longest word of 245 $a."""
    title = record.get("245")
    if title is None:
        return record
    text = title.get("a") or ""
    words = [w for w in re.findall(r"[A-Za-z]{5,}", text)]
    if words:
        word = max(words, key=len)
        at = rng.randrange(1, len(word) - 1)
        wrong = word[:at] + ("e" if word[at] != "e" else "a") + word[at + 1:]
        title.subfields = [Subfield(s.code, s.value.replace(word, wrong, 1)) if s.code == "a" else s
                           for s in title.subfields]
    return record


def scan() -> list[Record]:
    found = []
    with testdata.loc_books().open("rb") as stream:
        for record in itertools.islice(MARCReader(stream, to_unicode=True), SCAN):
            if record is not None and record.get("245") is not None and record.get("001") is not None:
                found.append(record)
    return found


def _words(record: Record) -> set[str]:
    title = record.get("245")
    text = " ".join(title.get_subfields("a", "b")) if title is not None else ""
    return {w for w in re.findall(r"\w+", text.lower()) if len(w) > 3}


def _isbns(record: Record) -> list[str]:
    return [v for f in record.get_fields("020") for v in f.get_subfields("a")]


def build() -> dict[str, Any]:
    rng = random.Random(SEED)
    loc = scan()
    with_isbn = [r for r in loc if any(_isbn10(v) for v in _isbns(r)) and _year(r)]
    without_ids = [r for r in loc if not r.get_fields("020") and _year(r) and r.get("100") is not None]
    chinese = [r for r in loc if (r.get("008") and r["008"].data[35:38] == "chi") and r.get_fields("020")
               and any((f.get("6") or "").startswith("245") for f in r.get_fields("880"))]
    rng.shuffle(with_isbn)
    rng.shuffle(without_ids)
    rng.shuffle(chinese)
    b = Builder()
    picks = iter(with_isbn)
    for record in itertools.islice(picks, 150):
        group = b.group()
        b.add(copy.deepcopy(record), "LIB-A", group, "recatalogued")
        b.add(recatalogue(record, rng, drop_ids=False), "LIB-B", group, "recatalogued")
    for record in without_ids[:60]:
        group = b.group()
        b.add(copy.deepcopy(record), "LIB-A", group, "no_identifiers")
        b.add(recatalogue(record, rng, drop_ids=True), "LIB-C", group, "no_identifiers")
    for record in itertools.islice(picks, 20):
        group = b.group()
        b.add(copy.deepcopy(record), "LIB-A", group, "typo")
        b.add(_typo(recatalogue(record, rng, drop_ids=False), rng), "LIB-I", group, "typo")
    for record in without_ids[60:80]:
        group = b.group()
        b.add(copy.deepcopy(record), "LIB-A", group, "typo")
        b.add(_typo(recatalogue(record, rng, drop_ids=True), rng), "LIB-I", group, "typo")
    for record in itertools.islice(picks, 40):
        group = b.group()
        b.add(copy.deepcopy(record), "LIB-A", group, "year_off_by_one")
        shifted = recatalogue(record, rng, drop_ids=True)
        _set_year(shifted, (_year(record) or 2000) + 1)
        b.add(shifted, "LIB-D", group, "year_off_by_one")
    for n, record in enumerate(itertools.islice(picks, 40)):
        base = b.add(copy.deepcopy(record), "LIB-A", b.group(), "new_edition")
        later = recatalogue(record, rng, drop_ids=True)
        later.add_ordered_field(Field(tag="250", indicators=Indicators(" ", " "), subfields=[Subfield("a", "2nd ed.")]))
        _set_year(later, (_year(record) or 2000) + 4)
        for field in later.get_fields("300"):
            field.subfields = [Subfield(s.code, re.sub(r"(\d+) p", lambda m: f"{int(m.group(1)) * 5 // 4} p",
                                                       s.value)) for s in field.subfields]
        if n % 2:  # a new ISBN for the new edition; the other half reuses the old one, as publishers do
            _replace_isbns(later, [_isbn10_check(f"{rng.randrange(10**9):09d}")])
        b.apart(base, b.add(later, "LIB-E", b.group(), "new_edition"), "new_edition")
    for record in itertools.islice(picks, 30):
        base = b.add(copy.deepcopy(record), "LIB-A", b.group(), "reprint")
        reprint = recatalogue(record, rng, drop_ids=True)
        _set_year(reprint, (_year(record) or 1990) + 12)
        reprint.add_ordered_field(Field(tag="500", indicators=Indicators(" ", " "),
                                        subfields=[Subfield("a", "Reprint. Originally published earlier.")]))
        b.apart(base, b.add(reprint, "LIB-F", b.group(), "reprint"), "reprint")
    for record in itertools.islice(picks, 30):
        set_isbn = _isbn10(next(v for v in _isbns(record) if _isbn10(v))) or ""
        volumes: dict[int, str] = {}
        for volume in (1, 2):
            part = recatalogue(record, rng, drop_ids=True)
            part["245"].add_subfield("n", f"v. {volume}", pos=1)
            own = _isbn10_check(f"{rng.randrange(10**9):09d}")
            _replace_isbns(part, [f"{set_isbn} (set)", f"{own} (v. {volume})"])
            group = b.group()
            volumes[volume] = b.add(part, "LIB-B", group, "multi_volume")
            if volume == 1:
                again = copy.deepcopy(part)
                again["245"].subfields = [Subfield(s.code, "Vol. 1" if s.code == "n" else s.value)
                                          for s in again["245"].subfields]
                _replace_isbns(again, [f"{own} (v. 1 : alk. paper)"])
                b.add(again, "LIB-C", group, "multi_volume")
        b.apart(volumes[1], volumes[2], "multi_volume")
    for record in itertools.islice(picks, 30):
        base = b.add(copy.deepcopy(record), "LIB-A", b.group(), "electronic")
        online = recatalogue(record, rng, drop_ids=False)
        f008 = online.get("008")
        if f008 is not None and f008.data and len(f008.data) > 23:
            f008.data = f008.data[:23] + "o" + f008.data[24:]
        online["245"].add_subfield("h", "[electronic resource]", pos=1)
        online.add_ordered_field(Field(tag="856", indicators=Indicators("4", "0"),
                                       subfields=[Subfield("u", "https://ebooks.example.org/item")]))
        b.apart(base, b.add(online, "LIB-G", b.group(), "electronic"), "electronic")
    real_pairs(b, loc, rng)
    for record in chinese[:40]:
        group = b.group()
        b.add(copy.deepcopy(record), "LIB-A", group, "chinese_script")
        b.add(vernacular(record), "LIB-H", group, "chinese_script")
    handmade(b)
    return {"about": __doc__, "seed": SEED, "records": b.records, "must_not_merge": b.must_not}


if __name__ == "__main__":
    data = build()
    OUTPUT.write_text(json.dumps(data, ensure_ascii=False, indent=None, separators=(",", ":")) + "\n")
    groups = defaultdict(int)
    for item in data["records"]:
        groups[item["group"]] += 1
    pairs = sum(n * (n - 1) // 2 for n in groups.values())
    print(f"wrote {OUTPUT}: {len(data['records'])} records, {pairs} must-merge pairs, "
          f"{len(data['must_not_merge'])} must-not-merge pairs")
