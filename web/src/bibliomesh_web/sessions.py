"""Server-side sessions: the browser holds only a random id in an HttpOnly, SameSite=Lax cookie (Secure over https);
tokens never reach the browser. Kept in this process's memory, so with several replicas the load balancer must keep
a browser on one replica (sticky sessions); a restart signs everyone out."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field

ANONYMOUS_IDLE_SECONDS = 2 * 3600


@dataclass(frozen=True)
class User:
    subject: str
    username: str
    name: str
    institution: str
    roles: tuple[str, ...]
    scopes: frozenset[str]
    pickup_location: str | None = None

    @property
    def is_staff(self) -> bool:
        return bool({"ill:lend", "ill:manage"} & self.scopes)

    @property
    def is_institution_admin(self) -> bool:
        return "institution-admin" in self.roles or self.is_platform_admin

    @property
    def is_platform_admin(self) -> bool:
        return "platform-admin" in self.roles


@dataclass
class Tokens:
    access_token: str
    refresh_token: str | None
    expires_at: float


@dataclass
class PendingSignin:
    verifier: str
    nonce: str
    next_path: str
    created: float = field(default_factory=time.time)


@dataclass
class Session:
    id: str
    csrf: str
    seen: float = field(default_factory=time.time)
    user: User | None = None
    tokens: Tokens | None = None
    pending: dict[str, PendingSignin] = field(default_factory=dict)
    flashes: list[tuple[str, str]] = field(default_factory=list)
    unread: tuple[int | None, float] | None = None  # the header badge's count and when it was read
    keep: bool = False  # a new session is stored (and its cookie set) only once a page needed it
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def flash(self, kind: str, message: str) -> None:
        """A message for the next page shown (`ok` or `error`)."""
        self.keep = True
        self.flashes.append((kind, message))

    def take_flashes(self) -> list[tuple[str, str]]:
        taken, self.flashes = self.flashes, []
        return taken

    def sign_out(self) -> None:
        self.user, self.tokens = None, None


class SessionStore:
    def __init__(self, idle_seconds: float, max_sessions: int) -> None:
        self.idle_seconds = idle_seconds
        self.max_sessions = max_sessions
        self._sessions: OrderedDict[str, Session] = OrderedDict()

    def get(self, session_id: str | None) -> Session | None:
        session = self._sessions.get(session_id or "")
        if session is None:
            return None
        idle = self.idle_seconds if session.user else ANONYMOUS_IDLE_SECONDS
        if time.time() - session.seen > idle:
            self.drop(session.id)
            return None
        session.seen = time.time()
        self._sessions.move_to_end(session.id)
        return session

    def new(self) -> Session:
        """A session not stored yet: `save` it when a page needs it (so calls that render nothing make none)."""
        return Session(id=secrets.token_urlsafe(32), csrf=secrets.token_urlsafe(32))

    def save(self, session: Session) -> None:
        while len(self._sessions) >= self.max_sessions:
            self._sessions.popitem(last=False)
        session.keep = True
        self._sessions[session.id] = session

    def renew(self, old: Session) -> Session:
        """A new id (and CSRF token) at sign-in and sign-out, so a session id seen before cannot be ridden."""
        self.drop(old.id)
        fresh = self.new()
        fresh.flashes = old.flashes
        self.save(fresh)
        return fresh

    def drop(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)
