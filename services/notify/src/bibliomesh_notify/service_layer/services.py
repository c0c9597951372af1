"""What notify's consumers, workers and routes share: settings, the secret box, wake-ups, the clock and the open
live streams."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bibliomesh_notify.service_layer.signals import Signals
from bibliomesh_notify.service_layer.streams import OpenStreams
from bibliomesh_notify.settings import NotifySettings
from meshkit.secret_box import SecretBox, open_secret_box

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class NotifyServices:
    settings: NotifySettings
    box: SecretBox
    signals: Signals = field(default_factory=Signals)
    clock: Clock = utc_now
    streams: OpenStreams = field(default_factory=OpenStreams)


def build_services(settings: NotifySettings, clock: Clock | None = None) -> NotifyServices:
    configured = settings.secrets_key.get_secret_value() if settings.secrets_key is not None else None
    return NotifyServices(settings=settings, box=open_secret_box(configured, settings.data_dir, "notify"),
                          clock=clock or utc_now, streams=OpenStreams(settings.stream_max_per_person))
