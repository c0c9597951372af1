"""Every event type the platform publishes, with its payload model per version."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from bibliomesh_contracts.events import catalog, directory, ill


@dataclass(frozen=True)
class EventType:
    name: str
    version: int
    producer: str
    model: type[BaseModel]
    summary: str


EVENT_TYPES: tuple[EventType, ...] = (
    EventType(
        "directory.institution.created", 1, "auth", directory.InstitutionCreatedV1,
        "An institution joined the directory.",
    ),
    EventType(
        "directory.institution.updated", 1, "auth", directory.InstitutionUpdatedV1,
        "An institution's details, tiers or lending policy changed.",
    ),
    EventType(
        "directory.institution.suspended", 1, "auth", directory.InstitutionSuspendedV1,
        "An institution was suspended: it neither borrows nor lends until reinstated.",
    ),
    EventType(
        "directory.person.changed", 1, "auth", directory.PersonChangedV1,
        "A person's account was created or changed: name, e-mail, language, roles, status.",
    ),
    EventType(
        "catalog.record.upserted", 1, "catalog", catalog.RecordUpsertedV1,
        "A member record was created or changed.",
    ),
    EventType(
        "catalog.record.deleted", 1, "catalog", catalog.RecordDeletedV1,
        "A member record was withdrawn by its institution, with its holdings.",
    ),
    EventType(
        "catalog.cluster.changed", 1, "catalog", catalog.ClusterChangedV1,
        "A cluster (union record) was created, changed membership or display, or went away.",
    ),
    EventType(
        "catalog.holdings.changed", 1, "catalog", catalog.HoldingsChangedV1,
        "An item appeared, changed availability or details, or went away.",
    ),
    EventType(
        "catalog.import.finished", 1, "catalog", catalog.ImportFinishedV1,
        "A bulk import of an institution's records succeeded or failed.",
    ),
    *(EventType(f"ill.request.{step}", 1, "ill", model, model.__doc__ or step)
      for step, model in ill.STEP_EVENTS.items()),
    EventType(
        "ill.acquisition.suggested", 1, "ill", ill.AcquisitionSuggestedV1,
        "Repeated ILL demand at an institution produced a purchase suggestion.",
    ),
)

DIRECTORY_INSTITUTION_EVENTS = tuple(
    spec.name for spec in EVENT_TYPES if spec.name.startswith("directory.institution.")
)

ILL_REQUEST_EVENTS = tuple(spec.name for spec in EVENT_TYPES if spec.name.startswith("ill.request."))

_BY_KEY = {(spec.name, spec.version): spec for spec in EVENT_TYPES}
_BY_MODEL = {spec.model: spec for spec in EVENT_TYPES}


class UnknownEventType(LookupError):
    pass


def payload_model(name: str, version: int) -> type[BaseModel]:
    try:
        return _BY_KEY[(name, version)].model
    except KeyError:
        raise UnknownEventType(f"no payload model for {name} v{version}") from None


def event_type_of(model: type[BaseModel]) -> EventType:
    try:
        return _BY_MODEL[model]
    except KeyError:
        raise UnknownEventType(f"{model.__name__} is not a registered payload model") from None


def routing_key(name: str) -> str:
    """The routing key is the event type itself, so consumers bind with topic patterns such as `directory.#`."""
    return name
