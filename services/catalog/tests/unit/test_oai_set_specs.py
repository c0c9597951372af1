"""Institution codes map to OAI-PMH setSpecs and back, with only the characters a setSpec may hold."""

from __future__ import annotations

import re

import pytest

from bibliomesh_catalog.service_layer.oai_set_specs import institution_of, set_spec

# The setSpec pattern of the OAI-PMH 2.0 schema.
SET_SPEC = re.compile(r"([A-Za-z0-9\-_.!~*'()])+(:[A-Za-z0-9\-_.!~*'()]+)*")


@pytest.mark.parametrize(("institution", "spec"), [
    ("CN-DL-U1", "CN-DL-U1"),
    ("CN-QA/SLASH", "CN-QA~2FSLASH"),
    ("CN-QA:COLON", "CN-QA~3ACOLON"),
    ("CN-A~B", "CN-A~7EB"),
    ("CN-图书馆", "CN-~E5~9B~BE~E4~B9~A6~E9~A6~86"),
])
def test_codes_map_to_set_specs_and_back(institution: str, spec: str) -> None:
    assert set_spec(institution) == spec
    assert SET_SPEC.fullmatch(spec) and ":" not in spec  # a set of its own, never a subset of another
    assert institution_of(spec) == institution


@pytest.mark.parametrize("spec", ["CN-QA/SLASH", "CN-QA:COLON", "CN-~41", "CN-~2f", "CN-~ZZ", "CN-~E5", "~", ""])
def test_what_set_spec_never_makes_names_no_institution(spec: str) -> None:
    assert institution_of(spec) is None
