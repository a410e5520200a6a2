"""The events `bench.reports` loads, generated inside PostgreSQL: shaped like the emulator's.

`INSERT ... SELECT FROM generate_series` is the fastest bulk path. Like `funnel.publisher`:
`fb-`/`ttk-` + UUID event ids, a bare UUID per user (so no user recurs), mixed-case
8-character `ad-` and 5-character `camp-` ids, faker's 249 countries drawn evenly and a city
drawn apart from the country by faker's five patterns (~650,000 cities, ~34,700 distinct per
100,000 events), age 18-65, followers 0-1,000,000, prices with faker's last digits, an even
split of sources, stages and each stage's types. One departure: 5% of campaigns come from a
pool of 1,000 (real-shaped ids), so that the revenue report's campaign filter finds purchases.
"""

import random
import string
import time
from datetime import datetime, timedelta

import asyncpg

from funnel.publisher.vocabulary import vocabulary

_ALPHANUMERIC = string.digits + string.ascii_uppercase + string.ascii_lowercase
CAMPAIGN_POOL = [
    "camp-" + "".join(random.Random(n).choices(_ALPHANUMERIC, k=5)) for n in range(1000)
]
"""The 1,000 campaigns 5% of Facebook's bottom-funnel events share."""


def _pick(array: str, draw: str) -> str:
    """SQL: an element of `array` chosen evenly by `draw`, a column in [0, 1)."""
    return f"({array})[1 + floor({draw} * cardinality({array}))::int]"


def _alphanumeric(number: str, length: int) -> str:
    """SQL: `length` characters of the alphabet ($12) read off `number`, an integer column
    drawn evenly below 62 ** length, as base-62 digits."""
    return " || ".join(f"substr($12, 1 + ({number} / {62**k} % 62)::int, 1)" for k in range(length))


def _price(cents: str, high: int) -> str:
    """SQL: faker's `commerce.price` from `cents`, drawn evenly from whole units up to `high`:
    the last cent digit becomes `digit` unless that passes `high`."""
    priced = f"({cents} - {cents} % 10 + digit)"
    return f"(CASE WHEN {priced} <= {high * 100} THEN {priced} ELSE {cents} END)::numeric / 100"


# One statement per chunk; $1..$2 the event numbers, $3 the start, $4 microseconds per event,
# $5 countries, $6 city prefixes, $7 first names, $8 city suffixes, $9 last names, $10 city
# names, $11 the campaign pool, $12 the alphanumeric alphabet.
_GENERATE = f"""
INSERT INTO events (event_key, occurred_at, source, funnel_stage, event_type,
                    user_id, campaign_id, purchase_amount, age, gender, country, city,
                    followers, device, batch_id, batch_index)
SELECT
    md5(event_id)::uuid, at,
    CASE WHEN fb THEN 'facebook' ELSE 'tiktok' END,
    CASE WHEN top THEN 'top' ELSE 'bottom' END,
    kind,
    gen_random_uuid()::text,
    CASE WHEN fb AND NOT top THEN
        CASE WHEN r8 < 0.05 THEN {_pick("$11::text[]", "r4")}
             ELSE 'camp-' || {_alphanumeric("a5", 5)} END
    END,
    CASE WHEN fb AND kind = 'checkout.complete' THEN {_price("fb_cents", 1000)}
         WHEN NOT fb AND kind = 'purchase' THEN {_price("tiktok_cents", 500)} END,
    CASE WHEN fb THEN 18 + floor(r5 * 48)::int END,
    CASE WHEN fb THEN (ARRAY['male', 'female', 'non-binary'])[1 + floor(r6 * 3)::int] END,
    CASE WHEN fb OR top THEN {_pick("$5::text[]", "r7")} END,
    -- faker's location.city(): one of five patterns evenly, with no tie to the country
    CASE WHEN fb THEN
        CASE floor(c0 * 5)::int
            WHEN 0 THEN {_pick("$6::text[]", "c1")} || ' ' || {_pick("$7::text[]", "c2")}
                        || {_pick("$8::text[]", "c3")}
            WHEN 1 THEN {_pick("$6::text[]", "c1")} || ' ' || {_pick("$7::text[]", "c2")}
            WHEN 2 THEN {_pick("$7::text[]", "c2")} || {_pick("$8::text[]", "c3")}
            WHEN 3 THEN {_pick("$9::text[]", "c2")} || {_pick("$8::text[]", "c3")}
            ELSE {_pick("$10::text[]", "c2")}
        END
    END,
    CASE WHEN NOT fb THEN floor(r5 * 1000001)::bigint END,
    CASE WHEN NOT fb AND top THEN (ARRAY['Android', 'iOS', 'Desktop'])[1 + floor(r6 * 3)::int] END,
    -- Reports never read the raw form: these rows point into no batch.
    0, 0
FROM (
    SELECT i, $3::timestamptz + make_interval(secs => i * $4::float8 / 1e6) AS at,
           CASE WHEN r1 < 0.5 THEN 'fb-' ELSE 'ttk-' END || gen_random_uuid() AS event_id,
           r1 < 0.5 AS fb, r2 < 0.5 AS top,
           CASE WHEN r1 < 0.5 THEN
               CASE WHEN r2 < 0.5
                    THEN (ARRAY['ad.view', 'page.like', 'comment', 'video.view'])
                         [1 + floor(r3 * 4)::int]
                    ELSE (ARRAY['ad.click', 'form.submission', 'checkout.complete'])
                         [1 + floor(r3 * 3)::int] END
           ELSE
               CASE WHEN r2 < 0.5
                    THEN (ARRAY['video.view', 'like', 'share', 'comment'])[1 + floor(r3 * 4)::int]
                    ELSE (ARRAY['profile.visit', 'purchase', 'follow'])[1 + floor(r3 * 3)::int] END
           END AS kind,
           r1, r4, r5, r6, r7, r8, c0, c1, c2, c3,
           floor(a5 * {62**5})::bigint AS a5,
           1000 + floor(r9 * 99001)::int AS fb_cents, 500 + floor(r9 * 49501)::int AS tiktok_cents,
           -- commerce.price's last digit: 9, 5, 0 or any digit, weights 5:3:1:1
           CASE WHEN r10 < 0.5 THEN 9 WHEN r10 < 0.8 THEN 5 WHEN r10 < 0.9 THEN 0
                ELSE floor((r10 - 0.9) * 100)::int END AS digit
    FROM (SELECT i, random() AS r1, random() AS r2, random() AS r3, random() AS r4,
                 random() AS r5, random() AS r6, random() AS r7, random() AS r8, random() AS r9,
                 random() AS r10, random() AS c0, random() AS c1, random() AS c2, random() AS c3,
                 random() AS a5
          FROM generate_series($1::bigint, $2::bigint) AS i) AS draws
) AS drawn
"""


async def generate_events(
    conn: asyncpg.Connection, events: int, start: datetime, span: timedelta
) -> None:
    """Insert `events` real-shaped events into `events`, spread evenly over `span` from
    `start`, in statements of 500,000; prints progress."""
    words = vocabulary()
    step = span / timedelta(microseconds=1) / events
    chunk = 500_000
    started = time.perf_counter()
    for first in range(0, events, chunk):
        await conn.execute(
            _GENERATE,
            first,
            min(first + chunk, events) - 1,
            start,
            step,
            list(words.countries),
            list(words.city_prefixes),
            list(words.first_names),
            list(words.city_suffixes),
            list(words.last_names),
            list(words.city_names),
            CAMPAIGN_POOL,
            _ALPHANUMERIC,
        )
        done = min(first + chunk, events)
        print(f"  {done:>10,} events  {time.perf_counter() - started:6.0f} s", flush=True)
