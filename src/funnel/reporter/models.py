"""The reports' JSON shapes (contract section 6): snake_case here, camelCase on the wire.

Money is a string with exactly two decimals ("1234.56"): exact, never a float.
"""

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


Money = str


class Coverage(_Model):
    """The range an answer counted: the asked one unless retention had dropped what its
    edges needed (then `complete` is false and `from`/`to` say where it stopped)."""

    from_: str | None = Field(alias="from")
    to: str | None
    complete: bool


class EventsFilters(_Model):
    from_: str | None = Field(alias="from")
    to: str | None
    source: str | None
    funnel_stage: str | None
    event_type: str | None
    interval: str | None


class EventTypeCount(_Model):
    source: str
    funnel_stage: str
    event_type: str
    count: int


class SeriesPoint(_Model):
    start: str = Field(description="UTC start of the bucket; the first may begin before `from`")
    count: int


class EventsReport(_Model):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "filters": {
                        "from": "2026-11-25T10:00:00Z",
                        "to": "2026-11-25T12:00:00Z",
                        "source": "facebook",
                        "funnelStage": None,
                        "eventType": None,
                        "interval": "hour",
                    },
                    "total": 1234,
                    "bySource": {"facebook": 1234, "tiktok": 0},
                    "byFunnelStage": {"top": 700, "bottom": 534},
                    "byEventType": [
                        {
                            "source": "facebook",
                            "funnelStage": "top",
                            "eventType": "ad.view",
                            "count": 180,
                        }
                    ],
                    "series": [
                        {"start": "2026-11-25T10:00:00Z", "count": 600},
                        {"start": "2026-11-25T11:00:00Z", "count": 634},
                    ],
                }
            ]
        }
    )

    filters: EventsFilters
    total: int
    by_source: dict[str, int]
    by_funnel_stage: dict[str, int]
    by_event_type: list[EventTypeCount]
    series: list[SeriesPoint] | None = Field(
        default=None, description="Only with `interval`: every bucket of the range, zeros too"
    )
    coverage: Coverage


class RevenueFilters(_Model):
    from_: str | None = Field(alias="from")
    to: str | None
    source: str | None
    campaign_id: str | None


class SourceRevenue(_Model):
    source: str
    revenue: Money
    transactions: int


class CampaignRevenue(_Model):
    campaign_id: str
    revenue: Money
    transactions: int


class RevenueReport(_Model):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "filters": {"from": None, "to": None, "source": None, "campaignId": None},
                    "totalRevenue": "1234.56",
                    "transactions": 42,
                    "averageOrderValue": "29.39",
                    "bySource": [
                        {"source": "facebook", "revenue": "1000.00", "transactions": 30},
                        {"source": "tiktok", "revenue": "234.56", "transactions": 12},
                    ],
                    "topCampaigns": [
                        {"campaignId": "camp-ab12c", "revenue": "99.10", "transactions": 2}
                    ],
                }
            ]
        }
    )

    filters: RevenueFilters
    total_revenue: Money
    transactions: int
    average_order_value: Money = Field(description="Rounded half up to the cent")
    by_source: list[SourceRevenue]
    top_campaigns: list[CampaignRevenue]
    coverage: Coverage = Field(description="What the totals counted")
    top_campaigns_coverage: Coverage = Field(
        description="What the top campaigns (and a `campaignId` total) counted: raw events"
    )


class DemographicsFilters(_Model):
    from_: str | None = Field(alias="from")
    to: str | None
    source: str | None


class CountryUsers(_Model):
    country: str
    users: int


class CityUsers(_Model):
    country: str
    city: str
    users: int


class FacebookAudience(_Model):
    users: int
    gender: dict[str, int]
    age_groups: dict[str, int]
    top_countries: list[CountryUsers]
    top_cities: list[CityUsers]
    top_cities_max_error: int = Field(
        description="Each listed city's count is at least its true count and over it by at "
        "most this; 0: the list is exact"
    )


class FollowerStats(_Model):
    min: int | None
    max: int | None
    avg: float | None
    median: float | None = Field(description="Continuous 50th percentile")


class TiktokAudience(_Model):
    users: int
    followers: FollowerStats
    follower_tiers: dict[str, int]
    devices: dict[str, int]
    top_countries: list[CountryUsers]


class DemographicsReport(_Model):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "filters": {"from": "2026-11-25T10:00:00Z", "to": None, "source": None},
                    "facebook": {
                        "users": 500,
                        "gender": {"male": 200, "female": 250, "non-binary": 50},
                        "ageGroups": {
                            "<18": 1,
                            "18-24": 90,
                            "25-34": 150,
                            "35-44": 120,
                            "45-54": 80,
                            "55-64": 40,
                            "65+": 19,
                        },
                        "topCountries": [{"country": "Ukraine", "users": 40}],
                        "topCities": [{"country": "Ukraine", "city": "Kyiv", "users": 12}],
                    },
                    "tiktok": {
                        "users": 400,
                        "followers": {"min": 0, "max": 1999000, "avg": 512345.6, "median": 480000},
                        "followerTiers": {
                            "<1k": 10,
                            "1k-10k": 40,
                            "10k-100k": 100,
                            "100k-1M": 200,
                            "1M+": 50,
                        },
                        "devices": {"Android": 150, "iOS": 200, "Desktop": 50},
                        "topCountries": [{"country": "Brazil", "users": 30}],
                    },
                }
            ]
        }
    )

    filters: DemographicsFilters
    facebook: FacebookAudience | None = None
    tiktok: TiktokAudience | None = None
    coverage: Coverage
    users_exact: bool = Field(
        description="Every user counted once: the range covered is no longer than "
        "`usersExactWithinSeconds`. Over a longer range a user whose events there lie further "
        "apart than that may be counted more than once: each count is then at least the truth"
    )
    users_exact_within_seconds: int = Field(
        description="REPEAT_USER_WINDOW: events of one user at most this far apart are known "
        "to be one user's"
    )
