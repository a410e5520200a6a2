"""hash event id: `event_id` is kept unique by a hash exclusion constraint, not a B-tree key.

Revision ID: 0006_hash_event_id
Revises: 0005_hash_user_index

Event ids are random uuids, so the primary key's B-tree took every insert on a random leaf;
past about 1.5M rows the tree (82 bytes a row) and the user index no longer fit in shared
buffers, and each insert read and wrote back a page, and after a checkpoint logged it whole
again. `EXCLUDE USING hash (event_id WITH =)` keeps the same guarantee (no two rows with one
id, checked as each row is inserted, `ON CONFLICT ... DO NOTHING` skips) with a 4-byte hash
per row. Nothing reads the table by id range, which only the B-tree could serve. Measured on
the write path (2,000-event transactions of both sources, embedded server, fsync on): the
move into `events` 15.6 -> 12.5 us an event from 2M to 3M rows, after the first checkpoint;
backend CPU per event ~30.5 -> ~27.7 us there, WAL ~6% smaller.

The table has no primary key afterwards: its rows are only ever inserted, never updated or
deleted by key (logical replication of updates would need `REPLICA IDENTITY FULL`).
"""

from alembic import op

revision = "0006_hash_event_id"
down_revision = "0005_hash_user_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE events DROP CONSTRAINT pk_events")
    op.execute(
        "ALTER TABLE events ADD CONSTRAINT ex_events_event_id EXCLUDE USING hash (event_id WITH =)"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE events DROP CONSTRAINT ex_events_event_id")
    op.execute("ALTER TABLE events ADD CONSTRAINT pk_events PRIMARY KEY (event_id)")
