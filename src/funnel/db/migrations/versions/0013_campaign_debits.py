"""campaign debits: what dropped partitions owe `campaign_totals`, settled apart.

Revision ID: 0013_campaign_debits
Revises: 0012_user_hashes

Retention subtracted a dropped partition's campaigns from `campaign_totals` while it held
`events` to itself, and at 25,000 events a second that took seconds (one row a purchase)
during which every writer waited. `campaign_totals` only bounds the revenue walk from above
(`funnel.reporter.revenue`), so it may run ahead of the retained rows for a while, never
behind them: the drop now records what the partition held here, before it locks `events`,
and the same retention round (`funnel.db.retention`) subtracts it in a transaction of its own
once the drop has committed.
"""

from alembic import op

revision = "0013_campaign_debits"
down_revision = "0012_user_hashes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE campaign_debits (
            partition text NOT NULL,
            campaign_id text NOT NULL,
            revenue numeric NOT NULL,
            transactions bigint NOT NULL,
            CONSTRAINT pk_campaign_debits PRIMARY KEY (partition, campaign_id)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE campaign_debits")
