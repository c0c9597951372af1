"""The request lifecycle as a Markdown document, written from the transition table itself.

    .venv/bin/python -m bibliomesh_ill.domain.lifecycle_doc > docs/ill-lifecycle.md

A test keeps the committed document equal to this output, so the documentation cannot drift from the code.
"""

from __future__ import annotations

from bibliomesh_ill.domain.states import RequesterState, SupplierState
from bibliomesh_ill.domain.transitions import TRANSITIONS, Transition


def _states(values: frozenset[RequesterState] | frozenset[SupplierState | None]) -> str:
    return ", ".join(sorted(v.value if v is not None else "(none)" for v in values))


def _row(t: Transition) -> str:
    then = " → next lender" if t.next_lender else ""
    guard = f" ({t.guard.__name__.strip('_').replace('_', ' ')})" if t.guard else ""
    needs = ", ".join(t.needs) or ""
    return (f"| `{t.action}`{guard} | {', '.join(sorted(p.value for p in t.parties))} | "
            f"{_states(t.requester_from)} | {_states(t.supplier_from)} | "
            f"{t.requester_to.value if t.requester_to else '(unchanged)'}{then} | "
            f"{t.supplier_to.value if t.supplier_to else '(unchanged)'} | `ill.request.{t.step}` | {needs} |")


def _mermaid() -> list[str]:
    edges = sorted({(str(a.value), str(t.requester_to.value), t.action) for t in TRANSITIONS
                    if t.requester_to is not None for a in t.requester_from})
    lines = ["```mermaid", "stateDiagram-v2", "    [*] --> submitted", "    submitted --> validated",
             "    validated --> sourcing", "    sourcing --> sent_to_supplier: routed",
             "    sourcing --> unfilled: empty rota"]
    lines += [f"    {a} --> {b}: {action}" for a, b, action in edges]
    lines += ["    sent_to_supplier --> sent_to_supplier: cannot_supply / no_answer / reroute (next lender)",
              "    sent_to_supplier --> unfilled: end of rota", "```"]
    return lines


def render() -> str:
    lines = [
        "# The ILL request lifecycle",
        "",
        "Generated from `services/ill-broker/src/bibliomesh_ill/domain/transitions.py` by",
        "`python -m bibliomesh_ill.domain.lifecycle_doc`; a test fails when this file and the table differ.",
        "",
        "A request has two states: the borrowing library's (`requester`) for its whole life, and the state of the",
        "lender currently asked (`supplier`), which starts again at `new` with each lender on the rota. Parties:",
        "`patron` (the person the request is for), `borrower` (staff of the requesting library, `ill:manage`),",
        "`lender` (staff of the lender asked now, `ill:lend`), `system` (timers). `GET /ill/requests/{id}` lists",
        "the actions the caller may take now; any other action answers 409 with the reason (403 when the caller",
        "is not the party that may take it).",
        "",
        f"Requester states: {', '.join(s.value for s in RequesterState)}.",
        "",
        f"Supplier states: {', '.join(s.value for s in SupplierState)}.",
        "",
        "| action | by | requester from | supplier from | requester to | supplier to | event | needs |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        *(_row(t) for t in TRANSITIONS),
        "",
        "Submitting a request records `submitted`, `validated` and `sourcing` in the audit trail in one",
        "transaction, builds the rota and asks the first lender (`ill.request.routed`), or ends `unfilled` when",
        "nobody can supply. Copies end when delivered; loans when the lender checks the item back in.",
        "",
        *_mermaid(),
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(), end="")
