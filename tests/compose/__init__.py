"""`make compose-test`: the compose files run for real, on stand-in images, under faults.

Not collected by pytest (no `test_*` modules): it needs root, installs and starts a Docker
engine, and takes minutes; `python -m tests.compose` runs it and prints one table.
"""
