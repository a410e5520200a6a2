"""Hand-written valid events of each source and funnel stage, as JSON-ready dicts.

Written out rather than generated, so the schema tests do not lean on the emulator's
generator; each call returns a fresh dict that a test may change.
"""

from typing import Any, Final

from funnel.events import FunnelStage, Source

KINDS: Final[tuple[tuple[Source, FunnelStage], ...]] = (
    ("facebook", "top"),
    ("facebook", "bottom"),
    ("tiktok", "top"),
    ("tiktok", "bottom"),
)


def sample(source: Source, stage: FunnelStage, event_type: str | None = None) -> dict[str, Any]:
    """A valid event of `source` and `stage` (of `event_type` when given)."""
    if source == "facebook":
        user: dict[str, Any] = {
            "userId": "9b2f7c1e-4d3a-4e8b-a1c6-5f0e2d7b8a94",
            "name": "Olena Shevchenko",
            "age": 34,
            "gender": "female",
            "location": {"country": "Ukraine", "city": "Kyiv"},
        }
        if stage == "top":
            engagement: dict[str, Any] = {
                "actionTime": "2026-11-25T09:59:58.001Z",
                "referrer": "newsfeed",
                "videoId": "vid-rDUEpGS4",
            }
        else:
            engagement = {
                "adId": "ad-q7C1d2Ez",
                "campaignId": "camp-aB12c",
                "clickPosition": "center",
                "device": "mobile",
                "browser": "Firefox",
                "purchaseAmount": "129.99",
            }
        default_type = "ad.view" if stage == "top" else "checkout.complete"
        prefix = "fb"
    else:
        user = {
            "userId": "252f383d-1ac3-4e43-b853-712546b3d768",
            "username": "Maria_Silva42",
            "followers": 15320,
        }
        if stage == "top":
            engagement = {
                "watchTime": 42,
                "percentageWatched": 87.5,
                "device": "iOS",
                "country": "Brazil",
                "videoId": "vid-9Zy7X6w5",
            }
        else:
            engagement = {
                "actionTime": "2026-11-25T09:58:00.250Z",
                "profileId": "profile-1aB2c3",
                "purchasedItem": "sneakers",
                "purchaseAmount": "59.90",
            }
        default_type = "video.view" if stage == "top" else "purchase"
        prefix = "ttk"
    return {
        "eventId": f"{prefix}-5f0c6a2e-8d3b-4c1a-9e7f-2b6d4a8c0e1f",
        "timestamp": "2026-11-25T10:00:00.123Z",
        "source": source,
        "funnelStage": stage,
        "eventType": event_type or default_type,
        "data": {"user": user, "engagement": engagement},
    }
