"""recent users: the repeat-user probe asks one table, once, whatever the partitions kept.

Revision ID: 0012_recent_users
Revises: 0011_follower_fine_bins

The probe asked each raw partition within REPEAT_USER_WINDOW of a new event for its user
(`ix_events_user_id`, a hash index per partition): one lookup per partition and event. With a
window wider than the retention every partition kept was asked, and the cost per event grew
while retention filled up (3-4 lookups into ~110 MB indexes at 5 minutes of retention, ~8-11
us an event of PostgreSQL's CPU in `bench.soak`). `recent_users` holds one stored event per
(source, user) stored recently: a new event upserts its user there (one B-tree descent, which
both asks and records), and a conflict is the repeat. Entries leave with their partition or
2 x REPEAT_USER_WINDOW after they were stored (`funnel.db.retention`), so the table is bounded
by the window and the retention, and the per-partition user index goes (37 bytes an event).

`raw_arrivals` learns the earliest and latest delay (arrival less timestamp) of each
partition's events: how far apart two events of a range may have been stored, which the
reporter needs to say when a count of users is exact (docs/storage.md, "Repeat users").

Entries are made for the retained events of the last two hours (by timestamp), so users
stored before the upgrade are still known after it.
"""

from alembic import op

revision = "0012_recent_users"
down_revision = "0011_follower_fine_bins"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # `user_hash` is a 64-bit hash of source and user id: 8 bytes, not a ~40-byte key. Two
    # users sharing a hash only copy a few events too many into `repeat_events`, whose
    # readers group by the real user id.
    op.execute(
        """
        CREATE FUNCTION funnel_user_hash(source text, user_id text) RETURNS bigint
        LANGUAGE sql IMMUTABLE PARALLEL SAFE
        AS $$ SELECT hashtextextended(source || ':' || user_id, 0) $$
        """
    )
    op.execute(
        """
        CREATE TABLE recent_users (
            user_hash bigint NOT NULL CONSTRAINT pk_recent_users PRIMARY KEY,
            occurred_at timestamptz NOT NULL,
            event_key uuid NOT NULL,
            stored_at timestamptz NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX ix_recent_users_stored_at ON recent_users (stored_at)")
    op.execute(
        """
        INSERT INTO recent_users (user_hash, occurred_at, event_key, stored_at)
        SELECT DISTINCT ON (1) funnel_user_hash(source, user_id), occurred_at, event_key, now()
        FROM events WHERE occurred_at >= now() - interval '2 hours'
        ORDER BY 1, occurred_at DESC
        """
    )
    op.execute("DROP INDEX ix_events_user_id")
    op.execute(
        "ALTER TABLE raw_arrivals ADD COLUMN min_delay interval, ADD COLUMN max_delay interval"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE raw_arrivals DROP COLUMN min_delay, DROP COLUMN max_delay")
    op.execute("CREATE INDEX ix_events_user_id ON events USING hash (user_id)")
    op.execute("DROP TABLE recent_users")
    op.execute("DROP FUNCTION funnel_user_hash")
