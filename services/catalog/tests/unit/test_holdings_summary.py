"""The cluster page counts a copy as available by the rule search uses: on the shelf, or electronic with a licence
for interlibrary copies; nothing of a suspended holder."""

from __future__ import annotations

from types import SimpleNamespace

from bibliomesh_catalog.service_layer.holdings import summarize


def item(institution: str, item_id: str, status: str, format_: str = "print", ill_copy_allowed: bool = True
         ) -> SimpleNamespace:
    return SimpleNamespace(institution=institution, item_id=item_id, local_id="r1", location=None, call_number=None,
                           format=format_, status=status, due_date=None, ill_copy_allowed=ill_copy_allowed)


def holder(status: str) -> SimpleNamespace:
    return SimpleNamespace(name_en="A library", name_zh=None, status=status)


def test_an_electronic_copy_licensed_for_ill_copies_is_available_unless_its_holder_is_suspended() -> None:
    rows = [item("A", "e-licensed", "not-for-loan", "electronic", True),
            item("A", "e-unlicensed", "not-for-loan", "electronic", False),
            item("A", "print-reference", "not-for-loan"),
            item("A", "print-shelf", "available"),
            item("S", "e-at-suspended", "not-for-loan", "electronic", True),
            item("S", "print-at-suspended", "available")]
    summary = summarize(rows, {"A": holder("active"), "S": holder("suspended")})
    available = {i["item_id"]: i["available"] for h in summary for i in h["items"]}
    assert available == {"e-licensed": True, "e-unlicensed": False, "print-reference": False, "print-shelf": True,
                         "e-at-suspended": False, "print-at-suspended": False}
    assert [(h["institution"], h["suspended"], h["available_count"]) for h in summary] == [
        ("A", False, 2), ("S", True, 0)]
