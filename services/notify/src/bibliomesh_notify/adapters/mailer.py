"""Where e-mail goes: an SMTP server (aiosmtplib, one connection per batch), or `.eml` files when none is
configured, so a person trying the platform can open what would have been sent."""

from __future__ import annotations

import asyncio
import os
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

import aiosmtplib

from bibliomesh_notify.settings import NotifySettings

Outcome = Exception | None


class Mailer(Protocol):
    async def send(self, messages: list[EmailMessage]) -> list[Outcome]:
        """Send each message; the outcome at the same position is None when it was accepted."""

    def close(self) -> None:
        """Let go of any open connection."""


class SmtpMailer:
    """Keeps one connection open between batches; a connection the server dropped meanwhile is opened again."""

    def __init__(self, settings: NotifySettings) -> None:
        self.settings = settings
        self._client: aiosmtplib.SMTP | None = None

    def _new_client(self) -> aiosmtplib.SMTP:
        s = self.settings
        return aiosmtplib.SMTP(hostname=s.smtp_host, port=s.smtp_port, timeout=s.smtp_timeout_seconds,
                               use_tls=s.smtp_tls, start_tls=s.smtp_starttls, username=s.smtp_username,
                               password=s.smtp_password.get_secret_value() if s.smtp_password else None)

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._client is None or not self._client.is_connected:
            client = self._new_client()
            await client.connect()
            self._client = client
        return self._client

    async def send(self, messages: list[EmailMessage]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for message in messages:
            outcomes.append(await self._send_one(message, retry_on_drop=True))
        return outcomes

    async def _send_one(self, message: EmailMessage, *, retry_on_drop: bool) -> Outcome:
        try:
            client = await self._connected()
        except (aiosmtplib.SMTPException, OSError) as exc:
            return exc
        try:
            await client.send_message(message)
        except aiosmtplib.SMTPServerDisconnected as exc:
            self.close()
            # An idle connection the server closed: one fresh try before counting a failure.
            return await self._send_one(message, retry_on_drop=False) if retry_on_drop else exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            return exc
        return None

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


class EmlOutbox:
    """Each message as `<DATA_DIR>/outbox-mail/<Message-ID>.eml`: writing it again replaces it, never adds one."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def send(self, messages: list[EmailMessage]) -> list[Outcome]:
        return await asyncio.to_thread(self._write_all, messages)

    def close(self) -> None:
        pass

    def _write_all(self, messages: list[EmailMessage]) -> list[Outcome]:
        self.folder.mkdir(parents=True, exist_ok=True)
        outcomes: list[Outcome] = []
        for message in messages:
            name = str(message["Message-ID"]).strip("<>").split("@")[0]
            target = self.folder / f"{name}.eml"
            partial = target.with_suffix(".tmp")
            try:
                partial.write_bytes(message.as_bytes())
                os.replace(partial, target)
                outcomes.append(None)
            except OSError as exc:
                outcomes.append(exc)
        return outcomes


def mailer_for(settings: NotifySettings) -> Mailer:
    if settings.smtp_host:
        return SmtpMailer(settings)
    return EmlOutbox(settings.data_dir / "outbox-mail")
