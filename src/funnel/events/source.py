"""The two ad platforms Funnel ingests, and the collector deployment that owns each."""

from typing import Final, Literal, get_args

Source = Literal["facebook", "tiktok"]
SOURCES: Final[tuple[Source, ...]] = get_args(Source)

FunnelStage = Literal["top", "bottom"]

# The durable consumer (and service) name of each source's collector, as in the contract.
COLLECTOR_NAMES: Final[dict[Source, str]] = {"facebook": "fb-collector", "tiktok": "ttk-collector"}
