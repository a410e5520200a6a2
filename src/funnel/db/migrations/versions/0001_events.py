"""events: one row per event, deduplicated by event_id.

Revision ID: 0001_events
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001_events"
down_revision = None
branch_labels = None
depends_on = None

_TRANSACTIONAL = sa.text("purchase_amount IS NOT NULL")


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("occurred_at", postgresql.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("received_at", postgresql.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("funnel_stage", sa.Text(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("campaign_id", sa.Text(), nullable=True),
        sa.Column("ad_id", sa.Text(), nullable=True),
        # The wire allows up to 12 integer digits and 2 decimals (`funnel.events.wire.Money`).
        sa.Column("purchase_amount", sa.Numeric(14, 2), nullable=True),
        sa.Column("age", sa.SmallInteger(), nullable=True),
        sa.Column("gender", sa.Text(), nullable=True),
        sa.Column("country", sa.Text(), nullable=True),
        sa.Column("city", sa.Text(), nullable=True),
        sa.Column("followers", sa.BigInteger(), nullable=True),
        sa.Column("device", sa.Text(), nullable=True),
        sa.Column("correlation_id", sa.Text(), nullable=True),
        sa.Column("payload", postgresql.JSONB(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_events"),
        sa.CheckConstraint("source IN ('facebook', 'tiktok')", name="ck_events_source"),
    )
    # Rows arrive roughly in time order: time-leading indexes grow at their right edge, so
    # packing their pages full costs nothing and keeps them a tenth smaller.
    op.create_index(
        "ix_events_occurred_at", "events", ["occurred_at"], postgresql_with={"fillfactor": 100}
    )
    op.create_index("ix_events_source_occurred_at", "events", ["source", "occurred_at"])
    op.create_index("ix_events_user_id_occurred_at", "events", ["user_id", "occurred_at"])
    # Revenue reports read only transactional rows; the covering columns spare the heap.
    op.create_index(
        "ix_events_transactions",
        "events",
        ["occurred_at"],
        postgresql_include=["source", "campaign_id", "purchase_amount"],
        postgresql_where=_TRANSACTIONAL,
        postgresql_with={"fillfactor": 100},
    )
    op.create_index(
        "ix_events_campaign_transactions",
        "events",
        ["campaign_id", "occurred_at"],
        postgresql_where=_TRANSACTIONAL,
    )


def downgrade() -> None:
    op.drop_table("events")
