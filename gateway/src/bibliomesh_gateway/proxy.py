"""The proxy: every call under a service prefix is checked at the edge and streamed to the service and back.

In order: size limit (413), bearer token (401), rate limits (429), the service's circuit breaker (503 at once),
then the call, retried only for GET/HEAD/OPTIONS without a body after a connection failure, within the retry
budget. Bodies are streamed both ways in the pieces they arrive in, never held whole.

How a call that got no answer is classified (and what the breaker makes of it): connection refused, reset or
dropped before an answer, or connecting too long, is a 503 and a breaker failure (retried as above); no answer
within the route's read timeout is a 504 and a breaker failure (never retried: the service may still be working);
an answer the client cannot read (aiohttp's `ClientResponseError`: a header line or field over its limits, a
malformed head) is a 502 that the breaker does not count and that is not retried, since the service is up and the
answer most likely repeats what the call sent. A body over its limit (413) and a caller that left count for
nothing either.
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp
from starlette.types import Receive, Scope, Send
from yarl import URL

from bibliomesh_gateway.breaker import CircuitBreaker
from bibliomesh_gateway.edge_auth import BEARER, EdgeAuthenticator
from bibliomesh_gateway.public_routes import is_public
from bibliomesh_gateway.rate_limits import RateLimits, Verdict
from bibliomesh_gateway.retry_budget import RetryBudget
from bibliomesh_gateway.routing import Route, RouteTable
from bibliomesh_gateway.settings import GatewaySettings
from bibliomesh_gateway.upstream import (
    BodyTooLarge,
    CallerLeft,
    Incoming,
    RequestBody,
    close_when_caller_leaves,
    open_session,
    response_headers,
    stream_body,
)
from meshkit import context
from meshkit.problems import Problem, problem_response
from meshkit.security import Principal

log = logging.getLogger(__name__)
RETRYABLE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ANSWER_STARTED = "bibliomesh.answer_started"  # in the ASGI scope, once the service's answer began to go out


class Proxy:
    def __init__(self, settings: GatewaySettings, routes: RouteTable, auth: EdgeAuthenticator,
                 limits: RateLimits, edge_headers: list[tuple[bytes, bytes]]) -> None:
        self.routes = routes
        self.edge_headers = edge_headers
        self.edge_header_names = frozenset(name for name, _ in edge_headers)
        self.problem_headers = {name.decode(): value.decode() for name, value in edge_headers}
        self.auth = auth
        self.limits = limits
        self.retry_attempts = settings.retry_attempts
        self.breakers = {name: CircuitBreaker(settings.breaker_failure_threshold, settings.breaker_open_seconds)
                         for name in routes.services}
        self.budgets = {name: RetryBudget(settings.retry_budget_ratio, settings.retry_budget_minimum)
                        for name in routes.services}
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:  # created on first use, inside the server's event loop
            self._session = open_session()
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
        await self.limits.close()

    async def handle(self, route: Route, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            incoming = Incoming(scope)
            path = scope["path"]
            if "/." in path and any(segment in (".", "..") for segment in path.split("/")):
                return await self._problem(scope, receive, send, 400,
                                           "the path must not contain `.` or `..` segments")
            if route.body_limit and incoming.body_length > route.body_limit:
                return await self._problem(scope, receive, send, 413,
                                           f"the body is larger than {route.body_limit} bytes")
            principal = self.auth.remembered(incoming.authorization) if incoming.authorization else None
            if principal is not None:
                context.institution.set(principal.institution)
            else:
                try:
                    principal = await self._authenticate(incoming, scope["method"], path)
                except Problem as refusal:
                    return await self._refuse(refusal, incoming, scope, receive, send)
            limits = self.limits
            verdict = limits.charge_in_memory(principal, incoming.origin) if limits.memory is not None \
                else await limits.charge(principal, incoming.origin)
            if verdict is not None and not verdict.allowed:
                return await self._too_many(verdict, scope, receive, send)
            breaker = self.breakers[route.service]
            if not breaker.allow():
                return await self._problem(scope, receive, send, 503, f"the {route.service} service is "
                                           "unavailable; try again shortly",
                                           {"Retry-After": str(breaker.retry_after())})
            await self._forward(route, breaker, incoming, scope, receive, send,
                                verdict.headers() if verdict is not None else [])
        except Exception:
            log.exception("the gateway failed on a call", extra={"upstream": route.service})
            if scope.get(ANSWER_STARTED):  # too late for a problem answer: the server ends the connection
                raise
            await self._problem(scope, receive, send, 500, "The server could not complete the request.")

    async def _problem(self, scope: Scope, receive: Receive, send: Send, status: int, detail: str,
                       headers: dict[str, str] | None = None) -> None:
        response = problem_response(status, detail, instance=scope["path"],
                                    headers={**self.problem_headers, **(headers or {})})
        await response(scope, receive, send)

    async def _too_many(self, verdict: Verdict, scope: Scope, receive: Receive, send: Send) -> None:
        headers = {name.decode(): value.decode() for name, value in verdict.headers()}
        headers["Retry-After"] = str(max(1, verdict.reset_seconds))
        await self._problem(scope, receive, send, 429, f"too many requests for this {verdict.scope}; try again "
                            f"in {headers['Retry-After']} s", headers)

    async def _authenticate(self, incoming: Incoming, method: str, path: str) -> Principal | None:
        authorization = incoming.authorization
        if authorization is None or authorization[:7].lower() != BEARER:
            # Public routes take other credentials too (HTTP Basic client authentication at /auth/token).
            if is_public(method, path):
                return None
            if authorization is None:
                raise Problem("an access token is required", status=401, headers={"WWW-Authenticate": "Bearer"})
        principal = await self.auth.authenticate(authorization)
        context.institution.set(principal.institution)
        return principal

    async def _refuse(self, refusal: Problem, incoming: Incoming, scope: Scope, receive: Receive,
                      send: Send) -> None:
        # Failed sign-ins count against the caller's address, so guessing tokens is limited like anonymous calls.
        verdict = await self.limits.charge(None, incoming.origin) if refusal.status == 401 else None
        if verdict is not None and not verdict.allowed:
            return await self._too_many(verdict, scope, receive, send)
        await self._problem(scope, receive, send, refusal.status, refusal.detail, refusal.headers)

    async def _forward(self, route: Route, breaker: CircuitBreaker, incoming: Incoming, scope: Scope,
                       receive: Receive, send: Send, extra_headers: list[tuple[bytes, bytes]]) -> None:
        method = scope["method"]
        query = scope["query_string"]
        url = URL(f"{route.base_url}{scope['raw_path'].decode('latin-1')}"
                  + (f"?{query.decode('latin-1')}" if query else ""), encoded=True)
        body = RequestBody(receive, route.body_limit) if incoming.has_body else None
        retries_left = self.retry_attempts if method in RETRYABLE_METHODS and body is None else 0
        budget = self.budgets[route.service]
        budget.record_call()
        answered = False
        try:
            while True:
                try:
                    response = await self.session.request(
                        method, url, headers=incoming.forwarded, data=body.chunks() if body else None,
                        allow_redirects=False, timeout=route.timeout)
                    break
                except aiohttp.ConnectionTimeoutError:
                    failure = (503, "is unavailable")
                except (TimeoutError, aiohttp.ServerTimeoutError):
                    failure = (504, "timed out")
                except aiohttp.ClientConnectionError:
                    failure = (503, "is unavailable")
                except (aiohttp.ClientError, BodyTooLarge, CallerLeft):
                    failure = (502, "gave an invalid answer")
                if body is not None and body.caller_left:
                    return
                if body is not None and body.too_large:
                    answered = True
                    breaker.release()
                    return await self._problem(scope, receive, send, 413,
                                               f"the body is larger than {route.body_limit} bytes")
                if failure[0] == 502:
                    # An answer that cannot be read (a header over the client's limits, a broken head) came from a
                    # service that is up, and most likely echoes what this call sent: counted, it would let any
                    # caller open the breaker for everyone. Neither a success nor a failure; not retried.
                    answered = True
                    breaker.release()
                    log.warning("upstream gave an invalid answer", extra={"upstream": route.service})
                    return await self._problem(scope, receive, send, 502,
                                               f"the {route.service} service gave an invalid answer")
                breaker.failed()
                if failure[0] == 503 and retries_left and breaker.allow() and budget.try_spend():
                    retries_left -= 1
                    continue
                answered = True
                log.warning("upstream %s", failure[1], extra={"upstream": route.service})
                return await self._problem(scope, receive, send, failure[0], f"the {route.service} service "
                                           f"{failure[1]}; try again shortly", {"Retry-After": "5"})
            answered = True
            breaker.succeeded()
            await self._relay(response, body, scope, receive, send, extra_headers)
        finally:
            if not answered:
                breaker.release()

    async def _relay(self, response: aiohttp.ClientResponse, body: RequestBody | None, scope: Scope,
                     receive: Receive, send: Send, extra_headers: list[tuple[bytes, bytes]]) -> None:
        watcher = None
        try:
            headers = response_headers(response)
            if any(name in self.edge_header_names for name, _ in headers):  # the service's own are kept
                present = {name for name, _ in headers}
                headers += [header for header in self.edge_headers if header[0] not in present]
            else:
                headers += self.edge_headers
            await send({"type": "http.response.start", "status": response.status,
                        "headers": headers + extra_headers})
            scope[ANSWER_STARTED] = True
            length = response.content_length
            if length is None and (body is None or body.complete):
                # A stream (SSE) may never end by itself: stop reading it when the caller goes away.
                watcher = asyncio.create_task(close_when_caller_leaves(receive, response))
            await stream_body(response, send, length)
        except aiohttp.ClientError as exc:
            log.warning("upstream broke off its answer", extra={"error": type(exc).__name__})
        finally:
            if watcher is not None:
                watcher.cancel()
            response.release()



