"""The harvest source form: what was typed (to fill the form again), what is wrong with it by field, and the
catalogue's body (`HarvestSourceConfig`). The catalogue judges the values; here only what cannot be sent as its
type (minutes that are not a whole number) is refused."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bibliomesh_web.i18n import Translator
from bibliomesh_web.platform import ApiError
from meshkit.numbers import whole_number

TEXT_FIELDS = ("base_url", "metadata_prefix", "set_spec", "interval_minutes")
NEW_SOURCE = {"base_url": "", "metadata_prefix": "", "set_spec": "", "interval_minutes": "1440", "enabled": True}


@dataclass
class SourceForm:
    values: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)
    """By field name; `form` for what belongs to no field."""

    def body(self) -> dict[str, Any]:
        return {"base_url": self.values["base_url"], "metadata_prefix": self.values["metadata_prefix"] or None,
                "set_spec": self.values["set_spec"] or None,
                "interval_minutes": whole_number(self.values["interval_minutes"], low=0),
                "enabled": self.values["enabled"]}

    def refused(self, exc: ApiError, t: Translator) -> None:
        """The catalogue's refusal, each message beside the field it names."""
        for name, message in exc.fields.items():
            if name in NEW_SOURCE:
                self.errors[name] = message
        self.errors["form"] = t("harvest.not_saved", detail=exc.detail)


def read_source_form(form: Mapping[str, Any], t: Translator) -> SourceForm:
    values: dict[str, Any] = {name: str(form.get(name) or "").strip() for name in TEXT_FIELDS}
    values["enabled"] = form.get("enabled") == "on"
    read = SourceForm(values)
    if whole_number(values["interval_minutes"], low=0) is None:
        read.errors["interval_minutes"] = t("harvest.whole_minutes")
    return read


def source_values(source: Mapping[str, Any]) -> dict[str, Any]:
    """The form filled in with a registered source's settings."""
    return {"base_url": source["base_url"], "metadata_prefix": source.get("metadata_prefix") or "",
            "set_spec": source.get("set_spec") or "", "interval_minutes": str(source["interval_minutes"]),
            "enabled": bool(source["enabled"])}
