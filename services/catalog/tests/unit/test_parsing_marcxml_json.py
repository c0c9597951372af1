"""MARCXML (hardened against hostile XML) and the JSON form."""

from __future__ import annotations

import io
import json
import time

from bibliomesh_catalog.domain.records import ParsedRecord, RejectedRecord
from bibliomesh_catalog.parsing.json_form import read_json
from bibliomesh_catalog.parsing.marcxml import read_marcxml
from tests.support import testdata

NS = "http://www.loc.gov/MARC21/slim"


def xml_record(local_id: str, title: str) -> str:
    return (f'<record><leader>00000nam a2200000 a 4500</leader><controlfield tag="001">{local_id}</controlfield>'
            f'<datafield tag="245" ind1="1" ind2="0"><subfield code="a">{title}</subfield></datafield></record>')


def collection(*records: str, prolog: str = "") -> bytes:
    return f'<?xml version="1.0"?>{prolog}<collection xmlns="{NS}">{"".join(records)}</collection>'.encode()


def xml(data: bytes) -> list[ParsedRecord | RejectedRecord]:
    return list(read_marcxml(io.BytesIO(data)))


def test_pymarc_and_zebra_marcxml_samples_parse() -> None:
    for path in (testdata.pymarc_sample("batch.xml"), testdata.pymarc_sample("utf8.xml")):
        with path.open("rb") as stream:
            results = list(read_marcxml(stream))
        assert results and all(isinstance(r, ParsedRecord) for r in results)


def test_a_bad_record_is_rejected_and_the_rest_are_read() -> None:
    results = xml(collection(xml_record("1", "One"), xml_record("2", ""), "<record><leader>short</leader></record>",
                             xml_record("4", "Four")))
    assert [type(r).__name__ for r in results] == ["ParsedRecord", "RejectedRecord", "RejectedRecord",
                                                   "ParsedRecord"]
    assert results[1].reason.startswith("no title") and results[2].reason.startswith("bad leader")


def test_external_entities_are_refused_and_never_fetched(tmp_path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    hostile = collection(xml_record("1", "&xxe;"), prolog=f'<!DOCTYPE collection [<!ENTITY xxe SYSTEM '
                                                          f'"file://{secret}">]>')
    results = xml(hostile)
    assert len(results) == 1 and isinstance(results[0], RejectedRecord)
    assert "document type declaration" in results[0].reason
    assert "TOP SECRET" not in repr(results)


def test_entity_expansion_bombs_are_refused_quickly() -> None:
    entities = '<!ENTITY a0 "lol">' + "".join(f'<!ENTITY a{i} "{("&a" + str(i - 1) + ";") * 10}">'
                                               for i in range(1, 10))
    bomb = collection(xml_record("1", "&a9;"), prolog=f"<!DOCTYPE collection [{entities}]>")
    started = time.perf_counter()
    results = xml(bomb)
    assert time.perf_counter() - started < 2
    assert len(results) == 1 and isinstance(results[0], RejectedRecord)


def test_malformed_xml_keeps_the_records_before_it() -> None:
    whole = collection(xml_record("1", "One"), xml_record("2", "Two"))
    results = xml(whole[:whole.rindex(b"<datafield")] + b"<broken")
    assert isinstance(results[0], ParsedRecord)
    assert isinstance(results[-1], RejectedRecord) and results[-1].reason.startswith("malformed XML")


def test_marcxml_without_a_namespace_is_accepted() -> None:
    results = xml(f"<collection>{xml_record('1', 'Plain')}</collection>".encode())
    assert [r.local_id for r in results] == ["1"]


def record_json(**fields: object) -> dict[str, object]:
    return {"local_id": "j1", "title": "红楼梦", "authors": ["曹雪芹"], "year": 1982,
            "identifiers": {"isbn": ["7-02-000220-X (pbk.)"], "oclc": ["ocm12345678"]}, **fields}


def test_the_json_form_reads_one_object_an_array_or_ndjson() -> None:
    one = list(read_json(io.BytesIO(json.dumps(record_json()).encode())))
    many = list(read_json(io.BytesIO(json.dumps([record_json(local_id=str(i)) for i in range(3)]).encode())))
    lines = "\n".join(json.dumps(record_json(local_id=str(i))) for i in range(3)).encode()
    assert [r.local_id for r in one] == ["j1"]
    assert [r.local_id for r in many] == ["0", "1", "2"]
    assert [r.local_id for r in read_json(io.BytesIO(lines))] == ["0", "1", "2"]
    parsed = one[0]
    assert isinstance(parsed, ParsedRecord)
    assert parsed.description.isbns == ["9787020002207"] and parsed.description.oclc_numbers == ["12345678"]
    assert parsed.holdings is None


def test_invalid_json_records_are_rejected_with_the_field_and_the_next_ones_read() -> None:
    body = json.dumps([record_json(local_id="a"), {"local_id": "b"}, record_json(local_id="c", year="soon"),
                       record_json(local_id="d", holdings=[{"item_id": "i1", "status": "on-loan"}]),
                       record_json(local_id="e", holdings=[{"item_id": "i2", "status": "on-loan",
                                                            "due_date": "2030-01-31"}])])
    results = list(read_json(io.BytesIO(body.encode())))
    assert [r.local_id for r in results] == ["a", "b", "c", "d", "e"]
    assert [isinstance(r, ParsedRecord) for r in results] == [True, False, False, False, True]
    assert "title" in results[1].reason and "year" in results[2].reason and "due_date" in results[3].reason
    assert results[4].holdings and results[4].holdings[0].status == "on-loan"


def test_text_that_is_not_json_ends_the_stream_with_one_rejection() -> None:
    results = list(read_json(io.BytesIO(b'[{"local_id": "a", "title": "ok"}, {"local_id": nope')))
    assert isinstance(results[0], ParsedRecord) and isinstance(results[1], RejectedRecord)
    assert results[1].reason.startswith("malformed JSON")
    (broken,) = read_json(io.BytesIO(b"\xff\xfe not utf-8"))
    assert isinstance(broken, RejectedRecord) and broken.reason.startswith("invalid encoding")


def test_json_nested_too_deeply_ends_the_stream_with_one_rejection() -> None:
    deep = b"[" * 3000 + b"]" * 3000
    (alone,) = read_json(io.BytesIO(deep))
    assert isinstance(alone, RejectedRecord) and "nested too deeply" in alone.reason
    results = list(read_json(io.BytesIO(b'[{"local_id": "a", "title": "ok"}, {"notes": ' + deep + b"}]")))
    assert isinstance(results[0], ParsedRecord) and isinstance(results[1], RejectedRecord)
    assert results[1].position == 2 and "nested too deeply" in results[1].reason
