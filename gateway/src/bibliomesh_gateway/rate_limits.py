"""Rate limits per caller, per institution and per anonymous IP address, with the `limits` library.

Fixed windows, one counter per key and window, so the reset time in the `RateLimit` field is exact and a call costs
one counter update per scope. The counters are `limits` storages: in memory in embedded mode (its thread-safe
synchronous `MemoryStorage`: the asyncio one starts a task that walks every key on each update), in Redis in
distributed mode so that every gateway replica enforces one limit. A caller is charged on its own limit first and
on its institution's only if that passed, so a caller over its own limit uses none of its colleagues' share. If
Redis cannot be reached the gateway lets calls through (and says so in its log) rather than refusing everyone.
"""

from __future__ import annotations

import heapq
import logging
import math
import time
from collections.abc import Awaitable, Callable

import redis.asyncio
from limits import RateLimitItem, parse
from limits.aio.storage import RedisStorage
from limits.storage import MemoryStorage

from meshkit.security import Principal

log = logging.getLogger(__name__)
MAX_CACHED_KEYS = 65_536


class Limit:
    """One configured limit, named by its scope as a quota policy, and the header that never changes for it."""

    def __init__(self, item: RateLimitItem, scope: str) -> None:
        self.item = item
        self.scope = scope
        self.amount = item.amount
        self.window_seconds = int(item.get_expiry())
        self.policy_header = (b"ratelimit-policy", f'"{scope}";q={item.amount};w={self.window_seconds}'.encode())
        self._state_prefix = f'"{scope}";r='.encode()
        self._keys: dict[str, str] = {}  # who -> the `limits` key of its counter (building one costs more than a hit)

    def key(self, who: str) -> str:
        key = self._keys.get(who)
        if key is None:
            if len(self._keys) >= MAX_CACHED_KEYS:  # many distinct anonymous addresses: start over, never grow
                self._keys.clear()
            key = self._keys[who] = self.item.key_for(self.scope, who)
        return key

    def state_header(self, remaining: int, reset_seconds: int) -> tuple[bytes, bytes]:
        return b"ratelimit", b"%b%d;t=%d" % (self._state_prefix, remaining, reset_seconds)


class Verdict:
    """The outcome for one call, and the limit it is reported against."""

    __slots__ = ("allowed", "limit", "remaining", "reset_seconds")

    def __init__(self, limit: Limit, count: int, expires_at: float, now: float) -> None:
        amount = limit.amount
        self.allowed = count <= amount
        self.limit = limit
        self.remaining = amount - count if count < amount else 0
        reset_seconds = math.ceil(expires_at - now)
        self.reset_seconds = reset_seconds if reset_seconds > 1 else 1

    @property
    def scope(self) -> str:
        return self.limit.scope

    def headers(self) -> list[tuple[bytes, bytes]]:
        """The IETF draft's two fields (draft-ietf-httpapi-ratelimit-headers-10): the policy that applies,
        `RateLimit-Policy: "caller";q=1200;w=60`, and the state of its quota, `RateLimit: "caller";r=1187;t=42`
        (remaining calls, seconds until the window resets)."""
        return [self.limit.policy_header, self.limit.state_header(self.remaining, self.reset_seconds)]


class MemoryCounters(MemoryStorage):
    """`limits`' `MemoryStorage`, its fixed-window update trimmed for the gateway's one event loop.

    The library's storage is thread-safe (a lock per key, an error-wrapping layer around every call) and starts a
    thread every 10 ms while calls come in, only to free the memory of counters nobody reads again: 17 us a call
    for the thread alone, more than all the counting. Here `incr` does what the library's does (a new window on
    the first call after the last one ended) without the lock, and expired counters are swept from it at most
    once every `sweep_seconds`. A sweep visits only the windows that ended (a heap of window ends), never every
    counter: with many distinct anonymous addresses, a full walk would stall the calls of that moment. Reads
    (`get`, `get_expiry`) are the library's own.
    """

    def __init__(self, sweep_seconds: float = 30.0) -> None:
        super().__init__()
        self.timer.cancel()
        self.timer = _AlwaysRunning()  # type: ignore[assignment]  # the storage starts no other
        # A plain dictionary instead of the library's `Counter`: a store into a subclass of `dict` goes through its
        # Python-level slot, ten times the cost. Only `hit` counts, so a missing key never needs the default of 0.
        self.storage = {}  # type: ignore[assignment]
        self.sweep_seconds = sweep_seconds
        self._swept_at = time.monotonic()
        self._window_ends: list[tuple[float, str]] = []  # a heap; an entry is stale once its key's window moved on

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        return self.hit(key, expiry, amount)[0]

    def hit(self, key: str, expiry: float, amount: int = 1, now: float | None = None) -> tuple[int, float]:
        """`incr`, and when the key's window ends, in one call (`now`: `time.time()`, if the caller has it)."""
        if now is None:
            now = time.time()
        expires_at = self.expirations.get(key, 0)
        if expires_at > now:
            count = self.storage[key] = self.storage[key] + amount
            return count, expires_at
        if time.monotonic() - self._swept_at > self.sweep_seconds:
            self.sweep()
        self.storage[key] = amount
        self.expirations[key] = expires_at = now + expiry
        heapq.heappush(self._window_ends, (expires_at, key))
        return amount, expires_at

    def verdict(self, limit: Limit, who: str, now: float) -> Verdict:
        return Verdict(limit, *self.hit(limit.key(who), limit.window_seconds, 1, now), now)

    def sweep(self) -> None:
        """Forgets the counters whose window ended and that nobody counted on since."""
        self._swept_at = time.monotonic()
        now = time.time()
        ends = self._window_ends
        while ends and ends[0][0] <= now:
            expires_at, key = heapq.heappop(ends)
            if self.expirations.get(key) == expires_at:
                self.storage.pop(key, None)
                self.expirations.pop(key, None)
                self.locks.pop(key, None)


class _AlwaysRunning:
    def is_alive(self) -> bool:
        return True

    def cancel(self) -> None:
        pass


class Counters:
    """Fixed-window counters in a `limits` storage: `hit` starts a key's window on its first call."""

    def __init__(self, storage: MemoryCounters | RedisStorage) -> None:
        self.storage = storage
        self.memory = storage if isinstance(storage, MemoryCounters) else None

    async def hit(self, key: str, expiry: int) -> tuple[int, float]:
        """The key's count after this call, and when its window ends."""
        if isinstance(self.storage, MemoryCounters):
            return self.storage.hit(key, expiry)
        return await self.storage.incr(key, expiry), await self.storage.get_expiry(key)


class RateLimits:
    def __init__(self, counters: Counters, *, anonymous: str, caller: str, institution: str,
                 close: Callable[[], Awaitable[None]] | None = None) -> None:
        self.counters = counters
        self.memory = counters.memory
        self._close = close
        self.anonymous = Limit(parse(anonymous), "address")
        self.caller = Limit(parse(caller), "caller")
        self.institution = Limit(parse(institution), "institution")
        self._warned_at = 0.0

    @classmethod
    def in_memory(cls, *, anonymous: str, caller: str, institution: str) -> RateLimits:
        return cls(Counters(MemoryCounters()), anonymous=anonymous, caller=caller, institution=institution)

    @classmethod
    def in_redis(cls, url: str, key_prefix: str, *, anonymous: str, caller: str, institution: str) -> RateLimits:
        pool = redis.asyncio.ConnectionPool.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        storage = RedisStorage(f"async+{url}", implementation="redispy", key_prefix=key_prefix,
                               connection_pool=pool)  # type: ignore[arg-type]  # passed on to redis.asyncio.Redis
        return cls(Counters(storage), anonymous=anonymous, caller=caller, institution=institution,
                   close=pool.aclose)

    async def charge(self, principal: Principal | None, address: str) -> Verdict | None:
        """Count one call; None when the counters cannot be reached (the call goes through)."""
        if self.memory is not None:
            return self.charge_in_memory(principal, address)
        try:
            if principal is None:
                return await self._charge(self.anonymous, address)
            verdict = await self._charge(self.caller, principal.subject)
            if not verdict.allowed:
                return verdict
            return await self._charge(self.institution, principal.institution, verdict)
        except Exception as exc:  # a broken counter store must not take the front door down
            self._warn(exc)
            return None

    def charge_in_memory(self, principal: Principal | None, address: str) -> Verdict:
        """`charge` when the counters are in memory (`memory` is set): no I/O, so no await and no coroutine at all
        (the gateway's hot path)."""
        counters = self.memory
        assert counters is not None
        now = time.time()
        if principal is None:
            return counters.verdict(self.anonymous, address, now)
        verdict = counters.verdict(self.caller, principal.subject, now)
        if not verdict.allowed:
            return verdict
        institution = self.institution  # reported only when it refuses (the caller's own quota is the closer one)
        count, expires_at = counters.hit(institution.key(principal.institution), institution.window_seconds, 1, now)
        return verdict if count <= institution.amount else Verdict(institution, count, expires_at, now)

    async def _charge(self, limit: Limit, who: str, passed: Verdict | None = None) -> Verdict:
        """The verdict on `limit`; if it allows the call and an earlier limit passed, that one is reported."""
        count, expires_at = await self.counters.hit(limit.key(who), limit.window_seconds)
        if count <= limit.amount and passed is not None:
            return passed
        return Verdict(limit, count, expires_at, time.time())

    def _warn(self, exc: Exception) -> None:
        if time.monotonic() - self._warned_at > 10:
            self._warned_at = time.monotonic()
            log.warning("rate-limit counters unreachable; calls go through unlimited", extra={
                "error": type(exc).__name__})

    async def close(self) -> None:
        if self._close is not None:
            await self._close()
