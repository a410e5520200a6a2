"""summaries: the small tables reports read instead of scanning raw events.

Revision ID: 0002_summaries
Revises: 0001_events

`funnel.db.summaries` keeps them current inside every ingest transaction; docs/storage.md
("Summary tables") explains the design. Every summary key leads with the grain and bucket
and carries `source`, so the two collectors never update the same row.
"""

from alembic import op

revision = "0002_summaries"
down_revision = "0001_events"
branch_labels = None
depends_on = None


# The lower bound of the bin holding a follower count: the count itself below 10, else its
# two leading digits rounded down to a step (10..19, 20, 25, .., 35, 40, 50, .., 90) followed
# by zeros: ~20 bins per decade; NULL gives NULL. The tier limits of the demographics report
# (1k, 10k, 100k, 1M) are all bin bounds. IMMUTABLE so an index can use it, and not STRICT
# (its CASE is not) so PostgreSQL inlines it: a call costs about a microsecond.
_LEAD = "left(followers::text, 2)::int"
_FOLLOWERS_BIN = f"""
    CREATE FUNCTION funnel_followers_bin(followers bigint) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT CASE WHEN followers < 10 THEN followers ELSE
        (CASE WHEN {_LEAD} < 20 THEN {_LEAD}
              WHEN {_LEAD} < 40 THEN {_LEAD} / 5 * 5
              ELSE {_LEAD} / 10 * 10 END)::bigint
        * (10::numeric ^ (length(followers::text) - 2))::bigint
    END $$
"""


# Frozen with this revision; `funnel.db.summaries` spells the same condition.
_IS_TRANSACTION = (
    "purchase_amount IS NOT NULL AND (source, event_type) IN"
    " (('facebook', 'checkout.complete'), ('tiktok', 'purchase'))"
)


def upgrade() -> None:
    op.execute(_FOLLOWERS_BIN)
    # Counts, revenue and transactions per (source, stage, type) per second/minute/hour/day.
    # Updated rows change no key column: a page kept 30% free lets updates stay HOT.
    op.execute(
        """
        CREATE TABLE event_counts (
            grain text NOT NULL,
            bucket timestamptz NOT NULL,
            source text NOT NULL,
            funnel_stage text NOT NULL,
            event_type text NOT NULL,
            events bigint NOT NULL,
            revenue numeric NOT NULL,
            transactions bigint NOT NULL,
            campaign_transactions bigint NOT NULL,
            CONSTRAINT pk_event_counts
                PRIMARY KEY (grain, bucket, source, funnel_stage, event_type)
        ) WITH (fillfactor = 70)
        """
    )
    # Per-event counts of the demographic dimensions per minute/hour (not yet per user:
    # the report corrects for users with several events in the asked range).
    op.execute(
        """
        CREATE TABLE audience_counts (
            grain text NOT NULL,
            bucket timestamptz NOT NULL,
            source text NOT NULL,
            dimension text NOT NULL,
            value text NOT NULL,
            detail text NOT NULL,
            events bigint NOT NULL,
            followers bigint NOT NULL,
            CONSTRAINT pk_audience_counts
                PRIMARY KEY (grain, bucket, source, dimension, value, detail)
        ) WITH (fillfactor = 70)
        """
    )
    # All-time revenue per campaign: the upper bound the top-campaigns search walks down.
    op.execute(
        """
        CREATE TABLE campaign_totals (
            campaign_id text NOT NULL CONSTRAINT pk_campaign_totals PRIMARY KEY,
            revenue numeric NOT NULL,
            transactions bigint NOT NULL
        )
        """
    )
    op.execute(
        "CREATE INDEX ix_campaign_totals_revenue ON campaign_totals (revenue DESC, campaign_id)"
    )
    # Every event of each user with two or more events of one source, with the facts the
    # demographics report needs: that report corrects its per-event counts from this small,
    # time-ordered table instead of fetching those users' rows from `events`.
    op.execute(
        """
        CREATE TABLE repeat_events (
            event_id text NOT NULL CONSTRAINT pk_repeat_events PRIMARY KEY,
            source text NOT NULL,
            occurred_at timestamptz NOT NULL,
            user_id text NOT NULL,
            funnel_stage text NOT NULL,
            gender text,
            age smallint,
            country text,
            city text,
            followers bigint,
            device text
        )
        """
    )
    op.execute(
        "CREATE INDEX ix_repeat_events_source_occurred_at ON repeat_events (source, occurred_at)"
    )
    # Revenue read index-only: only the transactional rows (an amount on another event type
    # is not revenue, so the predicate names the types), covering what reports read.
    op.execute(
        f"""
        CREATE INDEX ix_events_revenue ON events (occurred_at)
            INCLUDE (source, campaign_id, purchase_amount) WHERE {_IS_TRANSACTION}
        """
    )
    op.execute(
        f"""
        CREATE INDEX ix_events_campaign_revenue ON events (campaign_id, occurred_at)
            INCLUDE (source, purchase_amount) WHERE campaign_id IS NOT NULL AND {_IS_TRANSACTION}
        """
    )
    # Exact follower order statistics read one bin of one range through this index only.
    op.execute(
        """
        CREATE INDEX ix_events_tiktok_followers_bin
            ON events (funnel_followers_bin(followers), occurred_at) INCLUDE (followers)
            WHERE source = 'tiktok'
        """
    )


def downgrade() -> None:
    op.execute("DROP INDEX ix_events_tiktok_followers_bin")
    op.execute("DROP INDEX ix_events_campaign_revenue")
    op.execute("DROP INDEX ix_events_revenue")
    op.execute("DROP TABLE repeat_events")
    op.execute("DROP TABLE campaign_totals")
    op.execute("DROP TABLE audience_counts")
    op.execute("DROP TABLE event_counts")
    op.execute("DROP FUNCTION funnel_followers_bin(bigint)")
