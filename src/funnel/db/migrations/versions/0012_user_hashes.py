"""user hashes: a log of the users each transaction stored, from which writers keep filters.

Revision ID: 0012_user_hashes
Revises: 0011_follower_fine_bins

The repeat-user probe asked each raw partition within REPEAT_USER_WINDOW of a new event for
its user: one hash-index lookup per event and partition, so PostgreSQL's cost per event grew
with the partitions retention keeps. Every transaction that stores events now appends the
64-bit hashes of their users here (8 bytes each, packed), one row per partition and source;
each collector keeps a Bloom filter per recent partition from these rows
(`funnel.db.seen_users`) and asks PostgreSQL only about the users a filter might hold. Rows
go with their partition.

Partitions stored before this migration have no rows: `raw_arrivals` counts more events there
than the log holds, so writers keep asking those partitions about every user until they
leave the window. Nothing is backfilled, which would read every retained event.
"""

from alembic import op

revision = "0012_user_hashes"
down_revision = "0011_follower_fine_bins"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE user_hashes (
            seq bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT pk_user_hashes PRIMARY KEY,
            partition text NOT NULL,
            source text NOT NULL,
            hashes bytea NOT NULL
        )
        """
    )
    # `hashes`: big-endian 64-bit hashes back to back (`int8send`), read without decoding.
    # Random numbers do not compress: stored out of line without trying.
    op.execute("ALTER TABLE user_hashes ALTER COLUMN hashes SET STORAGE EXTERNAL")
    op.execute("CREATE INDEX ix_user_hashes_source_seq ON user_hashes (source, seq)")
    op.execute("CREATE INDEX ix_user_hashes_partition ON user_hashes (partition, source)")


def downgrade() -> None:
    op.execute("DROP TABLE user_hashes")
