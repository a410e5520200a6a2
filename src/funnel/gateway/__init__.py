"""The gateway: `POST /webhook` -> validated batches on JetStream, rejected events as dead letters.

`run(GatewaySettings())` is `funnel gateway`; `create_app` builds the ASGI app for tests and
other servers.
"""

from funnel.gateway.app import create_app, run
from funnel.gateway.metrics import GatewayMetrics
from funnel.gateway.settings import GatewaySettings

__all__ = ["GatewayMetrics", "GatewaySettings", "create_app", "run"]
