"""How a range is planned once retention has pruned fine summary rows."""

from datetime import UTC, datetime, timedelta

from funnel.reporter.coverage import Retained, plan
from funnel.reporter.ranges import OPEN_END, OPEN_START, Piece
from funnel.reporting import AUDIENCE_GRAINS

_HOUR_HORIZON = datetime(2026, 9, 7, 12, tzinfo=UTC)
_MINUTE_HORIZON = datetime(2026, 12, 3, 12, 33, tzinfo=UTC)
_PRUNED = Retained(gaps=[], horizons={"hour": _HOUR_HORIZON, "minute": _MINUTE_HORIZON})


def test_an_open_range_reads_kept_summary_rows_not_every_raw_event() -> None:
    """With an open `from`, only the part before the hour rows kept is left to raw events;
    from there on the kept hour rows answer (before, the whole range was one raw piece)."""
    covered, pieces = plan(OPEN_START, OPEN_END, AUDIENCE_GRAINS, _PRUNED)
    assert covered == (OPEN_START, OPEN_END)
    assert pieces == [
        Piece(None, OPEN_START, _HOUR_HORIZON),
        Piece("hour", _HOUR_HORIZON, OPEN_END),
    ]


def test_a_range_across_a_horizon_uses_the_rows_kept_after_it() -> None:
    """Minute pieces before the minute horizon are read raw, the ones after from summaries."""
    start = _MINUTE_HORIZON - timedelta(minutes=30)
    end = _MINUTE_HORIZON + timedelta(minutes=20)
    _, pieces = plan(start, end, AUDIENCE_GRAINS, _PRUNED)
    assert pieces == [
        Piece(None, start, _MINUTE_HORIZON),
        Piece("minute", _MINUTE_HORIZON, end),
    ]


def test_a_raw_gap_before_the_horizon_leaves_the_kept_part() -> None:
    """Raw rows gone before the horizon: the answer covers from the horizon on."""
    gap = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC))
    retained = Retained(gaps=[gap], horizons=_PRUNED.horizons)
    covered, pieces = plan(gap[1], OPEN_END, AUDIENCE_GRAINS, retained)
    assert covered == (gap[1], OPEN_END)
    assert pieces[-1] == Piece("hour", _HOUR_HORIZON, OPEN_END)
