"""`funnel dlq`: list, show and replay the dead letters of `DEAD_LETTERS`.

Only the command group is exported here, so that the `funnel` command stays quick to load;
the logic lives in `funnel.dlq.inventory` (finding letters) and `funnel.dlq.replay`.
"""

from funnel.dlq.command import app

__all__ = ["app"]
