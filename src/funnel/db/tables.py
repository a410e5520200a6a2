"""The schema as SQLAlchemy tables: what Alembic's environment compares migrations against.

The migrations under `migrations/versions/` are the source of truth for the database; this
module mirrors them so that code and autogenerate share one description. `events` holds one
row per event; the report summaries are defined by their own migration (`0002_summaries`).
"""

from typing import Final

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Index,
    MetaData,
    Numeric,
    SmallInteger,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB, TIMESTAMP

# Names every constraint and index the same way in migrations and here.
metadata: Final = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)


events: Final = Table(
    "events",
    metadata,
    # Ids compare as bytes (0004): they are matched, never sorted for people.
    Column("event_id", Text(collation="C"), primary_key=True),
    Column("occurred_at", TIMESTAMP(timezone=True), nullable=False),
    Column("received_at", TIMESTAMP(timezone=True), nullable=False),
    Column("source", Text, nullable=False),
    Column("funnel_stage", Text, nullable=False),
    Column("event_type", Text, nullable=False),
    Column("user_id", Text(collation="C"), nullable=False),
    Column("campaign_id", Text),
    Column("ad_id", Text),
    Column("purchase_amount", Numeric(14, 2)),
    # Facebook user demographics.
    Column("age", SmallInteger),
    Column("gender", Text),
    # Facebook user location, or the TikTok top-funnel engagement country.
    Column("country", Text),
    Column("city", Text),
    # TikTok user and top-funnel engagement.
    Column("followers", BigInteger),
    Column("device", Text),
    Column("correlation_id", Text),
    Column("payload", JSONB, nullable=False),
    CheckConstraint("source IN ('facebook', 'tiktok')", name="source"),
    # 0003 dropped `ix_events_occurred_at` and the two 0001 transaction indexes: others cover them.
    Index("ix_events_source_occurred_at", "source", "occurred_at"),
    # The repeat-user probe's equality lookups only (0005).
    Index("ix_events_user_id", "user_id", postgresql_using="hash"),
)
