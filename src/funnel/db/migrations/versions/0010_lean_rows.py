"""lean rows: an event's row keeps what reports read; the rest lives in its raw batch.

Revision ID: 0010_lean_rows
Revises: 0009_raw_batches

A row took ~250 bytes and its key ~100 (`bench.footprint`). What goes:
- `event_id` (text, 37 bytes in the row and again in the key) becomes `event_key`, the MD5
  of the eventId as a uuid (16 bytes): the key is `(occurred_at, event_key)`, so an event
  posted again (same eventId and timestamp) still meets its stored row. The eventId itself
  is in the raw batch, and `funnel raw` finds an event by its key.
- `correlation_id` and `received_at` are the message's, not the event's: they move to the
  message's row in `raw_batches` (one per message and partition, not one per event).
- `ad_id`: no report reads it; it stays in the raw batch.
The columns are ordered so the fixed-width ones need no padding.

Every retained row is rewritten into a new table of the same partitions inside this
migration's transaction (as long as copying them; collectors wait meanwhile). Rows stored
before `0009` keep their `payload` but lose their correlation id and arrival time, which
no batch holds. Not additive: a collector of an older release cannot write the new rows,
so every collector is upgraded together (one image under compose).
"""

from typing import Final

from alembic import op

revision = "0010_lean_rows"
down_revision = "0009_raw_batches"
branch_labels = None
depends_on = None

_COLUMNS: Final = """
    occurred_at timestamptz NOT NULL,
    event_key uuid NOT NULL,
    batch_id bigint,
    followers bigint,
    batch_index integer,
    age smallint,
    source text NOT NULL CONSTRAINT ck_events_source CHECK (source IN ('facebook', 'tiktok')),
    funnel_stage text NOT NULL,
    event_type text NOT NULL,
    user_id text COLLATE "C" NOT NULL,
    campaign_id text,
    purchase_amount numeric(14, 2),
    gender text,
    country text,
    city text,
    device text,
    payload jsonb
"""

_KEPT: Final = (
    "occurred_at, batch_id, followers, batch_index, age, source, funnel_stage, event_type,"
    " user_id, campaign_id, purchase_amount, gender, country, city, device, payload"
)

# Frozen with this revision, as in 0002.
_IS_TRANSACTION: Final = (
    "purchase_amount IS NOT NULL AND (source, event_type) IN"
    " (('facebook', 'checkout.complete'), ('tiktok', 'purchase'))"
)

_INDEXES: Final = {
    "ix_events_user_id": "ON events USING hash (user_id)",
    "ix_events_revenue": "ON events (occurred_at)"
    f" INCLUDE (source, campaign_id, purchase_amount) WHERE {_IS_TRANSACTION}",
    "ix_events_campaign_revenue": "ON events (campaign_id, occurred_at)"
    f" INCLUDE (source, purchase_amount) WHERE campaign_id IS NOT NULL AND {_IS_TRANSACTION}",
    "ix_events_tiktok_followers_bin": "ON events (funnel_followers_bin(followers), occurred_at)"
    " INCLUDE (followers) WHERE source = 'tiktok'",
}

# Each partition of the old table is detached, renamed, and copied into a partition of
# the same name and bounds of the new one.
_MOVE_PARTITIONS: Final = f"""
DO $$
DECLARE
    p record;
BEGIN
    FOR p IN
        SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bounds
        FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'events_wide'::regclass
    LOOP
        EXECUTE format('ALTER TABLE events_wide DETACH PARTITION %I', p.name);
        EXECUTE format('ALTER TABLE %I RENAME TO %I', p.name, 'wide_' || p.name);
        EXECUTE format('CREATE TABLE %I PARTITION OF events %s', p.name, p.bounds);
        EXECUTE format(
            'INSERT INTO events (event_key, {_KEPT}) SELECT md5(event_id)::uuid, {_KEPT} FROM %I',
            'wide_' || p.name
        );
        EXECUTE format('DROP TABLE %I', 'wide_' || p.name);
    END LOOP;
END
$$
"""


def upgrade() -> None:
    op.execute(
        "ALTER TABLE raw_batches ADD COLUMN correlation_id text, ADD COLUMN received_at timestamptz"
    )
    op.execute(
        """
        UPDATE raw_batches AS b
        SET correlation_id = e.correlation_id, received_at = e.received_at
        FROM (
            SELECT batch_id, min(correlation_id) AS correlation_id, min(received_at) AS received_at
            FROM events WHERE batch_id IS NOT NULL GROUP BY batch_id
        ) AS e
        WHERE b.batch_id = e.batch_id
        """
    )
    op.execute("ALTER TABLE events RENAME TO events_wide")
    for index in ("pk_events", *_INDEXES):
        op.execute(f"ALTER INDEX {index} RENAME TO wide_{index}")
    op.execute(
        f"CREATE TABLE events ({_COLUMNS},"
        " CONSTRAINT pk_events PRIMARY KEY (occurred_at, event_key))"
        " PARTITION BY RANGE (occurred_at)"
    )
    for index, definition in _INDEXES.items():
        op.execute(f"CREATE INDEX {index} {definition}")
    op.execute(_MOVE_PARTITIONS)
    op.execute("DROP TABLE events_wide")
    op.execute("ALTER TABLE repeat_events ADD COLUMN event_key uuid")
    op.execute("UPDATE repeat_events SET event_key = md5(event_id)::uuid")
    op.execute("ALTER TABLE repeat_events ALTER COLUMN event_key SET NOT NULL")
    op.execute("ALTER TABLE repeat_events DROP CONSTRAINT pk_repeat_events")
    op.execute("ALTER TABLE repeat_events DROP COLUMN event_id")
    op.execute(
        "ALTER TABLE repeat_events ADD CONSTRAINT pk_repeat_events"
        " PRIMARY KEY (occurred_at, event_key)"
    )


def downgrade() -> None:
    # An MD5 cannot be turned back into the eventId, and SQL cannot open the compressed
    # batches that hold it.
    raise NotImplementedError("0010_lean_rows cannot be undone: restore a backup instead")
