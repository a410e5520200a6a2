"""`RULES_ID`: the rules an event passed, named so that a collector can tell its own."""

import subprocess
import sys

from funnel.events import RULES_ID


def test_the_rules_id_is_the_same_in_every_process() -> None:
    """A gateway and a collector running the same code name the same rules; it is a digest
    of the code, not a random or per-process value."""
    other = subprocess.run(
        [sys.executable, "-c", "from funnel.events import RULES_ID; print(RULES_ID)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert other.stdout.strip() == RULES_ID
    assert len(RULES_ID) == 16
    int(RULES_ID, 16)
