"""Building blocks shared by every ISO 18626 message.

Field names are the ISO element names in snake_case (2021 names where the editions differ; the field's docstring
gives the 1.2 name). Repeatable elements are lists. Models are immutable and reject unknown fields.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from bibliomesh_ill.iso18626.codes import Version
from bibliomesh_ill.iso18626.xml_fields import Xml


def _to_utc_seconds(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("a timestamp needs a time zone")
    return value.astimezone(UTC).replace(microsecond=0)


Timestamp = Annotated[datetime, AfterValidator(_to_utc_seconds)]
"""An aware date and time, kept in UTC to the second: the precision ISO 18626 exchanges."""

Money = Annotated[Decimal, Field(allow_inf_nan=False, max_digits=30)]


class IsoModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    xml_order: ClassVar[dict[Version, tuple[str, ...]]] = {}
    """Element order per edition where it differs from the field order."""


class SchemeValue(IsoModel):
    """A value from an open code list, with the URI of that list (ISO's `type_schemeValuePair`).

    A plain string is accepted wherever a `SchemeValue` is expected: `AgencyId(agency_id_type="ISIL", ...)`.
    """

    value: str
    scheme: str | None = None
    """URI of the code list, written as the `ill:scheme` attribute."""

    @model_validator(mode="before")
    @classmethod
    def _from_plain_string(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"value": data}
        if isinstance(data, dict) and data.get("scheme") == "":
            return {**data, "scheme": None}
        return data


class AgencyId(IsoModel):
    """An agency (library) identified within a scheme, e.g. type `ISIL`, value `CN-DL-U1`."""

    agency_id_type: SchemeValue
    agency_id_value: str


class Costs(IsoModel):
    currency_code: SchemeValue
    """ISO 4217 currency code."""
    monetary_value: Money


class ElectronicAddress(IsoModel):
    electronic_address_type: SchemeValue
    """E.g. `Email`, `FTP`."""
    electronic_address_data: str


class PhysicalAddress(IsoModel):
    line1: str | None = None
    line2: str | None = None
    locality: str | None = None
    postal_code: str | None = None
    region: Annotated[SchemeValue | None, Xml(plain_in_2021=True)] = None
    """ISO 3166-2 region; 2021 writes it as a plain string (its scheme is then dropped)."""
    country: SchemeValue | None = None
    """ISO 3166-1 country code."""


class Address(IsoModel):
    """Exactly one of an electronic or a physical address."""

    electronic_address: ElectronicAddress | None = None
    physical_address: PhysicalAddress | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Address:
        if (self.electronic_address is None) == (self.physical_address is None):
            raise ValueError("an address is either electronic or physical")
        return self
