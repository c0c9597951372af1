"""The forms of an outside ISO 18626 peer: registering one (code, names, settings) and changing its settings. What
was typed comes back, with the directory's reasons beside the fields they name (it judges the endpoint too)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bibliomesh_web.i18n import Translator
from bibliomesh_web.platform import ApiError

SCHEMA_VERSIONS = ("2021", "1.2")  # the directory's `Iso18626Peer.schema_version`, newest first
SETTINGS = ("endpoint_url", "schema_version", "agency_id_type")
REGISTRATION = ("code", "name_en", "name_zh", *SETTINGS)
NEW_PEER = {"code": "", "name_en": "", "name_zh": "", "endpoint_url": "", "schema_version": "2021",
            "agency_id_type": "ISIL"}


@dataclass
class PeerForm:
    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    """By field name; `form` for what belongs to no field."""

    def settings(self) -> dict[str, str]:
        return {name: self.values[name] for name in SETTINGS}

    def registration(self) -> dict[str, Any]:
        return {"code": self.values["code"], "name_en": self.values["name_en"],
                "name_zh": self.values["name_zh"] or None, "kind": "external-peer", "iso18626": self.settings()}

    def refused(self, exc: ApiError, t: Translator) -> None:
        """The directory's refusal, each message beside the field it names (`iso18626.endpoint_url` is ours
        `endpoint_url`)."""
        for name, message in exc.fields.items():
            name = name.removeprefix("iso18626.")
            if name in self.values:
                self.errors[name] = message
        if exc.status == 409 and "code" in self.values and not exc.fields:
            self.errors["code"] = exc.detail  # registered already
        self.errors["form"] = t("peers.not_saved", detail=exc.detail)


def read_peer_form(form: Mapping[str, Any], t: Translator, names: tuple[str, ...]) -> PeerForm:
    read = PeerForm({name: str(form.get(name) or "").strip() for name in names})
    if not read.values["endpoint_url"]:
        read.errors["endpoint_url"] = t("peers.required")
    if not read.values["agency_id_type"]:
        read.errors["agency_id_type"] = t("peers.required")
    return read


def settings_values(peer: Mapping[str, Any]) -> dict[str, str]:
    """The settings form filled in with a peer's current settings."""
    settings = peer.get("iso18626") or {}
    return {name: str(settings.get(name) or "") for name in SETTINGS}
