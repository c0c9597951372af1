"""The live notification streams open in this replica, by person: at most `per_person` each (opening one more
ends the oldest), and ended on demand (the person was disabled). A stream notices that it was ended the next
time it wakes (at most `NOTIFY_STREAM_POLL_SECONDS` later) and closes after telling the client why."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import sqlalchemy as sa

from meshkit.unit_of_work import UnitOfWork

EndReason = Literal["token_expired", "account_disabled", "superseded"]


@dataclass(eq=False)
class OpenStream:
    subject: str
    ended: EndReason | None = None

    def end(self, reason: EndReason) -> None:
        if self.ended is None:
            self.ended = reason


@dataclass
class OpenStreams:
    per_person: int = 5
    _by_subject: dict[str, list[OpenStream]] = field(default_factory=dict)

    def open(self, subject: str) -> OpenStream:
        """A new stream of `subject`'s; past `per_person`, their oldest still running is ended."""
        stream = OpenStream(subject)
        streams = self._by_subject.setdefault(subject, [])
        streams.append(stream)
        running = [s for s in streams if s.ended is None]
        for oldest in running[:max(0, len(running) - self.per_person)]:
            oldest.end("superseded")
        return stream

    def close(self, stream: OpenStream) -> None:
        streams = self._by_subject.get(stream.subject, [])
        if stream in streams:
            streams.remove(stream)
        if not streams:
            self._by_subject.pop(stream.subject, None)

    def end_all(self, subject: str, reason: EndReason) -> None:
        for stream in self._by_subject.get(subject, []):
            stream.end(reason)

    def running(self, subject: str) -> int:
        return sum(1 for s in self._by_subject.get(subject, []) if s.ended is None)


def end_streams_after_commit(uow: UnitOfWork, streams: OpenStreams, subject: str, reason: EndReason) -> None:
    """End `subject`'s streams in this replica once the transaction that learnt why has committed (the other
    replicas' streams find out when they next look at the person, every `NOTIFY_STREAM_RECHECK_SECONDS`)."""
    def end(_session: Any) -> None:
        streams.end_all(subject, reason)

    sa.event.listen(uow.session.sync_session, "after_commit", end, once=True)
