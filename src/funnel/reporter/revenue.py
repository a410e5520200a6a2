"""`/reports/revenue`: exact sums of transactional events, and the top campaigns.

Totals come from `event_counts` (whole buckets) plus the raw edges. Top campaigns take the
cheaper of two exact paths, chosen from the range's number of campaign transactions:

- few: aggregate the range's transactional rows (a covering partial index);
- many: walk `campaign_totals` by all-time revenue, reading each campaign's revenue in the
  range through its index, and stop once the 10th best in the range beats the all-time
  revenue of every campaign not yet read (revenue in a range never exceeds all-time).
  "All-time" is over the retained rows, plus a dropped partition's until retention settles
  it (`retired_partitions`): higher, so still a bound.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Final

import asyncpg

from funnel.events.source import SOURCES, Source
from funnel.reporter import queries
from funnel.reporter.coverage import coverage, plan, raw_range, read_retained
from funnel.reporter.models import CampaignRevenue, RevenueFilters, RevenueReport, SourceRevenue
from funnel.reporter.money import average, to_money
from funnel.reporter.params import RevenueQuery
from funnel.reporter.ranges import OPEN_END, OPEN_START, Piece, split_range
from funnel.reporter.wire import iso
from funnel.reporting import EVENT_GRAINS, TOP_SIZE

# Reading one campaign through its index costs about this many rows of the range scan;
# the walk stops being worth it once it would read more than range rows / this.
_PROBE_COST: Final = 8
# Below this many campaign transactions in the range, aggregating them is cheapest anyway.
_RAW_LIMIT: Final = 4_000


@dataclass(frozen=True, slots=True, order=True)
class _Ranked:
    """Sorts best first: most revenue, then campaign id."""

    negative_revenue: Decimal
    campaign_id: str
    transactions: int

    def to_model(self) -> CampaignRevenue:
        return CampaignRevenue(
            campaign_id=self.campaign_id,
            revenue=to_money(-self.negative_revenue),
            transactions=self.transactions,
        )


async def _walk_campaigns(
    conn: asyncpg.Connection,
    start: datetime,
    end: datetime,
    sources: Sequence[Source],
    in_range: int,
    all_time: int,
) -> list[_Ranked] | None:
    """The top campaigns by the all-time-bound walk, or None when a scan is cheaper."""
    budget = in_range // _PROBE_COST
    # About TOP_SIZE / fraction campaigns must be read to meet TOP_SIZE of them in range.
    page = max(4 * TOP_SIZE, 2 * TOP_SIZE * all_time // max(in_range, 1))
    found: list[_Ranked] = []
    offset = 0
    while offset + page <= budget:
        rows = await queries.campaign_candidates(conn, start, end, sources, offset, page)
        offset += len(rows)
        found += [
            _Ranked(-row["revenue"], row["campaign_id"], row["transactions"])
            for row in rows
            if row["transactions"]
        ]
        found = sorted(found)[:TOP_SIZE]
        if len(rows) < page:
            return found
        if len(found) < TOP_SIZE:
            page *= 2
            continue
        tenth = -found[-1].negative_revenue
        if tenth > rows[-1]["bound"]:
            return found
        # Only campaigns whose all-time revenue reaches the 10th best can still enter, and
        # the 10th best only rises: reading exactly those ends the walk, with no page read
        # in vain (doubling overshot by up to half the campaigns read).
        page = await queries.campaigns_reaching(conn, tenth) - offset
        if page <= 0:
            return found
    return None


async def _top_campaigns(
    conn: asyncpg.Connection,
    start: datetime,
    end: datetime,
    sources: Sequence[Source],
    in_range: int,
) -> list[_Ranked]:
    if in_range == 0:
        return []
    if in_range > _RAW_LIMIT:
        # Page sizing only: summaries count dropped events too, which makes pages larger.
        everything = split_range(OPEN_START, OPEN_END, EVENT_GRAINS)
        all_time = (await _totals(conn, everything, sources))[2]
        walked = await _walk_campaigns(conn, start, end, sources, in_range, all_time)
        if walked is not None:
            return walked
    rows = await queries.top_campaigns_in_range(conn, start, end, sources, TOP_SIZE)
    return [_Ranked(-row["revenue"], row["campaign_id"], row["transactions"]) for row in rows]


async def _totals(
    conn: asyncpg.Connection, pieces: list[Piece], sources: Sequence[Source]
) -> tuple[dict[str, Decimal], dict[str, int], int]:
    """Revenue and transactions per source, and campaign transactions, from the summaries."""
    revenue: dict[str, Decimal] = dict.fromkeys(sources, Decimal(0))
    transactions: dict[str, int] = dict.fromkeys(sources, 0)
    campaign_transactions = 0
    for row in await queries.sum_revenue(conn, pieces, sources):
        revenue[row["source"]] += row["revenue"]
        transactions[row["source"]] += row["transactions"]
        campaign_transactions += row["campaign_transactions"]
    return revenue, transactions, campaign_transactions


async def revenue_report(conn: asyncpg.Connection, query: RevenueQuery) -> RevenueReport:
    start, end = query.start or OPEN_START, query.end or OPEN_END
    sources = [query.source] if query.source else list(SOURCES)
    retained = await read_retained(conn, start, end)
    raw = raw_range(start, end, retained)
    if query.campaign_id is not None:
        covered = raw
        revenue: dict[str, Decimal] = dict.fromkeys(sources, Decimal(0))
        transactions: dict[str, int] = dict.fromkeys(sources, 0)
        rows = await queries.campaign_revenue(conn, query.campaign_id, *raw, sources)
        for row in rows:
            revenue[row["source"]] += row["revenue"]
            transactions[row["source"]] += row["transactions"]
        top = (
            [
                _Ranked(
                    -sum(revenue.values(), Decimal(0)),
                    query.campaign_id,
                    sum(transactions.values()),
                )
            ]
            if rows
            else []
        )
    else:
        covered, pieces = plan(start, end, EVENT_GRAINS, retained)
        revenue, transactions, campaign_transactions = await _totals(conn, pieces, sources)
        if raw != covered:
            raw_pieces = plan(*raw, EVENT_GRAINS, retained)[1]
            campaign_transactions = (await _totals(conn, raw_pieces, sources))[2]
        top = await _top_campaigns(conn, *raw, sources, campaign_transactions)
    total, count = sum(revenue.values(), Decimal(0)), sum(transactions.values())
    return RevenueReport(
        filters=RevenueFilters(
            from_=iso(query.start),
            to=iso(query.end),
            source=query.source,
            campaign_id=query.campaign_id,
        ),
        total_revenue=to_money(total),
        transactions=count,
        average_order_value=average(total, count),
        by_source=[
            SourceRevenue(source=s, revenue=to_money(revenue[s]), transactions=transactions[s])
            for s in sources
        ],
        top_campaigns=[ranked.to_model() for ranked in top],
        coverage=coverage(query.start, query.end, covered),
        top_campaigns_coverage=coverage(query.start, query.end, raw),
    )
