"""time partitions: `events` becomes partitioned by `occurred_at`, so retention drops tables.

Revision ID: 0007_time_partitions
Revises: 0006_exact_follower_sums

The key becomes `(occurred_at, event_id)`: a partitioned table's unique key must hold the
partition key, and the contract names an event by its `eventId` and `timestamp` together.
With the time first, every B-tree on the write path grows at its right edge (events arrive
in time order), so its hot pages stay few however much history is kept. Partitions are
created and dropped at run time by `funnel.db.partitions` and `funnel.db.retention`, which
record each one in `raw_partitions`, the rows and latest arrival in each per source in
`raw_arrivals`, and every dropped range in `raw_gaps` (the reporter reads it to say what a
range's raw rows no longer cover).

Existing rows move into hourly partitions inside this migration's transaction: on a large
table that takes as long as copying it, with `events` locked meanwhile (collectors wait and
JetStream holds their batches; reports wait).
"""

from typing import Final

from alembic import op

revision = "0007_time_partitions"
down_revision = "0006_exact_follower_sums"
branch_labels = None
depends_on = None

_COLUMNS: Final = """
    event_id text COLLATE "C" NOT NULL,
    occurred_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL,
    source text NOT NULL CONSTRAINT ck_events_source CHECK (source IN ('facebook', 'tiktok')),
    funnel_stage text NOT NULL,
    event_type text NOT NULL,
    user_id text COLLATE "C" NOT NULL,
    campaign_id text,
    ad_id text,
    purchase_amount numeric(14, 2),
    age smallint,
    gender text,
    country text,
    city text,
    followers bigint,
    device text,
    correlation_id text,
    payload jsonb NOT NULL
"""

# Frozen with this revision, as in 0002.
_IS_TRANSACTION: Final = (
    "purchase_amount IS NOT NULL AND (source, event_type) IN"
    " (('facebook', 'checkout.complete'), ('tiktok', 'purchase'))"
)

_INDEXES: Final = (
    "CREATE INDEX ix_events_source_occurred_at ON events (source, occurred_at)",
    "CREATE INDEX ix_events_user_id ON events USING hash (user_id)",
    f"CREATE INDEX ix_events_revenue ON events (occurred_at)"
    f" INCLUDE (source, campaign_id, purchase_amount) WHERE {_IS_TRANSACTION}",
    f"CREATE INDEX ix_events_campaign_revenue ON events (campaign_id, occurred_at)"
    f" INCLUDE (source, purchase_amount) WHERE campaign_id IS NOT NULL AND {_IS_TRANSACTION}",
    "CREATE INDEX ix_events_tiktok_followers_bin"
    " ON events (funnel_followers_bin(followers), occurred_at) INCLUDE (followers)"
    " WHERE source = 'tiktok'",
)

# One partition per hour of the rows already stored, named as `funnel.db.partitions` names
# them: `events_` and the UTC start.
_MOVE_ROWS: Final = (
    """
DO $$
DECLARE
    hour timestamptz;
    name text;
BEGIN
    FOR hour IN
        SELECT DISTINCT date_bin('1 hour', occurred_at, timestamptz '2000-01-01 00:00:00+00')
        FROM events_unpartitioned
    LOOP
        name := 'events_' || to_char(hour AT TIME ZONE 'UTC', 'YYYYMMDD_HH24MISS');
        EXECUTE format(
            'CREATE TABLE %I PARTITION OF events FOR VALUES FROM (%L) TO (%L)',
            name, hour, hour + interval '1 hour'
        );
        INSERT INTO raw_partitions (name, starts, ends)
        VALUES (name, hour, hour + interval '1 hour');
    END LOOP;
END
$$
""",
    "INSERT INTO events SELECT * FROM events_unpartitioned",
    """
INSERT INTO raw_arrivals (partition, source, events, last_received_at)
SELECT p.name, e.source, count(*), max(e.received_at)
FROM events_unpartitioned AS e
JOIN raw_partitions AS p ON e.occurred_at >= p.starts AND e.occurred_at < p.ends
GROUP BY 1, 2
""",
    "DROP TABLE events_unpartitioned",
)


def upgrade() -> None:
    op.execute("ALTER TABLE events RENAME TO events_unpartitioned")
    for index in (
        "pk_events",
        "ix_events_source_occurred_at",
        "ix_events_user_id",
        "ix_events_revenue",
        "ix_events_campaign_revenue",
        "ix_events_tiktok_followers_bin",
    ):
        op.execute(f"ALTER INDEX {index} RENAME TO old_{index}")
    op.execute(
        f"CREATE TABLE events ({_COLUMNS},"
        " CONSTRAINT pk_events PRIMARY KEY (occurred_at, event_id))"
        " PARTITION BY RANGE (occurred_at)"
    )
    for index in _INDEXES:
        op.execute(index)
    # Every partition of `events` that exists, with its bounds: the catalog holds them too,
    # but only as text; this is what the reporter and retention read.
    op.execute(
        """
        CREATE TABLE raw_partitions (
            name text NOT NULL CONSTRAINT pk_raw_partitions PRIMARY KEY,
            starts timestamptz NOT NULL,
            ends timestamptz NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    # Rows stored and the latest arrival, per partition and source (one row per collector,
    # so the two never wait on each other's row): retention drops a partition only once
    # its latest arrival is older than the retention time.
    op.execute(
        """
        CREATE TABLE raw_arrivals (
            partition text NOT NULL,
            source text NOT NULL,
            events bigint NOT NULL,
            last_received_at timestamptz NOT NULL,
            CONSTRAINT pk_raw_arrivals PRIMARY KEY (partition, source)
        )
        """
    )
    # Ranges of `occurred_at` whose raw rows retention dropped (and how many): summaries
    # still count them, raw reads there are incomplete.
    op.execute(
        """
        CREATE TABLE raw_gaps (
            starts timestamptz NOT NULL CONSTRAINT pk_raw_gaps PRIMARY KEY,
            ends timestamptz NOT NULL,
            events bigint NOT NULL,
            dropped_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    for statement in _MOVE_ROWS:
        op.execute(statement)
    # An event is `(eventId, timestamp)` in repeat_events too.
    op.execute("ALTER TABLE repeat_events DROP CONSTRAINT pk_repeat_events")
    op.execute(
        "ALTER TABLE repeat_events ADD CONSTRAINT pk_repeat_events"
        " PRIMARY KEY (occurred_at, event_id)"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE repeat_events DROP CONSTRAINT pk_repeat_events")
    op.execute("ALTER TABLE repeat_events ADD CONSTRAINT pk_repeat_events PRIMARY KEY (event_id)")
    op.execute("ALTER TABLE events RENAME TO events_partitioned")
    for index in ("pk_events", *(index.split()[2] for index in _INDEXES)):
        op.execute(f"ALTER INDEX {index} RENAME TO new_{index}")
    op.execute(f"CREATE TABLE events ({_COLUMNS}, CONSTRAINT pk_events PRIMARY KEY (event_id))")
    for index in _INDEXES:
        op.execute(index)
    op.execute("INSERT INTO events SELECT * FROM events_partitioned ON CONFLICT DO NOTHING")
    op.execute("DROP TABLE events_partitioned")
    op.execute("DROP TABLE raw_gaps")
    op.execute("DROP TABLE raw_arrivals")
    op.execute("DROP TABLE raw_partitions")
