from bibliomesh_contracts.events.directory.institution import (
    InstitutionCreatedV1,
    InstitutionSnapshot,
    InstitutionSuspendedV1,
    InstitutionUpdatedV1,
    LendingPolicy,
)

__all__ = [
    "InstitutionCreatedV1",
    "InstitutionSnapshot",
    "InstitutionSuspendedV1",
    "InstitutionUpdatedV1",
    "LendingPolicy",
]
