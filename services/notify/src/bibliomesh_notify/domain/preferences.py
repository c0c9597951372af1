"""A recipient's choices: which channels for which message kinds, and a daily digest instead of single e-mails."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bibliomesh_notify.domain.messages import MESSAGE_KINDS, PERSONAL_CHANNELS, Channel


@dataclass(frozen=True)
class Preferences:
    channels: dict[str, list[str]] = field(default_factory=dict)
    """Message kind -> chosen channels; a kind not listed gets every channel."""
    digest: bool = False

    def wants(self, kind: str, channel: Channel) -> bool:
        chosen = self.channels.get(kind)
        return channel in PERSONAL_CHANNELS if chosen is None else channel.value in chosen

    def effective(self) -> dict[str, list[str]]:
        """Every message kind with the channels it goes to."""
        return {kind: [c.value for c in PERSONAL_CHANNELS if self.wants(kind, c)] for kind in MESSAGE_KINDS}

    @classmethod
    def from_row(cls, row: dict[str, Any] | None) -> Preferences:
        return cls() if row is None else cls(channels=dict(row["channels"]), digest=bool(row["digest"]))
