"""What goes wrong reading or writing ISO 18626, typed so that every failure can be answered in ISO terms."""

from __future__ import annotations

from bibliomesh_ill.iso18626.codes import ErrorType, MessageKind, Version
from bibliomesh_ill.iso18626.models import AgencyId, ErrorData, IsoModel, Timestamp


class HeaderEcho(IsoModel):
    """What a confirmation repeats of the message it confirms (as much of it as could be read)."""

    supplying_agency_id: AgencyId | None = None
    requesting_agency_id: AgencyId | None = None
    requesting_agency_request_id: str | None = None
    multiple_item_request_id: str | None = None
    timestamp: Timestamp | None = None


class Iso18626Error(Exception):
    """An incoming message the platform cannot accept, with the ISO `errorType` and an `errorValue` naming the
    element. `confirm_failure(error)` turns it into the confirmation to answer with (never a bare HTTP error).

    `kind` is the message the peer sent (None if not even that could be read), `version` the edition to answer
    in, `echo` what of its header could be read.
    """

    def __init__(self, error_type: ErrorType, error_value: str, *, kind: MessageKind | None = None,
                 version: Version = Version.V1_2, echo: HeaderEcho | None = None) -> None:
        super().__init__(f"{error_type.value}: {error_value}")
        self.error_type = error_type
        self.error_value = error_value
        self.kind = kind
        self.version = version
        self.echo = echo

    @property
    def error_data(self) -> ErrorData:
        return ErrorData(error_type=self.error_type, error_value=self.error_value)


class SerializationError(ValueError):
    """An outgoing message the schema of the chosen edition does not accept; nothing was sent."""

    def __init__(self, message: str, problems: list[str]) -> None:
        super().__init__(f"{message}: " + "; ".join(problems))
        self.problems = problems
