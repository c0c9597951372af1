from types import NoneType
from typing import get_args

import pytest
from pydantic import ValidationError

from bibliomesh_auth.domain.institutions import InvalidInstitution, changed_fields, check_parent
from bibliomesh_auth.entrypoints.api.schemas import InstitutionPatch
from bibliomesh_contracts.events.directory import InstitutionSnapshot


def snapshot(code: str, kind: str, parent: str | None = None, **extra: object) -> InstitutionSnapshot:
    return InstitutionSnapshot(code=code, name_en=code, kind=kind, parent_code=parent, version=1, **extra)


def test_branch_library_needs_a_university_parent() -> None:
    university = snapshot("CN-U1", "university")
    check_parent(snapshot("CN-U1-B", "branch-library", "CN-U1"), university)
    with pytest.raises(InvalidInstitution, match="needs `parent_code`"):
        check_parent(snapshot("CN-U1-B", "branch-library"), None)
    with pytest.raises(InvalidInstitution, match="not a university"):
        check_parent(snapshot("CN-P-B", "branch-library", "CN-P"), snapshot("CN-P", "public-library"))
    with pytest.raises(InvalidInstitution, match="no institution CN-NOPE"):
        check_parent(snapshot("CN-X-B", "branch-library", "CN-NOPE"), None)


def test_only_branches_have_parents_and_peers_need_an_endpoint() -> None:
    with pytest.raises(InvalidInstitution, match="only a branch library"):
        check_parent(snapshot("CN-P", "public-library", "CN-U1"), snapshot("CN-U1", "university"))
    with pytest.raises(InvalidInstitution, match="ISO 18626 endpoint"):
        check_parent(snapshot("US-PEER", "external-peer"), None)


def test_changed_fields_ignores_the_version() -> None:
    before = snapshot("CN-U1", "university")
    after = before.model_copy(update={"name_zh": "大学", "version": 2})
    assert changed_fields(before, after) == ["name_zh"]


@pytest.mark.parametrize("field", sorted(InstitutionPatch.model_fields))
def test_a_patch_refuses_null_exactly_where_the_directory_needs_a_value(field: str) -> None:
    clearable = NoneType in get_args(InstitutionSnapshot.model_fields[field].annotation)
    if clearable:
        assert InstitutionPatch.model_validate({field: None}).model_dump(exclude_unset=True) == {field: None}
    else:
        with pytest.raises(ValidationError) as raised:
            InstitutionPatch.model_validate({field: None})
        assert [error["loc"] for error in raised.value.errors()] == [(field,)]
    assert InstitutionPatch.model_validate({}).model_dump(exclude_unset=True) == {}
