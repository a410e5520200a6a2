"""retired partitions: a dropped partition is detached first, its campaigns settled from it.

Revision ID: 0014_retired_partitions
Revises: 0013_campaign_debits

A drop copied the partition's campaign revenue into `campaign_debits` (a row per campaign:
most campaigns have one purchase, so ~240,000 rows for a 2-minute partition at 25,000
events a second), and the retention round subtracted them from `campaign_totals` after the
drop, then deleted them: every debit written, indexed, deleted and vacuumed again, every two
minutes. Now the drop detaches the partition instead of dropping it and names it here; the
round subtracts what the partition's own rows add up to and drops it, in one transaction.
`campaign_totals` still runs ahead of the retained rows meanwhile, never behind. Debits left
by a drop before this revision are settled here.
"""

from alembic import op

revision = "0014_retired_partitions"
down_revision = "0013_campaign_debits"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE retired_partitions (
            name text NOT NULL CONSTRAINT pk_retired_partitions PRIMARY KEY,
            retired_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute(
        """
        MERGE INTO campaign_totals AS c
        USING (
            SELECT campaign_id, sum(revenue) AS revenue, sum(transactions) AS transactions
            FROM campaign_debits GROUP BY campaign_id
        ) AS d
        ON c.campaign_id = d.campaign_id
        WHEN MATCHED AND c.transactions <= d.transactions THEN DELETE
        WHEN MATCHED THEN UPDATE
            SET revenue = c.revenue - d.revenue, transactions = c.transactions - d.transactions
        """
    )
    op.execute("DROP TABLE campaign_debits")


def downgrade() -> None:
    # Retired partitions not settled yet are settled by this revision's own rule first.
    op.execute(
        """
        DO $$
        DECLARE retired text;
        BEGIN
            FOR retired IN SELECT name FROM retired_partitions LOOP
                EXECUTE format(
                    'MERGE INTO campaign_totals AS c USING ('
                    ' SELECT campaign_id, sum(purchase_amount) AS revenue, count(*) AS transactions'
                    ' FROM %I WHERE campaign_id IS NOT NULL AND purchase_amount IS NOT NULL'
                    ' AND (source, event_type) IN'
                    ' ((''facebook'', ''checkout.complete''), (''tiktok'', ''purchase''))'
                    ' GROUP BY campaign_id) AS d'
                    ' ON c.campaign_id = d.campaign_id'
                    ' WHEN MATCHED AND c.transactions <= d.transactions THEN DELETE'
                    ' WHEN MATCHED THEN UPDATE SET revenue = c.revenue - d.revenue,'
                    ' transactions = c.transactions - d.transactions',
                    retired
                );
                EXECUTE format('DROP TABLE %I', retired);
            END LOOP;
        END
        $$
        """
    )
    op.execute("DROP TABLE retired_partitions")
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
