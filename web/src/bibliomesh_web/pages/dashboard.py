"""Dashboards from `/ill/stats` and `/ill/acquisition-suggestions`: fill rate and turnaround over time, the
lending/borrowing balance, reasons for unfilled, and the top purchase suggestions, as charts and as tables."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from bibliomesh_web.charts import bar_chart, line_chart, paired_bars
from bibliomesh_web.platform import ApiError
from bibliomesh_web.views import Page, PageDep

router = APIRouter()
PERIODS = ("day", "week", "month")
MAX_PERIODS = 400


@router.get("/dashboard", response_class=HTMLResponse)
async def dashboard(page: PageDep, period: str = "week", institution: str | None = None) -> HTMLResponse:
    user = page.require_staff()
    period = period if period in PERIODS else "week"
    scope = institution if user.is_platform_admin else None
    stats = {**await page.api.get("/ill/stats", period=period, institution=scope), "period": period}
    try:
        suggestions = await page.api.get("/ill/acquisition-suggestions", institution=scope)
    except ApiError:
        suggestions = []
    top = sorted(suggestions, key=lambda s: s["request_count"], reverse=True)[:10]
    for suggestion in top:  # the record's own title where the item is a cluster
        key = str(suggestion.get("item_key", ""))
        suggestion["cluster_id"] = int(key[8:]) if key.startswith("cluster:") and key[8:].isdigit() else None
    top = await page.titled(top)
    return await page.render("dashboard.html", stats=stats, period=period, institution=scope,
                             charts=charts(page, stats, top), suggestions=top,
                             institutions=sorted(page.directory.institutions))


def periods_between(start: str, end: str, period: str) -> list[str]:
    """Every period from `start` to `end`, named as the broker names them, so quiet periods show as gaps."""
    first, last = (datetime.fromisoformat(v.replace("Z", "+00:00")).date() for v in (start, end))
    names: list[str] = []
    day = first
    while day <= last and len(names) < MAX_PERIODS:
        if period == "day":
            name = day.isoformat()
        elif period == "week":
            year, week, _ = day.isocalendar()
            name = f"{year}-W{week:02d}"
        else:
            name = f"{day.year}-{day.month:02d}"
        if not names or names[-1] != name:
            names.append(name)
        day += timedelta(days=1)
    return names


def _short(period: str) -> str:
    """An axis label: `11-28` for a day, `W48` for a week, `2025-11` for a month (the tables give it whole)."""
    if "-W" in period:
        return period.split("-", 1)[1]
    return period[5:] if period.count("-") == 2 else period


def _hours(value: float) -> str:
    return f"{round(value, 2):g} h"


def charts(page: Page, stats: dict[str, Any], suggestions: list[dict[str, Any]]) -> dict[str, Any]:
    t = page.t
    measured = {p["period"]: p for p in stats.get("by_period", [])}
    names = periods_between(stats["from"], stats["to"], stats.get("period", "week")) if measured else []
    periods = [measured.get(name, {"period": name}) for name in names]
    fill = [(p["period"], None if p.get("fill_rate") is None else 100 * p["fill_rate"]) for p in periods]
    hours = [(p["period"], (p.get("hours_to_shipped") or {}).get("median")) for p in periods]
    short = [(_short(name), value) for name, value in fill], [(_short(name), value) for name, value in hours]
    reasons = [(t.label("reason", code), float(n)) for code, n in stats.get("unfilled_reasons", {}).items()]
    if stats.get("by_institution"):
        balance = [(page.name(row["institution"]), float(row["lent"]), float(row["filled_for_it"]))
                   for row in stats["by_institution"]]
    else:
        own = stats.get("balance", {})
        balance = [(page.name(stats.get("institution")), float(own.get("lent", 0)), float(own.get("borrowed", 0)))]
    return {
        "fill": line_chart(short[0], title=t("dash.fill_rate"), desc=t("dash.fill_rate_desc"), chart_id="fill",
                           top=100, fmt=lambda v: f"{v:.0f}%") if periods else None,
        "turnaround": line_chart(short[1], title=t("dash.turnaround"), desc=t("dash.turnaround_desc"),
                                 chart_id="turnaround", fmt=_hours) if periods else None,
        "balance": paired_bars(balance, (t("dash.lent"), t("dash.borrowed")), title=t("dash.balance"),
                               desc=t("dash.balance_desc"), chart_id="balance"),
        "reasons": bar_chart(reasons, title=t("dash.reasons"), desc=t("dash.reasons_desc"),
                             chart_id="reasons") if reasons else None,
        "suggestions": bar_chart([(s["display_title"], float(s["request_count"])) for s in suggestions],
                                 title=t("dash.suggestions"), desc=t("dash.suggestions_desc"),
                                 chart_id="suggestions") if suggestions else None,
        "fill_rows": [r for r in fill if r[1] is not None], "hours_rows": [r for r in hours if r[1] is not None],
        "balance_rows": balance, "reason_rows": reasons,
    }
