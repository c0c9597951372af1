"""The committed lifecycle document is the transition table, so documentation and behaviour cannot drift."""

from pathlib import Path

from bibliomesh_ill.domain.lifecycle_doc import render

DOC = Path(__file__).resolve().parents[4] / "docs" / "ill-lifecycle.md"


def test_the_committed_lifecycle_document_matches_the_transition_table() -> None:
    assert DOC.read_text() == render(), (
        "docs/ill-lifecycle.md is stale: run `.venv/bin/python -m bibliomesh_ill.domain.lifecycle_doc "
        "> docs/ill-lifecycle.md`")
