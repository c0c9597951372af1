"""Rate limits per caller, per institution and per anonymous IP address, with the `limits` library.

Fixed windows (one counter per key and window, so `RateLimit-Reset` is exact and a call costs one counter
update), kept in memory in embedded mode and in Redis in distributed mode so that every gateway replica enforces
one limit. A caller is
charged on its own limit first and on its institution's only if that passed, so a caller that is over its own
limit uses none of its colleagues' share. If Redis cannot be reached the gateway lets calls through (and says
so in its log) rather than refusing everyone.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import redis.asyncio
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter

from meshkit.security import Principal

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Verdict:
    """The outcome for one call, and the limit it is reported against (the IETF draft's RateLimit headers)."""

    allowed: bool
    limit: RateLimitItem
    remaining: int
    reset_seconds: int
    scope: str

    def headers(self) -> list[tuple[bytes, bytes]]:
        """`RateLimit-Limit/-Remaining/-Reset` and `RateLimit-Policy` (draft-ietf-httpapi-ratelimit-headers-07)."""
        window = self.limit.get_expiry()
        return [(b"ratelimit-limit", str(self.limit.amount).encode()),
                (b"ratelimit-remaining", str(self.remaining).encode()),
                (b"ratelimit-reset", str(self.reset_seconds).encode()),
                (b"ratelimit-policy", f"{self.limit.amount};w={window};comment=\"{self.scope}\"".encode())]


class RateLimits:
    def __init__(self, storage: Storage, *, anonymous: str, caller: str, institution: str,
                 close: Callable[[], Awaitable[None]] | None = None) -> None:
        self.storage = storage
        self._close = close
        self.limiter = FixedWindowRateLimiter(storage)
        self.anonymous = parse(anonymous)
        self.caller = parse(caller)
        self.institution = parse(institution)
        self._warned_at = 0.0

    @classmethod
    def in_memory(cls, *, anonymous: str, caller: str, institution: str) -> RateLimits:
        return cls(MemoryStorage(), anonymous=anonymous, caller=caller, institution=institution)

    @classmethod
    def in_redis(cls, url: str, key_prefix: str, *, anonymous: str, caller: str, institution: str) -> RateLimits:
        pool = redis.asyncio.ConnectionPool.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        storage = RedisStorage(f"async+{url}", implementation="redispy", key_prefix=key_prefix,
                               connection_pool=pool)  # type: ignore[arg-type]  # passed on to redis.asyncio.Redis
        return cls(storage, anonymous=anonymous, caller=caller, institution=institution, close=pool.aclose)

    async def charge(self, principal: Principal | None, address: str) -> Verdict | None:
        """Count one call; None when the counters cannot be reached (the call goes through)."""
        try:
            if principal is None:
                return await self._charge(self.anonymous, "address", address)
            verdict = await self._charge(self.caller, "caller", principal.subject)
            if not verdict.allowed:
                return verdict
            if await self.limiter.hit(self.institution, "institution", principal.institution):
                return verdict
            return await self._stats(False, self.institution, "institution", principal.institution)
        except Exception as exc:  # a broken counter store must not take the front door down
            self._warn(exc)
            return None

    async def _charge(self, item: RateLimitItem, scope: str, key: str) -> Verdict:
        return await self._stats(await self.limiter.hit(item, scope, key), item, scope, key)

    async def _stats(self, allowed: bool, item: RateLimitItem, scope: str, key: str) -> Verdict:
        stats = await self.limiter.get_window_stats(item, scope, key)
        reset = max(1, math.ceil(stats.reset_time - time.time())) if stats.remaining < item.amount else 0
        return Verdict(allowed, item, stats.remaining, reset, scope)

    def _warn(self, exc: Exception) -> None:
        if time.monotonic() - self._warned_at > 10:
            self._warned_at = time.monotonic()
            log.warning("rate-limit counters unreachable; calls go through unlimited", extra={
                "error": type(exc).__name__})

    async def close(self) -> None:
        if self._close is not None:
            await self._close()
