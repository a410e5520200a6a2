"""Which rules an event was validated by: `RULES_ID`, an id of this package's code.

The gateway names, in every message it publishes, the rules its events passed
(`Funnel-Validated`); a collector whose rules have the same id takes those events as valid
instead of validating them again (a third of what decoding a message costs it). Any other
message is validated: one from a gateway of other code, a replay, or another publisher.

The id is a digest of the source of every module of `funnel.events` and of the pydantic
versions that run it, so any change to what validation accepts changes it, with nothing to
remember to bump.
"""

import hashlib
from importlib.metadata import version
from pathlib import Path
from typing import Final


def _rules_id() -> str:
    digest = hashlib.blake2b(digest_size=8)
    for library in ("pydantic", "pydantic-core"):
        digest.update(f"{library}=={version(library)}\n".encode())
    for module in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(module.name.encode() + b"\n" + module.read_bytes())
    return digest.hexdigest()


RULES_ID: Final = _rules_id()
