"""exact follower sums: `audience_counts.followers` becomes `numeric`.

Revision ID: 0006_exact_follower_sums
Revises: 0005_hash_user_index

A follower count is a `bigint`, and the summary adds the counts of all TikTok events of a
minute or an hour into one row. Two valid events with counts near 2^63 overflowed its
`bigint`. From then on the database refused every TikTok event of that minute and hour,
since each batch updates the row. `numeric` sums exactly, as revenue does. The table holds
one row per bucket and fact, so rewriting it is quick. It is locked while it is rewritten:
collectors and reports wait meanwhile, and JetStream holds the collectors' batches.
"""

from alembic import op

revision = "0006_exact_follower_sums"
down_revision = "0005_hash_user_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE audience_counts ALTER COLUMN followers TYPE numeric")


def downgrade() -> None:
    op.execute("ALTER TABLE audience_counts ALTER COLUMN followers TYPE bigint")
