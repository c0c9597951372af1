from bibliomesh_contracts.events.directory.institution import (
    INSTITUTION_CODE_PATTERN,
    InstitutionCreatedV1,
    InstitutionSnapshot,
    InstitutionSuspendedV1,
    InstitutionUpdatedV1,
    LendingPolicy,
)
from bibliomesh_contracts.events.directory.person import PersonChangedV1

__all__ = [
    "INSTITUTION_CODE_PATTERN",
    "InstitutionCreatedV1",
    "InstitutionSnapshot",
    "InstitutionSuspendedV1",
    "InstitutionUpdatedV1",
    "LendingPolicy",
    "PersonChangedV1",
]
