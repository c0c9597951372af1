"""What a search result shows: the union record and who holds it, live (shared by search and OpenURL)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_catalog.adapters.search.holdings import Holder, ItemState, load_displays, load_items
from bibliomesh_catalog.domain.display import ClusterDisplay


class HolderAvailability(BaseModel):
    """One institution's copies of a cluster."""

    institution: str = Field(description="Institution code (as in the directory).")
    name: str | None = Field(default=None, description="The institution's English name, if the directory knows it.")
    name_zh: str | None = Field(default=None, description="The institution's Chinese name, if it has one.")
    available: bool = Field(description="At least one copy on the shelf, or electronic with an ILL licence, at an "
                                        "institution that is not suspended.")
    suspended: bool = Field(default=False, description="The institution is suspended: it neither lends nor "
                                                       "borrows now, so none of its copies can be requested (its "
                                                       "copies stay listed for staff).")
    items: int = Field(description="Copies held.")
    available_items: int = Field(description="Copies that can be requested now (none while suspended).")
    earliest_due: date | None = Field(default=None, description="Earliest due date of the copies on loan.")


class ClusterHit(BaseModel):
    """One cluster (the union record of every library's copy of one edition)."""

    cluster_id: int = Field(description="Id of the cluster: `GET /catalog/clusters/{id}` shows its members.")
    title: str
    authors: list[str] = Field(default_factory=list)
    year: int | None = None
    publisher: str | None = None
    edition: str | None = None
    format: str = Field(description="`print` or `electronic`.")
    language: str | None = Field(default=None, description="MARC language code, e.g. `eng`, `chi`.")
    isbns: list[str] = Field(default_factory=list)
    issns: list[str] = Field(default_factory=list)
    subjects: list[str] = Field(default_factory=list)
    urls: list[str] = Field(default_factory=list)
    available: bool = Field(description="Whether any institution can supply it now.")
    holdings: list[HolderAvailability] = Field(default_factory=list, description="Holding institutions.")


class FacetValue(BaseModel):
    """One value of a facet and how many clusters of the whole result have it."""

    value: str = Field(description="The value to pass back as a filter (e.g. `institution=CN-DL-U1`).")
    label: str | None = Field(default=None, description="A readable name, where the value is a code.")
    count: int


class SearchResults(BaseModel):
    """A page of clusters, best first, and facet counts over all of them."""

    total: int = Field(description="Clusters matching the search.")
    page: int
    page_size: int
    sort: str = Field(description="The order applied: relevance, year_desc, year_asc or title.")
    results: list[ClusterHit]
    facets: dict[str, list[FacetValue]] = Field(
        description="format, language, institution, region and available, each with counts, largest first.")


def holder_availability(items: Sequence[ItemState], holders: dict[str, Holder]) -> list[HolderAvailability]:
    """Copies grouped per institution, available holders first."""
    grouped: dict[str, list[ItemState]] = {}
    for item in items:
        grouped.setdefault(item.institution, []).append(item)
    shown = []
    for code, copies in grouped.items():
        holder = holders.get(code)
        due = [c.due_date for c in copies if c.due_date is not None and not c.available]
        available = sum(1 for c in copies if c.available)
        shown.append(HolderAvailability(institution=code, name=holder.name_en if holder else None,
                                        name_zh=holder.name_zh if holder else None, available=available > 0,
                                        suspended=any(c.suspended for c in copies),
                                        items=len(copies), available_items=available,
                                        earliest_due=min(due) if due else None))
    return sorted(shown, key=lambda h: (not h.available, h.institution))


async def cluster_hits(session: AsyncSession, cluster_ids: list[int], holders: dict[str, Holder]) -> list[ClusterHit]:
    """The clusters in the given order, with live holdings; ids deleted since the index saw them are skipped."""
    displays = await load_displays(session, cluster_ids)
    items = await load_items(session, cluster_ids)
    hits = []
    for cluster_id in cluster_ids:
        if cluster_id not in displays:
            continue
        format_, raw = displays[cluster_id]
        union = ClusterDisplay.model_validate({"format": format_, **raw})
        held = holder_availability(items.get(cluster_id, []), holders)
        hits.append(ClusterHit(
            cluster_id=cluster_id, title=union.title, authors=union.authors, year=union.year,
            publisher=union.publisher, edition=union.edition, format=union.format, language=union.language,
            isbns=union.isbns, issns=union.issns, subjects=union.subjects, urls=union.urls,
            available=any(h.available for h in held), holdings=held))
    return hits
