"""The schema as SQLAlchemy tables: what Alembic's environment compares migrations against.

The migrations under `migrations/versions/` are the source of truth for the database; this
module mirrors them so that code and autogenerate share one description. `events` holds one
row per event, partitioned by `occurred_at` (`0007`), its raw form in `raw_batches` (`0009`,
`0010`); the report summaries and the partition bookkeeping are defined by their own migrations
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
from sqlalchemy.dialects.postgresql import JSONB, TIMESTAMP, UUID

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
    # An event is its id at its instant; the time leads, so the key grows at its right edge
    # (0007). The id is kept as the MD5 of the eventId (0010): 16 bytes, not ~37; the eventId
    # itself is in the raw batch. Fixed-width columns first: no padding between them.
    Column("occurred_at", TIMESTAMP(timezone=True), primary_key=True),
    Column("event_key", UUID(as_uuid=True), primary_key=True),
    Column("batch_id", BigInteger),
    # TikTok user and top-funnel engagement.
    Column("followers", BigInteger),
    Column("batch_index", Integer),
    # Facebook user demographics.
    Column("age", SmallInteger),
    Column("source", Text, nullable=False),
    Column("funnel_stage", Text, nullable=False),
    Column("event_type", Text, nullable=False),
    # Ids compare as bytes (0004): they are matched, never sorted for people.
    Column("user_id", Text(collation="C"), nullable=False),
    Column("campaign_id", Text),
    Column("purchase_amount", Numeric(14, 2)),
    Column("gender", Text),
    # Facebook user location, or the TikTok top-funnel engagement country.
    Column("country", Text),
    Column("city", Text),
    Column("device", Text),
    # Rows stored before 0009 only; later rows point into their message's raw batch.
    Column("payload", JSONB),
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
    # The message's JSON array, compressed: zstd, or zlib before zstd (`unpack_batch`).
    Column("events", LargeBinary, nullable=False),
    # The message's request and when its collector received it (0010).
    Column("correlation_id", Text),
    Column("received_at", TIMESTAMP(timezone=True)),
    postgresql_partition_by="RANGE (occurred_at)",
)
