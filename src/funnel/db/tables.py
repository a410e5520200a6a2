"""The schema as SQLAlchemy tables: what Alembic's environment compares migrations against.

The migrations under `migrations/versions/` are the source of truth for the database; this
module mirrors them so that code and autogenerate share one description. `events` holds one
row per event, partitioned by `occurred_at` (`0007`), its raw form in `raw_batches` (`0009`);
the report summaries and the partition bookkeeping are defined by their own migrations
(`0002`, `0007`, `0008`).
"""

from typing import Final

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Index,
    Integer,
    LargeBinary,
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
    # Ids compare as bytes (0004): they are matched, never sorted for people. An event is its
    # id at its instant; the time leads, so the key grows at its right edge (0007).
    Column("event_id", Text(collation="C"), primary_key=True),
    Column("occurred_at", TIMESTAMP(timezone=True), primary_key=True),
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
    # Rows stored before 0009 only; later rows point into their message's raw batch.
    Column("payload", JSONB),
    Column("batch_id", BigInteger),
    Column("batch_index", Integer),
    CheckConstraint("source IN ('facebook', 'tiktok')", name="source"),
    # 0003 dropped `ix_events_occurred_at` and the two 0001 transaction indexes, 0009 the
    # one on (source, occurred_at): the key and the reporter's indexes cover them.
    # The repeat-user probe's equality lookups only (0005).
    Index("ix_events_user_id", "user_id", postgresql_using="hash"),
    postgresql_partition_by="RANGE (occurred_at)",
)

raw_batches: Final = Table(
    "raw_batches",
    metadata,
    # A content hash of the message: every delivery of it is the same batch.
    Column("batch_id", BigInteger, primary_key=True),
    # Its earliest event in the partition it is kept in.
    Column("occurred_at", TIMESTAMP(timezone=True), primary_key=True),
    # The message's JSON array, zlib-compressed.
    Column("events", LargeBinary, nullable=False),
    postgresql_partition_by="RANGE (occurred_at)",
)
