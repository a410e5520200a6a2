"""raw batches: an event's raw form is kept once per message, compressed, not per row.

Revision ID: 0009_raw_batches
Revises: 0008_city_sketches

`payload jsonb` took ~480 of the ~870 bytes a row and its indexes held, and PostgreSQL parsed
every event's JSON to store it. A collector now keeps each message's JSON array as it came,
zlib-compressed (~0.2 of its size), in `raw_batches`, partitioned like `events` so a batch is
dropped with the rows that point into it; a row names its batch and its position in it
(`batch_id`, `batch_index`). `funnel.db.raw` reads an event back exactly. Rows stored before
this revision keep their `payload` until retention drops them.

`ix_events_source_occurred_at` goes too (~12 bytes an event): since `0007` the key leads with
`occurred_at`, and a range of one source reads it and skips the other source's rows.
"""

from alembic import op

revision = "0009_raw_batches"
down_revision = "0008_city_sketches"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DROP INDEX ix_events_source_occurred_at")
    op.execute("ALTER TABLE events ALTER COLUMN payload DROP NOT NULL")
    op.execute("ALTER TABLE events ADD COLUMN batch_id bigint, ADD COLUMN batch_index integer")
    # One row per message and partition it has events in; already compressed, so PostgreSQL
    # must not try again (EXTERNAL: kept out of line, uncompressed).
    op.execute(
        """
        CREATE TABLE raw_batches (
            batch_id bigint NOT NULL,
            occurred_at timestamptz NOT NULL,
            events bytea NOT NULL,
            CONSTRAINT pk_raw_batches PRIMARY KEY (batch_id, occurred_at)
        ) PARTITION BY RANGE (occurred_at)
        """
    )
    op.execute("ALTER TABLE raw_batches ALTER COLUMN events SET STORAGE EXTERNAL")
    op.execute(
        """
        DO $$
        DECLARE
            p record;
        BEGIN
            FOR p IN SELECT name, starts, ends FROM raw_partitions LOOP
                EXECUTE format(
                    'CREATE TABLE %I PARTITION OF raw_batches FOR VALUES FROM (%L) TO (%L)',
                    'batches_' || substr(p.name, length('events_') + 1), p.starts, p.ends
                );
            END LOOP;
        END
        $$
        """
    )


def downgrade() -> None:
    op.execute("CREATE INDEX ix_events_source_occurred_at ON events (source, occurred_at)")
    op.execute("DROP TABLE raw_batches")
    op.execute("ALTER TABLE events DROP COLUMN batch_index, DROP COLUMN batch_id")
