"""Running a tool of this machine: found by full path, output kept, failures explained."""

import asyncio
import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

_ANSI: Final = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class CommandError(RuntimeError):
    """A tool is missing, failed or took too long; the message ends with its last lines."""


def executable(name: str) -> str:
    """The full path of the tool `name` (sbin included), or `CommandError`."""
    found = shutil.which(name) or shutil.which(name, path="/usr/local/sbin:/usr/sbin:/sbin")
    if found is None:
        raise CommandError(f"{name} is not installed")
    return found


@dataclass(frozen=True)
class Result:
    """A finished command: its exit status and output (stdout and stderr, colours removed)."""

    code: int
    text: str


async def run(
    *command: str | Path,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    within: float = 600,
    log: Path | None = None,
    check: bool = True,
) -> Result:
    """Run `command` and wait for it, at most `within` seconds; with `check`, a non-zero
    status raises `CommandError`. The command line and its output are appended to `log`.
    """
    words = [str(word) for word in command]
    process = await asyncio.create_subprocess_exec(
        executable(words[0]),
        *words[1:],
        cwd=cwd,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive", **(env or {})},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        async with asyncio.timeout(within):
            output, _ = await process.communicate()
    except TimeoutError:
        process.kill()
        await process.wait()
        raise CommandError(f"{' '.join(words[:4])} took over {within:g}s") from None
    text = _ANSI.sub("", output.decode(errors="replace"))
    if log is not None:
        with log.open("a") as file:
            file.write(f"$ {' '.join(words)}\n{text}\n")
    assert process.returncode is not None
    if check and process.returncode != 0:
        tail = "\n".join(text.strip().splitlines()[-12:])
        raise CommandError(f"{' '.join(words[:5])} failed ({process.returncode}):\n{tail}")
    return Result(process.returncode, text)
