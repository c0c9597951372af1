"""The committed schemas, AsyncAPI and OpenAPI files match what the models and services generate now."""

from __future__ import annotations

from pathlib import Path

import generate
import pytest


def test_committed_contract_files_are_up_to_date(rendered: dict[Path, str]) -> None:
    stale = generate.stale_files(rendered)
    assert not stale, "Stale contract files:\n  " + "\n  ".join(stale) + "\nRun `make contracts` and commit the result."


def test_check_mode_names_changed_and_missing_files(rendered: dict[Path, str]) -> None:
    files = dict(rendered)
    files[generate.ASYNCAPI] += "# edited\n"
    files[generate.SCHEMAS / "catalog.record.vanished.v1.json"] = "{}\n"

    stale = generate.stale_files(files)

    assert "contracts/asyncapi.yaml: out of date" in stale
    assert "contracts/schemas/catalog.record.vanished.v1.json: missing" in stale


def test_check_mode_names_schemas_of_unregistered_events(
    rendered: dict[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(generate, "SCHEMAS", tmp_path)
    (tmp_path / "directory.institution.merged.v1.json").write_text("{}\n")

    assert [line for line in generate.stale_files(rendered) if "merged" in line] == [
        f"{tmp_path / 'directory.institution.merged.v1.json'}: no registered event type any more"
    ]


def test_check_exits_non_zero_without_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stale_target = tmp_path / "contracts" / "asyncapi.yaml"
    monkeypatch.setattr(generate, "render", lambda: {stale_target: "asyncapi: 3.0.0\n"})
    monkeypatch.setattr(generate, "CONTRACTS", tmp_path / "contracts")
    monkeypatch.setattr(generate, "SCHEMAS", tmp_path / "contracts" / "schemas")

    assert generate.main(["--check"]) == 1
    assert not stale_target.exists()
    assert capsys.readouterr().out.splitlines() == [
        "stale: contracts/asyncapi.yaml: missing",
        generate.REGENERATE,
    ]
