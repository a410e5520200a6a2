"""follower fine bins: the exact follower median reads one small bin, whatever the range.

Revision ID: 0011_follower_fine_bins
Revises: 0010_lean_rows

The demographics report found the bin holding the median in the follower histogram, then
read every follower count of that bin in the range from `ix_events_tiktok_followers_bin`.
A bin is up to a ninth of a decade: on the publisher's followers (0 to 1,000,000, evenly) the
median's bin held a tenth of the range's TikTok events, 360,000 rows over seven hours, read
twice (the maximum's bin too). Fine bins keep three significant digits
(`funnel_followers_fine_bin`): a fine bin spans 1/900 of its decade, and below 1,000 holds
a single value. `follower_counts` replaces the `followers` facts of `audience_counts`: one
row per bucket and bin, as before, now also holding its fine bins' counts, so the report
finds the median's fine bin from summaries and reads only that fine bin's follower counts,
through `ix_events_tiktok_followers_fine_bin`, which replaces the coarse index.

Existing rows move over: each bin's count from `audience_counts` (which still counts events
whose raw rows retention dropped), its fine counts from the retained events. A bucket some of
whose raw rows were dropped keeps partial fine counts, which no report reads: demographics
covers only ranges whose raw rows are all kept. Building the index reads every TikTok event,
with writers to `events` waiting meanwhile (JetStream holds the collectors' batches).
"""

from typing import Final

from alembic import op

revision = "0011_follower_fine_bins"
down_revision = "0010_lean_rows"
branch_labels = None
depends_on = None

# The lower bound of the fine bin holding a follower count: its three leading digits, then
# zeros; below 1,000 the count itself. Each `funnel_followers_bin` bin is a whole number of
# fine bins (its bounds have at most two significant digits). Inlined like that function,
# and ten times cheaper (~0.07 us a call): a power of ten up to 10^16 is exact in float8.
_FINE_BIN: Final = """
    CREATE FUNCTION funnel_followers_fine_bin(followers bigint) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT CASE WHEN followers < 1000 THEN followers ELSE
        followers - followers % (10::float8 ^ (length(followers::text) - 3))::bigint
    END $$
"""

_ORIGIN: Final = "timestamptz '2000-01-01 00:00:00+00'"

# Frozen with this revision: each retained event's fine bin counted per bucket of both grains
# (a fine bin lies in one bin, so the bin is computed per fine bin).
_FINE_COUNTS: Final = f"""
    SELECT grain, bucket, source, funnel_followers_bin(fine) AS bin,
           array_agg(fine ORDER BY fine) AS fine_bins,
           array_agg(events ORDER BY fine) AS fine_events
    FROM (
        SELECT grain, date_bin(('1 ' || grain)::interval, e.occurred_at, {_ORIGIN}) AS bucket,
               e.source, funnel_followers_fine_bin(e.followers) AS fine, count(*) AS events
        FROM events AS e CROSS JOIN unnest(ARRAY['minute', 'hour']) AS grain
        WHERE e.followers IS NOT NULL
        GROUP BY 1, 2, 3, 4
    ) AS counted
    GROUP BY 1, 2, 3, 4
"""


def upgrade() -> None:
    op.execute(_FINE_BIN)
    # Updated rows change no key column: a page kept 30% free lets updates stay HOT.
    op.execute(
        """
        CREATE TABLE follower_counts (
            grain text NOT NULL,
            bucket timestamptz NOT NULL,
            source text NOT NULL,
            bin bigint NOT NULL,
            events bigint NOT NULL,
            fine_bins bigint[] NOT NULL,
            fine_events bigint[] NOT NULL,
            CONSTRAINT pk_follower_counts PRIMARY KEY (grain, bucket, source, bin)
        ) WITH (fillfactor = 70)
        """
    )
    op.execute(
        """
        CREATE INDEX ix_events_tiktok_followers_fine_bin
            ON events (funnel_followers_fine_bin(followers), occurred_at) INCLUDE (followers)
            WHERE source = 'tiktok'
        """
    )
    op.execute("DROP INDEX ix_events_tiktok_followers_bin")
    op.execute(
        f"""
        INSERT INTO follower_counts (grain, bucket, source, bin, events, fine_bins, fine_events)
        SELECT a.grain, a.bucket, a.source, a.value::bigint, a.events,
               coalesce(f.fine_bins, '{{}}'), coalesce(f.fine_events, '{{}}')
        FROM audience_counts AS a
        LEFT JOIN ({_FINE_COUNTS}) AS f
            ON f.grain = a.grain AND f.bucket = a.bucket AND f.source = a.source
            AND f.bin = a.value::bigint
        WHERE a.dimension = 'followers'
        """
    )
    op.execute("DELETE FROM audience_counts WHERE dimension = 'followers'")


def downgrade() -> None:
    op.execute(
        """
        INSERT INTO audience_counts (grain, bucket, source, dimension, value, detail, events,
                                     followers)
        SELECT grain, bucket, source, 'followers', bin::text, '', events, 0
        FROM follower_counts
        """
    )
    op.execute(
        """
        CREATE INDEX ix_events_tiktok_followers_bin
            ON events (funnel_followers_bin(followers), occurred_at) INCLUDE (followers)
            WHERE source = 'tiktok'
        """
    )
    op.execute("DROP INDEX ix_events_tiktok_followers_fine_bin")
    op.execute("DROP TABLE follower_counts")
    op.execute("DROP FUNCTION funnel_followers_fine_bin(bigint)")
