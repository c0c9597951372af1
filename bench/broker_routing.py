"""ILL broker: requests per second from submission to the lender notified, and the routing decision time as the
rota grows, against an event round trip and the holdings select in the same run.

On PostgreSQL + RabbitMQ (and SQLite + the embedded bus), with the region of `broker_env.py` (100 institutions,
100,000 holdings, 90 days of history):
  baseline.uow_event          baseline: N transactions of one row + one `ill.request.routed` event, same relay,
                              same bare consumer, same concurrency; first commit to last event received
  submit.throughput           N `submit_request()` + `commit()` (8 concurrent), first submission to the last
                              `ill.request.routed` event received by a bare consumer in its own queue
  routing[k].holdings_select  baseline: `HoldingRepository.matching(cluster_id=...)` for a cluster of k holders
  routing[k].decision         `plan_rota()` for that cluster: directory, lender records, `build_rota`, rota rows
  routing[k].build_rota       `build_rota()` alone (pure Python, members and lender records already loaded)
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from bench.broker_env import ROTA_CLUSTER, ROTA_SIZES, BrokerEnv, Kind, Region, broker_env, build_region
from bench.report import Measurement, median_of, percentile
from bibliomesh_contracts.events.ill import STEP_EVENTS
from bibliomesh_ill.adapters.holding_repository import HoldingRepository
from bibliomesh_ill.adapters.lender_records import lender_records
from bibliomesh_ill.adapters.member_repository import MemberRepository
from bibliomesh_ill.domain.requests import IllRequest
from bibliomesh_ill.domain.rota import build_rota
from bibliomesh_ill.domain.states import RequesterState
from bibliomesh_ill.service_layer.routing import plan_rota
from bibliomesh_ill.service_layer.submit import RequestInput, submit_request
from meshkit.security import Principal

NAME = "broker"
DESCRIPTION = "ILL broker: submissions routed and notified per second, routing decision time by rota size"


@dataclass(frozen=True)
class Params:
    requests: int          # submitted in all, over `rounds` rounds
    rounds: int
    samples: int           # per rota size
    warmup: int
    concurrency: int = 8
    baseline_events: int = 500  # per round at least (the baseline is fast: fewer would be too short to time)


# SQLite (embedded mode, what `make run` uses) is smaller and only in the full run, to keep that under three
# minutes: the target is PostgreSQL.
FULL: dict[Kind, Params] = {
    "postgresql": Params(requests=2_000, rounds=4, samples=200, warmup=10),
    "sqlite": Params(requests=200, rounds=2, samples=50, warmup=5),
}
QUICK: dict[Kind, Params] = {"postgresql": Params(requests=300, rounds=2, samples=50, warmup=5, baseline_events=300)}

pings = sa.Table("bench_pings", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
                 sa.Column("at", sa.DateTime(timezone=True), nullable=False))


# --- throughput -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ask:
    borrower: str
    patron: str
    cluster_id: int
    service_type: str


def requests_to_submit(region: Region, count: int, seed: int = 7) -> list[Ask]:
    """`count` requests, each for a random cluster by a random patron of a random active institution; only
    pairs that some lender can serve (checked with `build_rota` on the generated data), so each ends routed, and
    never the same patron twice for one item (that would be refused as a duplicate)."""
    rnd = random.Random(seed)
    live = region.live_holdings()
    records = region.active_loans()
    borrowers = [code for code, m in region.domain.items() if m.active]
    clusters = sorted(region.holders)
    asks: list[Ask] = []
    seen: set[tuple[str, str, int]] = set()
    while len(asks) < count:
        borrower, cluster_id = rnd.choice(borrowers), rnd.choice(clusters)
        service_type = "copy" if rnd.random() < 0.1 else "loan"
        patron = f"patron:{borrower}:{rnd.randrange(5_000)}"
        if (borrower, patron, cluster_id) in seen or cluster_id not in live:
            continue
        rota = build_rota(region.domain[borrower], service_type, live[cluster_id], region.domain, records,
                          region.today)
        if rota.entries:
            seen.add((borrower, patron, cluster_id))
            asks.append(Ask(borrower, patron, cluster_id, service_type))
    return asks


async def _submit(env: BrokerEnv, ask: Ask) -> None:
    caller = Principal(subject=ask.patron, institution=ask.borrower, roles=frozenset({"patron"}),
                       scopes=frozenset({"ill:request"}))
    async with env.runtime.unit_of_work() as uow:
        await submit_request(uow, caller, RequestInput(service_type=ask.service_type, cluster_id=ask.cluster_id),
                             env.settings)
        await uow.commit()


async def _ping(env: BrokerEnv, ask: Ask) -> None:
    """The bare minimum of the same shape: one row, one `ill.request.routed` event, one commit."""
    now = datetime.now(UTC)
    request_id = str(uuid.uuid4())
    async with env.runtime.unit_of_work() as uow:
        await uow.session.execute(sa.insert(pings).values(at=now))
        uow.publish(STEP_EVENTS["routed"](
            request_id=request_id, step="routed", borrower=ask.borrower, lender="BM-U1", patron_id=ask.patron,
            service_type=ask.service_type, title=f"title {ask.cluster_id}", requester_state="sent_to_supplier",
            supplier_state="new", tier="region", rota_position=1, actor="system", occurred_at=now),
            aggregate_id=f"ill-request:{request_id}", aggregate_version=1, institution=ask.borrower)
        await uow.commit()


async def _timed_round(env: BrokerEnv, asks: list[Ask], concurrency: int,
                       step: Callable[[BrokerEnv, Ask], Awaitable[None]]) -> tuple[float, dict[str, Any]]:
    """Rate from the first submission to the last event received; `concurrency` tasks share the work."""
    target = len(env.notified.applied) + len(asks)
    pending = list(reversed(asks))

    async def worker() -> None:
        while pending:
            await step(env, pending.pop())

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    committed = time.perf_counter()
    await env.notified.until_count(target, within=60 + len(asks) / 5)
    finished = max(env.notified.applied.values())
    seconds = finished - started
    return len(asks) / seconds, {"count": len(asks), "seconds": round(seconds, 3),
                                 "commits_per_s": round(len(asks) / (committed - started), 1)}


async def throughput(env: BrokerEnv, region: Region, p: Params) -> list[Measurement]:
    """Interleaved rounds of the baseline and of submissions, so the machine's drift hits both alike."""
    async with env.runtime.engine.begin() as conn:
        await conn.run_sync(pings.metadata.create_all)
    asks = requests_to_submit(region, p.warmup + p.requests)
    warm, asks = asks[:p.warmup], asks[p.warmup:]
    await _timed_round(env, warm, p.concurrency, _submit)
    await _timed_round(env, warm, p.concurrency, _ping)
    per_round = p.requests // p.rounds
    base_rates: list[float] = []
    submit_rates: list[float] = []
    rounds: list[dict[str, Any]] = []
    for r in range(p.rounds):
        chunk = asks[r * per_round:(r + 1) * per_round]
        pings_ = (chunk * (1 + p.baseline_events // len(chunk)))[:max(len(chunk), p.baseline_events)]
        rate, base_detail = await _timed_round(env, pings_, p.concurrency, _ping)
        base_rates.append(rate)
        before = len(env.routed)
        rate, detail = await _timed_round(env, chunk, p.concurrency, _submit)
        submit_rates.append(rate)
        rounds.append({"baseline": base_detail, "submit": detail, "routed": len(env.routed) - before})
    routed = sum(r["routed"] for r in rounds)
    if routed != per_round * p.rounds:
        raise RuntimeError(f"{per_round * p.rounds - routed} of {per_round * p.rounds} requests were not routed")
    holders = [len(region.holders[a.cluster_id]) for a in asks]
    common = {"requests": per_round * p.rounds, "rounds": rounds, "concurrency": p.concurrency,
              "mean_holders": round(sum(holders) / len(holders), 2),
              "single_holder_share": round(sum(h == 1 for h in holders) / len(holders), 2)}
    return [
        Measurement(env.kind, "baseline.uow_event", median_of(base_rates), "events/s", samples=base_rates,
                    detail=common),
        Measurement(env.kind, "submit.throughput", median_of(submit_rates), "requests/s", samples=submit_rates,
                    baseline="baseline.uow_event", detail=common),
    ]


# --- routing decision -------------------------------------------------------------------------------------------


class QueryCounter:
    """Statements the engine ran, to show how many round trips a decision costs."""

    def __init__(self, engine: Any) -> None:
        self.count = 0
        self.engine = engine.sync_engine
        sa.event.listen(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args: Any) -> None:
        self.count += 1

    def close(self) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._seen)


def _request(borrower: str, cluster_id: int, now: datetime) -> IllRequest:
    return IllRequest(id=str(uuid.uuid4()), borrower=borrower, patron_id=f"patron:{borrower}:bench",
                      created_by="bench", origin="platform", item_key=f"cluster:{cluster_id}", citation={},
                      title=f"title {cluster_id}", service_type="loan", service_level="normal",
                      requester_state=RequesterState.SOURCING, created_at=now, updated_at=now)


async def decision(env: BrokerEnv, region: Region, size: int, p: Params) -> list[Measurement]:
    """For the cluster with `size` holders: the holdings select, then `plan_rota` on its result, in one
    transaction that is rolled back (the rota rows are written, never committed); then `build_rota` alone."""
    cluster_id = ROTA_CLUSTER + size
    selects: list[float] = []
    plans: list[float] = []
    counter = QueryCounter(env.runtime.engine)
    queries = 0
    placed = skipped = 0
    try:
        for n in range(p.warmup + p.samples):
            now = datetime.now(UTC)
            async with env.runtime.unit_of_work() as uow:
                borrower = await MemberRepository(uow.session).get(region.borrower)
                assert borrower is not None
                started = time.perf_counter()
                found = await HoldingRepository(uow.session).matching(cluster_id=cluster_id)
                selected = time.perf_counter()
                counted = counter.count
                rota = await plan_rota(uow, _request(region.borrower, cluster_id, now), borrower, found, now)
                planned = time.perf_counter()
                queries, placed, skipped = counter.count - counted, len(rota.entries), len(rota.skipped)
            if n >= p.warmup:
                selects.append((selected - started) * 1000)
                plans.append((planned - selected) * 1000)
    finally:
        counter.close()
    if len(found) != size:
        raise RuntimeError(f"cluster {cluster_id} has {len(found)} live items, expected {size}")
    async with env.runtime.unit_of_work() as uow:
        member_map = await MemberRepository(uow.session).by_codes({h.institution for h in found})
        records = await lender_records(uow.session, set(member_map), datetime.now(UTC))
    assert borrower is not None
    pure: list[float] = []
    for _ in range(p.warmup + p.samples):
        started = time.perf_counter()
        build_rota(borrower, "loan", found, member_map, records, region.today)
        pure.append((time.perf_counter() - started) * 1000)
    pure = pure[p.warmup:]
    group = f"routing[{size}]"
    detail = {"holders": size, "samples": p.samples, "placed": placed, "skipped": skipped,
              "queries_per_decision": queries}
    select, plan, build = f"{group}.holdings_select", f"{group}.decision", f"{group}.build_rota"
    return [
        Measurement(env.kind, f"{select}_p50", median_of(selects), "ms", samples=selects, detail=detail),
        Measurement(env.kind, f"{select}_p99", percentile(selects, 99), "ms", detail=detail),
        Measurement(env.kind, f"{plan}_p50", median_of(plans), "ms", samples=plans, baseline=f"{select}_p50",
                    detail=detail),
        Measurement(env.kind, f"{plan}_p99", percentile(plans, 99), "ms", baseline=f"{select}_p99", detail=detail),
        Measurement(env.kind, f"{build}_p50", median_of(pure), "ms", samples=pure, baseline=f"{select}_p50",
                    detail=detail),
        Measurement(env.kind, f"{build}_p99", percentile(pure, 99), "ms", baseline=f"{select}_p99", detail=detail),
    ]


async def run(quick: bool = False) -> list[Measurement]:
    region = build_region()
    results: list[Measurement] = []
    for kind, p in (QUICK if quick else FULL).items():
        async with broker_env(kind, region) as env:
            decisions: list[Measurement] = []
            for size in ROTA_SIZES:  # first, on the region as loaded
                decisions += await decision(env, region, size, p)
            results += await throughput(env, region, p) + decisions
    return results
