"""The same statistics as `/ill/stats`, as Prometheus gauges refreshed by a background worker.

Every replica computes them from the shared database, so every replica reports the same values (aggregate
with `max`, not `sum`)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from prometheus_client import Gauge

from bibliomesh_ill.service_layer.stats import statistics
from meshkit.runtime import ServiceRuntime

WINDOW = timedelta(days=30)
REFRESH_SECONDS = 60.0


class IllGauges:
    def __init__(self, runtime: ServiceRuntime) -> None:
        registry = runtime.metrics.registry
        self.requests = Gauge("ill_requests_30d", "Requests submitted in the last 30 days, by borrower.",
                              ["borrower"], registry=registry)
        self.fill_rate = Gauge("ill_fill_rate_30d", "Filled / closed requests of the last 30 days, by borrower.",
                               ["borrower"], registry=registry)
        self.lent = Gauge("ill_lent_30d", "Items supplied in the last 30 days, by lender.", ["lender"],
                          registry=registry)
        self.hours = Gauge("ill_hours_to_shipped_30d", "Hours from request to shipped (platform), by quantile.",
                           ["quantile"], registry=registry)
        self.by_tier = Gauge("ill_filled_by_tier_30d", "Requests filled in the last 30 days, by tier.", ["tier"],
                             registry=registry)

    async def refresh(self, runtime: ServiceRuntime) -> None:
        now = datetime.now(UTC)
        async with runtime.unit_of_work() as uow:
            numbers = await statistics(uow.session, now - WINDOW, now, None)
        for row in numbers["by_institution"]:
            self.requests.labels(row["institution"]).set(row["borrowed"])
            self.lent.labels(row["institution"]).set(row["lent"])
            borrowed = row["borrowed"]
            self.fill_rate.labels(row["institution"]).set(row["filled_for_it"] / borrowed if borrowed else 0)
        shipped = numbers["borrowing"]["hours_to_shipped"]
        for quantile, key in (("0.5", "median"), ("0.9", "p90")):
            self.hours.labels(quantile).set(shipped[key] or 0)
        for tier, row in numbers["by_tier"].items():
            self.by_tier.labels(tier).set(row["filled"])


async def ill_statistics_gauges(runtime: ServiceRuntime) -> None:
    gauges = IllGauges(runtime)
    while True:
        await gauges.refresh(runtime)
        await asyncio.sleep(REFRESH_SECONDS)
