"""city sketches: top cities from a bounded sketch per bucket, not a row per city seen.

Revision ID: 0008_city_sketches
Revises: 0007_time_partitions

The publisher draws a Facebook user's country and city independently from ~250 countries and
tens of thousands of cities, so nearly every event named a new (country, city) pair: the
`city` facts of `audience_counts` were ~0.9 rows per event, and the demographics report read
them all. Each bucket now keeps a Space-Saving sketch of at most a fixed number of pairs in
`city_sketches` (their counts, never under the truth, each over by at most its `error`) and
in `city_sketch_floors` the largest count it let go: a pair outside the sketch was seen at
most `floor` times. `funnel.db.summaries` explains the update, `docs/storage.md` the bound.

`summary_horizons` records, per grain, the first bucket still kept once retention deletes
old summary rows of that grain; the reporter reads whole buckets of a grain only from there.

Existing city facts become sketches here: each bucket keeps its most frequent pairs, exactly,
and its floor is the count of the most frequent pair left out.
"""

from typing import Final

from alembic import op

revision = "0008_city_sketches"
down_revision = "0007_time_partitions"
branch_labels = None
depends_on = None

# Frozen with this revision: `funnel.db.summaries.CITY_SKETCH_SIZE` at the time.
_SIZE: Final = 100


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE city_sketches (
            grain text NOT NULL,
            bucket timestamptz NOT NULL,
            source text NOT NULL,
            country text NOT NULL,
            city text NOT NULL,
            users bigint NOT NULL,
            error bigint NOT NULL,
            CONSTRAINT pk_city_sketches PRIMARY KEY (grain, bucket, source, country, city)
        ) WITH (fillfactor = 70)
        """
    )
    op.execute(
        """
        CREATE TABLE city_sketch_floors (
            grain text NOT NULL,
            bucket timestamptz NOT NULL,
            source text NOT NULL,
            floor bigint NOT NULL,
            CONSTRAINT pk_city_sketch_floors PRIMARY KEY (grain, bucket, source)
        ) WITH (fillfactor = 70)
        """
    )
    op.execute(
        """
        CREATE TABLE summary_horizons (
            grain text NOT NULL CONSTRAINT pk_summary_horizons PRIMARY KEY,
            kept_from timestamptz NOT NULL
        )
        """
    )
    op.execute(
        f"""
        WITH ranked AS (
            SELECT grain, bucket, source, value AS country, detail AS city, events,
                   row_number() OVER (
                       PARTITION BY grain, bucket, source ORDER BY events DESC, value, detail
                   ) AS rank
            FROM audience_counts WHERE dimension = 'city'
        ), kept AS (
            INSERT INTO city_sketches (grain, bucket, source, country, city, users, error)
            SELECT grain, bucket, source, country, city, events, 0 FROM ranked
            WHERE rank <= {_SIZE}
        )
        INSERT INTO city_sketch_floors (grain, bucket, source, floor)
        SELECT grain, bucket, source, max(events) FROM ranked WHERE rank > {_SIZE}
        GROUP BY 1, 2, 3
        """
    )
    op.execute("DELETE FROM audience_counts WHERE dimension = 'city'")


def downgrade() -> None:
    # Sketches cannot give back every pair's count; the pairs they hold are restored.
    op.execute(
        """
        INSERT INTO audience_counts (grain, bucket, source, dimension, value, detail, events,
                                     followers)
        SELECT grain, bucket, source, 'city', country, city, users, 0 FROM city_sketches
        """
    )
    op.execute("DROP TABLE summary_horizons")
    op.execute("DROP TABLE city_sketch_floors")
    op.execute("DROP TABLE city_sketches")
