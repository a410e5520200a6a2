# Stand-in for python:3.11.14-slim-bookworm: Debian's own Python 3.11, with venv and with
# `python` on PATH as in the official image.
ARG BASE
FROM ${BASE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv python-is-python3 \
    && rm -rf /var/lib/apt/lists/*
