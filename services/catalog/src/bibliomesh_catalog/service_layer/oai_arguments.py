"""OAI-PMH request arguments: which verb takes which, dates at both granularities, opaque resumption tokens.

A resumption token is URL-safe base64 of JSON (the list request's arguments, the (datestamp, id) of the last
record sent and the cursor), signed with the provider's key (HMAC-SHA256), so a damaged or hand-made token is
refused as badResumptionToken.
It carries all the state: no harvest is remembered on the server.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
SECOND = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
_TOKEN_VERSION = 1

REQUIRED = {"Identify": set(), "ListMetadataFormats": set(), "ListSets": set(),
            "ListIdentifiers": {"metadataPrefix"}, "ListRecords": {"metadataPrefix"},
            "GetRecord": {"identifier", "metadataPrefix"}}
OPTIONAL = {"Identify": set(), "ListMetadataFormats": {"identifier"}, "ListSets": set(),
            "ListIdentifiers": {"from", "until", "set"}, "ListRecords": {"from", "until", "set"},
            "GetRecord": set()}
EXCLUSIVE = {"ListSets", "ListIdentifiers", "ListRecords"}


class OaiError(Exception):
    """An OAI-PMH error condition: `code` is the protocol's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def check_arguments(verb: str, arguments: dict[str, str]) -> None:
    """Raise badArgument unless `arguments` (everything but verb) are exactly what `verb` allows."""
    given = set(arguments)
    if "resumptionToken" in given and verb in EXCLUSIVE:
        if given != {"resumptionToken"}:
            raise OaiError("badArgument", "resumptionToken is an exclusive argument")
        return
    unknown = given - REQUIRED[verb] - OPTIONAL[verb]
    if unknown:
        raise OaiError("badArgument", f"illegal argument(s) for {verb}: {', '.join(sorted(unknown))}")
    missing = REQUIRED[verb] - given
    if missing:
        raise OaiError("badArgument", f"missing argument(s) for {verb}: {', '.join(sorted(missing))}")


def parse_datestamp(value: str, name: str) -> tuple[datetime, str]:
    """A UTC datetime and its granularity (`day` or `second`) from an OAI date argument."""
    try:
        if DAY.match(value):
            return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC), "day"
        if SECOND.match(value):
            return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC), "second"
    except ValueError:
        pass
    raise OaiError("badArgument", f"{name}={value} is not a date as YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ")


def _just_after(until: datetime, granularity: str) -> datetime | None:
    """The exclusive end of an inclusive `until`; None (no end) for the last day or second of year 9999, which
    no datestamp comes after."""
    try:
        return until + (timedelta(days=1) if granularity == "day" else timedelta(seconds=1))
    except OverflowError:
        return None


@dataclass(frozen=True)
class ListRequest:
    """What a ListIdentifiers/ListRecords harvest asks for, as given on its first request."""

    metadata_prefix: str
    from_: str | None = None
    until: str | None = None
    set_spec: str | None = None

    def window(self) -> tuple[datetime | None, datetime | None]:
        """[start, end) bounds on the datestamp; raises badArgument for bad or mismatched dates."""
        start = end = None
        granularities = set()
        if self.from_ is not None:
            start, granularity = parse_datestamp(self.from_, "from")
            granularities.add(granularity)
        if self.until is not None:
            until, granularity = parse_datestamp(self.until, "until")
            granularities.add(granularity)
            end = _just_after(until, granularity)
        if len(granularities) > 1:
            raise OaiError("badArgument", "from and until must have the same granularity")
        if start is not None and end is not None and start >= end:
            raise OaiError("badArgument", "from is later than until")
        return start, end


@dataclass(frozen=True)
class Position:
    """Where a harvest stands: the last record sent (datestamp, id) and how many were sent before this page."""

    request: ListRequest
    after_datestamp: datetime
    after_id: int
    cursor: int


def _signature(payload: bytes, key: bytes) -> str:
    return hmac.new(key, payload, hashlib.sha256).hexdigest()[:32]


def encode_token(position: Position, key: bytes) -> str:
    """The position as an opaque, HMAC-signed token (base64url of the JSON and its signature)."""
    body = {"v": _TOKEN_VERSION, "r": asdict(position.request), "t": position.after_datestamp.isoformat(),
            "i": position.after_id, "c": position.cursor}
    payload = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(payload + b"." + _signature(payload, key).encode()).decode().rstrip("=")


def decode_token(token: str, key: bytes) -> Position:
    """The position a token encodes; badResumptionToken for anything this server did not issue."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload, _, checksum = raw.rpartition(b".")
        if not hmac.compare_digest(checksum.decode(), _signature(payload, key)):
            raise ValueError("signature")
        body = json.loads(payload)
        if body["v"] != _TOKEN_VERSION:
            raise ValueError("version")
        request = ListRequest(**body["r"])
        if not isinstance(request.metadata_prefix, str):
            raise ValueError("metadataPrefix")
        after = datetime.fromisoformat(body["t"])
        after_id, cursor = body["i"], body["c"]
        if not isinstance(after_id, int) or not isinstance(cursor, int) or cursor < 0:
            raise ValueError("position")
    except (ValueError, TypeError, KeyError, UnicodeDecodeError) as error:
        raise OaiError("badResumptionToken", "the resumption token is invalid or has expired") from error
    return Position(request, after if after.tzinfo else after.replace(tzinfo=UTC), after_id, cursor)
