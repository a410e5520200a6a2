"""The reports' JSON shapes (contract section 6): snake_case here, camelCase on the wire.

Money is a string with exactly two decimals ("1234.56"): exact, never a float.
"""

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


Money = str


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
    filters: EventsFilters
    total: int
    by_source: dict[str, int]
    by_funnel_stage: dict[str, int]
    by_event_type: list[EventTypeCount]
    series: list[SeriesPoint] | None = Field(
        default=None, description="Only with `interval`: every bucket of the range, zeros too"
    )


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
    filters: RevenueFilters
    total_revenue: Money
    transactions: int
    average_order_value: Money = Field(description="Rounded half up to the cent")
    by_source: list[SourceRevenue]
    top_campaigns: list[CampaignRevenue]


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
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)

    filters: DemographicsFilters
    facebook: FacebookAudience | None = None
    tiktok: TiktokAudience | None = None
