"""A region of 100 institutions and 100,000 holdings in a migrated ILL broker database, with a running broker.

The data go in directly (SQLAlchemy executemany into the tables the directory and holdings events fill; those
apply paths are tested elsewhere), so building the region takes seconds:

- Directory: 8 universities with 28 branch libraries, 44 public and 20 research libraries in four regions (one
  university in two). Universities and branches share openly, 70% of public and 85% of research libraries do.
  Two institutions are suspended, three are closed today, four research libraries supply copies only, two small
  public libraries are at their lending limit. Limits: 3,000 items out for a university, 800 for a branch, 500
  for a research library, 150 for a public library.
- Holdings: 30,000 clusters, each held by 1-100 institutions drawn with P(k) ~ 1/k^2 (about half held once, mean 3.3),
  holders weighted by size (university 10, research 4, branch 3, public 1.5), one item per holder: 62% on the
  shelf, 25% on loan, 6% not for loan, 4% missing or in process, 3% electronic; 1% are withdrawn tombstones.
  ISBN and OCLC numbers go to `holding_identifiers`. Four more clusters are held by exactly 1, 10, 50 and 100
  institutions, for the rota-size measurements.
- History: 90 days of supplied requests (20,000) and loans still out (1,000), with their rota entries, so that
  what routing reads about lenders (balance, loans out, time to ship) comes from tables of a realistic size.

`broker_env(kind)` yields the running broker (the `ServiceRuntime` of `create_app()`: the broker's tables, consumers
and relay, without its background workers) and a bare consumer of `ill.request.routed` on the same bus.
"""

from __future__ import annotations

import random
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa

from bench.bus_env import AppliedClock
from bibliomesh_ill.adapters.tables import holding_identifiers, holdings, members, requests, rota_entries
from bibliomesh_ill.bootstrap import MIGRATIONS, create_app
from bibliomesh_ill.domain.rota import Holding, LenderRecord
from bibliomesh_ill.domain.tiers import Member
from bibliomesh_ill.settings import IllSettings
from meshkit.bus import Delivery, RetryPolicy, Subscription, Transport
from meshkit.bus.embedded import EmbeddedTransport
from meshkit.bus.rabbitmq import RabbitMQTransport
from meshkit.migrations import upgrade_in_thread
from meshkit.runtime import ServiceRuntime
from tests.support.infra import create_database, database_url, drop_database, rabbitmq_vhost

Kind = Literal["postgresql", "sqlite"]
REGIONS = ("CN-LN-DL", "CN-LN-SY", "CN-BJ", "CN-SH")
CLUSTERS = 30_000
HOLDINGS = 100_000
MAX_HOLDERS = 100
ROTA_SIZES = (1, 10, 50, 100)
ROTA_CLUSTER = 9_000_000  # + size: the dedicated clusters
HISTORY_SUPPLIED = 20_000
HISTORY_OUT = 1_000
NOTIFIED = Subscription("bench-lender.notified", ("ill.request.routed", "ill.request.unfilled"))
RETRY = RetryPolicy(delays_seconds=(0.5, 1.0))
_WEIGHT = {"university": 10.0, "research-library": 4.0, "branch-library": 3.0, "public-library": 1.5}


# --- the data ---------------------------------------------------------------------------------------------------


@dataclass
class Region:
    today: date
    members: list[dict[str, Any]]
    holders: dict[int, list[str]]            # cluster -> holding institutions (random clusters only)
    items: list[dict[str, Any]]
    identifiers: list[dict[str, Any]]
    history: list[dict[str, Any]]
    history_rota: list[dict[str, Any]]
    borrower: str                            # who requests in the rota-size measurements
    domain: dict[str, Member] = field(default_factory=dict)

    @property
    def codes(self) -> list[str]:
        return [m["code"] for m in self.members]

    def active_loans(self) -> dict[str, LenderRecord]:
        """Loans out per lender in the history (what the lending limits are checked against)."""
        out: dict[str, int] = {}
        for row in self.history:
            if row["supplier_state"] == "shipped":
                out[row["lender"]] = out.get(row["lender"], 0) + 1
        return {code: LenderRecord(active_loans=n) for code, n in out.items()}

    def live_holdings(self) -> dict[int, list[Holding]]:
        """Cluster -> its live items, as `HoldingRepository.matching` returns them."""
        by_cluster: dict[int, list[Holding]] = {}
        for i in self.items:
            if not i["withdrawn"]:
                by_cluster.setdefault(i["cluster_id"], []).append(Holding(
                    institution=i["institution"], item_id=i["item_id"], status=i["status"], format=i["format"],
                    ill_copy_allowed=i["ill_copy_allowed"], due_date=i["due_date"]))
        return by_cluster


def _member(code: str, kind: str, regions: list[str], *, parent: str | None = None, open_sharing: bool = True,
            limit: int = 100, **policy: Any) -> dict[str, Any]:
    return {"code": code, "kind": kind, "parent_code": parent, "regions": regions, "open_sharing": open_sharing,
            "status": "active", "policy": {"max_active_loans": limit, **policy}, "iso18626": None,
            "pickup_locations": [], "name": f"Library {code}", "version": 1}


def directory(rnd: random.Random, today: date) -> list[dict[str, Any]]:
    """100 institutions in four regions; see the module docstring."""
    university_regions = [["CN-LN-DL"], ["CN-LN-DL"], ["CN-LN-SY"], ["CN-LN-DL", "CN-LN-SY"], ["CN-BJ"], ["CN-BJ"],
                          ["CN-SH"], ["CN-SH"]]
    branches = [6, 5, 4, 4, 3, 3, 2, 1]
    rows: list[dict[str, Any]] = []
    for n, (regions, count) in enumerate(zip(university_regions, branches, strict=True), 1):
        code = f"BM-U{n}"
        rows.append(_member(code, "university", regions, limit=3_000, lends_electronic_copies=True,
                            answer_within_hours=48))
        rows += [_member(f"{code}-B{b}", "branch-library", regions, parent=code, limit=800,
                         answer_within_hours=rnd.choice([24, 48])) for b in range(1, count + 1)]
    rows += [_member(f"BM-P{n:02d}", "public-library", [REGIONS[n % 4]], open_sharing=rnd.random() < 0.7, limit=150,
                     answer_within_hours=rnd.choice([48, 72])) for n in range(1, 45)]
    rows += [_member(f"BM-R{n:02d}", "research-library", [REGIONS[n % 4]], open_sharing=rnd.random() < 0.85,
                     limit=500, lends_electronic_copies=rnd.random() < 0.5, answer_within_hours=rnd.choice([24, 72]))
             for n in range(1, 21)]
    by_code = {r["code"]: r for r in rows}
    for code in ("BM-P07", "BM-R13"):
        by_code[code]["status"] = "suspended"
    closed = {"start": (today - timedelta(days=3)).isoformat(), "end": (today + timedelta(days=10)).isoformat(),
              "reason": "stocktaking"}
    for code in ("BM-U2-B3", "BM-P11", "BM-R05"):
        by_code[code]["policy"]["closed_periods"] = [closed]
    for code in ("BM-R02", "BM-R06", "BM-R10", "BM-R14"):
        by_code[code]["policy"]["lends_loans"] = False
    for code in ("BM-P20", "BM-P33"):
        by_code[code]["policy"]["max_active_loans"] = 10  # the history puts 12 loans out each
    assert len(rows) == 100
    return rows


def _holder_counts(rnd: random.Random, clusters: int, total: int) -> list[int]:
    """1-100 holders per cluster, P(k) ~ 1/k^2, adjusted so the counts add up to `total`."""
    counts = rnd.choices(range(1, MAX_HOLDERS + 1), weights=[1 / k ** 2 for k in range(1, MAX_HOLDERS + 1)],
                         k=clusters)
    difference = total - sum(counts)
    while difference:
        n = rnd.randrange(clusters)
        if difference > 0 and counts[n] < MAX_HOLDERS:
            counts[n] += 1
            difference -= 1
        elif difference < 0 and counts[n] > 1:
            counts[n] -= 1
            difference += 1
    return counts


def _pick(rnd: random.Random, codes: list[str], weights: list[float], k: int) -> list[str]:
    """`k` distinct institutions, weighted by size."""
    if k >= len(codes):
        return list(codes)
    chosen: set[str] = set()
    while len(chosen) < k:
        chosen.update(rnd.choices(codes, weights, k=k - len(chosen)))
    return sorted(chosen)


def _item(rnd: random.Random, today: date, institution: str, cluster_id: int, *,
          status: str | None = None) -> dict[str, Any]:
    electronic = status is None and rnd.random() < 0.03
    if status is None:
        status = "available" if electronic else rnd.choices(
            ["available", "on-loan", "not-for-loan", "missing", "in-process"], [62, 25, 6, 2, 2])[0]
    isbn = f"978{cluster_id:010d}" if cluster_id % 7 else None  # 6 in 7 records carry an ISBN
    return {
        "institution": institution, "item_id": f"{institution}-{cluster_id}", "cluster_id": cluster_id,
        "local_id": f"rec-{cluster_id}", "status": status, "available": status == "available",
        "due_date": today + timedelta(days=rnd.randint(-5, 40)) if status == "on-loan" else None,
        "format": "electronic" if electronic else "print",
        "ill_copy_allowed": electronic and rnd.random() < 0.6, "location": "Main stacks",
        "call_number": f"QA{cluster_id % 900 + 76}.{cluster_id % 97}", "isbns": [isbn] if isbn else [], "issns": [],
        "oclc_numbers": [str(cluster_id + 10_000_000)] if cluster_id % 2 else [],
        "title_key": f"title {cluster_id}|author {cluster_id % 997}|{1950 + cluster_id % 70}",
        "withdrawn": rnd.random() < 0.01, "version": 1,
    }


def _history(rnd: random.Random, now: datetime, codes: list[str], weights: list[float], active: list[str],
             supplied: int, out: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Requests of the last 90 days that a lender shipped (completed, or still out), one rota entry each."""
    requests_rows: list[dict[str, Any]] = []
    rota_rows: list[dict[str, Any]] = []
    speed = {code: rnd.uniform(6, 72) for code in codes}  # each lender's typical hours to ship
    pinned = ["BM-P20"] * 12 + ["BM-P33"] * 12
    active_weights = [weights[codes.index(c)] for c in active]
    for n in range(supplied + out):
        still_out = n >= supplied
        lender = pinned.pop() if still_out and pinned else rnd.choices(active, active_weights)[0]
        borrower = lender
        while borrower == lender:
            borrower = rnd.choice(active)
        asked = now - timedelta(days=rnd.uniform(1, 89))
        shipped = asked + timedelta(hours=rnd.lognormvariate(0, 0.5) * speed[lender])
        request_id = str(uuid.uuid4())
        state = "shipped" if still_out else "completed"
        cluster_id = rnd.randrange(1, CLUSTERS + 1)
        requests_rows.append({
            "id": request_id, "borrower": borrower, "patron_id": f"patron:{borrower}:h{n}", "created_by": "history",
            "origin": "platform", "peer_request_id": None, "cluster_id": cluster_id,
            "item_key": f"cluster:{cluster_id}", "citation": {}, "title": f"title {cluster_id}",
            "service_type": "loan", "service_level": "normal",
            "pickup_location": None, "needed_by": None, "max_cost": None, "note": None, "requester_state": state,
            "supplier_state": state, "lender": lender, "rota_position": 1, "answer_due_at": None,
            "due_date": (shipped + timedelta(days=28)).date(), "renewal_pending": False, "conditions": None,
            "delivery": None, "duplicate_of": None, "created_at": asked, "updated_at": shipped, "version": 5})
        rota_rows.append({
            "request_id": request_id, "seq": 1, "position": 1, "lender": lender, "tier": "region", "on_shelf": True,
            "reason": "history", "status": "asked", "outcome": None, "asked_at": asked, "answered_at": asked,
            "shipped_at": shipped, "received_at": None if still_out else shipped + timedelta(days=2)})
    return requests_rows, rota_rows


def build_region(seed: int = 20261128, clusters: int = CLUSTERS, total: int = HOLDINGS) -> Region:
    rnd = random.Random(seed)
    now = datetime.now(UTC)
    today = now.date()
    rows = directory(rnd, today)
    codes = [r["code"] for r in rows]
    weights = [_WEIGHT[r["kind"]] for r in rows]
    dedicated = sum(ROTA_SIZES)
    holders: dict[int, list[str]] = {}
    items: list[dict[str, Any]] = []
    for cluster_id, k in enumerate(_holder_counts(rnd, clusters, total - dedicated), 1):
        holders[cluster_id] = _pick(rnd, codes, weights, k)
        items += [_item(rnd, today, code, cluster_id) for code in holders[cluster_id]]
    # The rota-size clusters: one print item on the shelf per holder (a few on loan), nothing withdrawn, requested
    # by a branch of BM-U1 (so every tier is there: its sister branches, the region, open sharing).
    borrower = "BM-U1-B1"
    others = [c for c in codes if c != borrower]
    for size in ROTA_SIZES:
        chosen = ["BM-U1-B2"] if size == 1 else codes if size == len(codes) else rnd.sample(others, size)
        for code in chosen:
            item = _item(rnd, today, code, ROTA_CLUSTER + size,
                         status="on-loan" if rnd.random() < 0.25 else "available")
            item["withdrawn"] = False
            items.append(item)
    identifiers = [{"kind": kind, "value": value, "institution": i["institution"], "item_id": i["item_id"]}
                   for i in items if not i["withdrawn"]
                   for kind, values in (("isbn", i["isbns"]), ("oclc", i["oclc_numbers"])) for value in values]
    active = [r["code"] for r in rows if r["status"] == "active"]
    history, history_rota = _history(rnd, now, codes, weights, active, HISTORY_SUPPLIED, HISTORY_OUT)
    region = Region(today, rows, holders, items, identifiers, history, history_rota, borrower)
    region.domain = {r["code"]: Member(code=r["code"], kind=r["kind"], parent_code=r["parent_code"],
                                       regions=frozenset(r["regions"]), open_sharing=r["open_sharing"],
                                       active=r["status"] == "active", policy=r["policy"])
                     for r in rows}
    return region


def _chunks(rows: list[dict[str, Any]], size: int = 10_000) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


async def load_region(runtime: ServiceRuntime, region: Region) -> None:
    """Insert everything with executemany, then refresh the planner's statistics."""
    async with runtime.engine.begin() as conn:
        for table, rows in ((members, region.members), (holdings, region.items),
                            (holding_identifiers, region.identifiers), (requests, region.history),
                            (rota_entries, region.history_rota)):
            for chunk in _chunks(rows):
                await conn.execute(sa.insert(table), chunk)
    async with runtime.engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(sa.text("ANALYZE"))


# --- the running broker -----------------------------------------------------------------------------------------


@dataclass
class BrokerEnv:
    kind: Kind
    runtime: ServiceRuntime
    settings: IllSettings
    notified: AppliedClock
    routed: set[str] = field(default_factory=set)


@asynccontextmanager
async def broker_env(kind: Kind, region: Region) -> AsyncIterator[BrokerEnv]:
    """A migrated broker database with `region` loaded, the broker running on it, and a bare consumer of the
    routed (and unfilled) events in a queue of its own. Database, vhost and files are removed afterwards."""
    async with AsyncExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bibliomesh-bench-")))
        transport: Transport | None = None
        if kind == "postgresql":
            vhost = await stack.enter_async_context(rabbitmq_vhost("bm-bench"))
            database = await create_database("bm_bench_ill")
            stack.push_async_callback(drop_database, database)
            url, bus_url = database_url(database), vhost.url()
            listener: Transport = RabbitMQTransport(bus_url)
        else:
            url, bus_url = f"sqlite+aiosqlite:///{workdir / 'ill.sqlite'}", "embedded"
            transport = listener = EmbeddedTransport(workdir / "bus.sqlite")
        stack.push_async_callback(listener.close)
        await upgrade_in_thread(MIGRATIONS, url)
        settings = IllSettings(database_url=url, bus_url=bus_url, data_dir=workdir, log_json=False,
                               log_level="WARNING", timer_poll_seconds=3600)
        # The broker as its composition root builds it (tables, consumers, relay); its background workers (timers,
        # statistics gauges refreshed every minute) are left out so their periodic work stays out of the timings.
        runtime: ServiceRuntime = create_app(settings=settings, transport=transport).state.runtime
        runtime.workers = ()
        stack.push_async_callback(runtime.stop)
        await load_region(runtime, region)
        env = BrokerEnv(kind, runtime, settings, AppliedClock())

        async def lender_notified(delivery: Delivery) -> None:
            if delivery.routing_key == "ill.request.routed":
                env.routed.add(delivery.message_id)
            env.notified.mark(delivery.message_id)

        await listener.subscribe(NOTIFIED, lender_notified, RETRY)
        await runtime.start()
        yield env
