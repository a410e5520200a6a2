# syntax=docker/dockerfile:1
# One image for every Funnel service; the command picks which one runs:
#   gateway | collector --source facebook | collector --source tiktok | reporter | migrate
#
# The base is pinned by exact version tag. Pinning by digest as well
# (python:3.11.14-slim-bookworm@sha256:...) makes rebuilds byte-for-byte repeatable;
# add it where the registry can be asked for the digest.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

# --- build: a virtualenv with Funnel and its pinned runtime dependencies, nothing else ---
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/funnel
WORKDIR /src
# Only what the wheel needs (see .dockerignore, an allowlist). No test extra: the image
# carries no test or lint tools.
COPY pyproject.toml constraints.txt README.md ./
COPY src ./src
RUN /opt/funnel/bin/pip install --no-compile -c constraints.txt . \
    && /opt/funnel/bin/python -m compileall -q /opt/funnel/lib

# --- runtime: the virtualenv on a clean base, run as an unprivileged user ---
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="funnel" \
      org.opencontainers.image.description="Ad-funnel event pipeline: gateway, collectors, reporter"
RUN groupadd --system --gid 10001 funnel \
    && useradd --system --uid 10001 --gid funnel --home-dir /nonexistent --no-create-home \
       --shell /usr/sbin/nologin funnel
COPY --from=build /opt/funnel /opt/funnel
ENV PATH=/opt/funnel/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    APP_ENV=production \
    PORT=3000
WORKDIR /app
USER funnel:funnel
EXPOSE 3000 3001 3002 3003
# Services drain on SIGTERM (not-ready, finish in-flight work, close NATS); give them the
# time with `docker stop -t` / compose's stop_grace_period.
STOPSIGNAL SIGTERM
# Readiness, not liveness: healthy means the service can do its work (NATS, database,
# migrations). Slim images have no curl, so Python asks; an HTTP error status raises.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; u.urlopen('http://127.0.0.1:%s/health/ready' % os.environ.get('PORT', '3000'), timeout=2)"]
ENTRYPOINT ["funnel"]
CMD ["gateway"]
