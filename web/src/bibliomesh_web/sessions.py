"""Server-side sessions: the browser holds only a random id in an HttpOnly, SameSite=Lax cookie (Secure over https);
tokens never reach the browser. Kept in this process's memory, so with several replicas the load balancer must keep
a browser on one replica (sticky sessions); a restart signs everyone out.

Every page carries a CSRF token (the language switch is a form on each one), so every visitor gets a session, and
anyone can make anonymous ones by the thousand just by leaving the cookie off. So the store keeps three pools, each
capped at `max_sessions` and each forgetting its least recently used session first: signed-in people, visitors
halfway through signing in (gone to their identity provider, a sign-in pending), and other anonymous visitors. A
flood of cookieless requests then only pushes out other anonymous sessions, never a signed-in person nor one coming
back from signing in; only more of those than the cap can do that. A session's pool follows its state each time it
is saved or found (sign-in stores the new session with its person; a session signed out in place becomes anonymous
when next seen).

A session the store forgets (sign-out and sign-in give the browser a new one; idle too long; pushed out of a full
pool) is signed out there and then, and so is one whose refresh was refused: its `signed_out` event tells whatever
still holds it, the live notification relays, to stop at once."""

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
    signed_out: asyncio.Event = field(default_factory=asyncio.Event)

    def flash(self, kind: str, message: str) -> None:
        """A message for the next page shown (`ok` or `error`)."""
        self.keep = True
        self.flashes.append((kind, message))

    def take_flashes(self) -> list[tuple[str, str]]:
        taken, self.flashes = self.flashes, []
        return taken

    def sign_out(self) -> None:
        """No one is signed in here any more: their tokens are forgotten and their live relays end."""
        self.user, self.tokens = None, None
        self.signed_out.set()


class SessionStore:
    def __init__(self, idle_seconds: float, max_sessions: int) -> None:
        self.idle_seconds = idle_seconds
        self.max_sessions = max_sessions
        self._signed_in: OrderedDict[str, Session] = OrderedDict()
        self._signing_in: OrderedDict[str, Session] = OrderedDict()
        self._anonymous: OrderedDict[str, Session] = OrderedDict()

    def get(self, session_id: str | None) -> Session | None:
        key = session_id or ""
        session = self._signed_in.get(key) or self._signing_in.get(key) or self._anonymous.get(key)
        if session is None:
            return None
        if time.time() > self.idle_until(session):
            self.drop(session.id)
            return None
        session.seen = time.time()
        self._place(session)
        return session

    def new(self) -> Session:
        """A session not stored yet: `save` it when a page needs it (so calls that render nothing make none)."""
        return Session(id=secrets.token_urlsafe(32), csrf=secrets.token_urlsafe(32))

    def save(self, session: Session) -> None:
        session.keep = True
        self._place(session)

    def renew(self, old: Session, user: User | None = None, tokens: Tokens | None = None) -> Session:
        """A new id (and CSRF token) at sign-in and sign-out, so a session id seen before cannot be ridden; stored
        with its person (none: signed out)."""
        self._unlist(old.id)
        old.sign_out()  # stored or not, nothing may go on in the old one's name
        fresh = self.new()
        fresh.flashes, fresh.user, fresh.tokens = old.flashes, user, tokens
        self.save(fresh)
        return fresh

    def idle_until(self, session: Session) -> float:
        """When `session` runs out (a `time.time()`) unless it is used before."""
        return session.seen + (self.idle_seconds if session.user else ANONYMOUS_IDLE_SECONDS)

    def drop(self, session_id: str) -> None:
        """Forget a session, signing out whoever was signed in on it."""
        if (session := self._unlist(session_id)) is not None:
            session.sign_out()

    def _unlist(self, session_id: str) -> Session | None:
        return (self._signed_in.pop(session_id, None) or self._signing_in.pop(session_id, None)
                or self._anonymous.pop(session_id, None))

    def _place(self, session: Session) -> None:
        """Into its pool as the most recently used, forgetting that pool's least recently used one if it is full."""
        self._unlist(session.id)
        pool = self._signed_in if session.user else self._signing_in if session.pending else self._anonymous
        while len(pool) >= self.max_sessions:
            pool.popitem(last=False)[1].sign_out()
        pool[session.id] = session
