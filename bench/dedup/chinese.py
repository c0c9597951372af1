"""Hand-made Chinese-script records for the labeled set: simplified vs traditional script, characters vs pinyin,
volumes of a set, and same titles that are other books."""

from __future__ import annotations

from typing import Any, Protocol

from pymarc import Field, Indicators, Record, Subfield


class Sink(Protocol):
    def add(self, record: Record, institution: str, group: str, category: str) -> str: ...

    def group(self) -> str: ...

    def apart(self, a: str, b: str, category: str) -> None: ...


def isbn10(core: str) -> str:
    """A valid ISBN-10 from nine digits."""
    check = (11 - sum((10 - i) * int(d) for i, d in enumerate(core)) % 11) % 11
    return core + ("X" if check == 10 else str(check))


def book(title: str, *, author: str | None = None, year: int | None = None, isbn: str | None = None,
         part: str | None = None, publisher: str | None = None, **_: Any) -> Record:
    record = Record(force_utf8=True)
    date = f"{year:04d}" if year else "uuuu"
    record.add_field(Field(tag="008", data=f"000000s{date}    ch {' ' * 5} {' ' * 11}chi d"))
    if isbn:
        record.add_field(Field(tag="020", indicators=Indicators(" ", " "), subfields=[Subfield("a", isbn)]))
    if author:
        record.add_field(Field(tag="100", indicators=Indicators("0", " "), subfields=[Subfield("a", author)]))
    subfields = [Subfield("a", title)] + ([Subfield("n", part)] if part else [])
    record.add_field(Field(tag="245", indicators=Indicators("1", "0"), subfields=subfields))
    if publisher:
        record.add_field(Field(tag="260", indicators=Indicators(" ", " "), subfields=[
            Subfield("b", publisher), Subfield("c", str(year or ""))]))
    return record


def handmade(sink: Sink) -> None:
    """Add the hand-made groups and must-not-merge pairs to `sink`."""
    hlm = isbn10("702000220")
    group = sink.group()
    simplified = sink.add(book("红楼梦 /", author="曹雪芹", year=1982, isbn=hlm, publisher="人民文学出版社"),
                          "LIB-M", group, "chinese_handmade")
    sink.add(book("紅樓夢", author="曹雪芹", year=1982, isbn=f"{hlm} (平裝)", publisher="人民文學出版社"),
             "LIB-T", group, "chinese_handmade")
    sink.add(book("Hong lou meng", author="Cao, Xueqin", year=1982, isbn=hlm), "LIB-P", group, "chinese_handmade")
    other = sink.add(book("红楼梦", author="曹雪芹", year=2005, isbn=isbn10("710104711"), publisher="中华书局"),
                     "LIB-M", sink.group(), "chinese_handmade")
    sink.apart(simplified, other, "chinese_handmade")

    set_isbn = isbn10("702001962")
    upper = sink.add(book("红楼梦", author="曹雪芹", year=1996, isbn=f"{set_isbn} (全2册)", part="上册"),
                     "LIB-M", sink.group(), "chinese_handmade")
    lower = sink.add(book("红楼梦", author="曹雪芹", year=1996, isbn=f"{set_isbn} (全2册)", part="下册"),
                     "LIB-T", sink.group(), "chinese_handmade")
    sink.apart(upper, lower, "chinese_handmade")

    for title, traditional, author, core, year, pinyin in (
        ("三国演义", "三國演義", "罗贯中", "702000221", 1973, None),
        ("西游记", "西遊記", "吴承恩", "702000222", 1980, None),
        ("围城", "圍城", "钱钟书", "702000223", 1980, None),
        ("论语译注", "論語譯注", "杨伯峻", "710100338", 1980, ("Lun yu yi zhu", "Yang, Bojun")),
    ):
        group = sink.group()
        sink.add(book(title, author=author, year=year, isbn=isbn10(core)), "LIB-M", group, "chinese_handmade")
        sink.add(book(traditional, author=author, year=year, isbn=isbn10(core)), "LIB-T", group, "chinese_handmade")
        if pinyin:
            sink.add(book(pinyin[0], author=pinyin[1], year=year, isbn=isbn10(core)), "LIB-P", group,
                     "chinese_handmade")

    volumes = [sink.add(book("西游记", author="吴承恩", year=1994, isbn=f"{isbn10('702001100')} (套)", part=p),
                        "LIB-M", sink.group(), "chinese_handmade") for p in ("第一卷", "第二卷")]
    sink.apart(volumes[0], volumes[1], "chinese_handmade")

    group = sink.group()
    mainland = sink.add(book("中国历史", author="张三", year=1990), "LIB-M", group, "chinese_handmade")
    sink.add(book("中國歷史", author="張三", year=1990), "LIB-T", group, "chinese_handmade")
    stranger = sink.add(book("中国历史", author="李四", year=1990), "LIB-T", sink.group(), "chinese_handmade")
    sink.apart(mainland, stranger, "chinese_handmade")
