# Stand-in for andriiuni/events (Node, not pullable here): the project's emulator,
# `funnel publish`, with the project image's virtualenv, and Debian's Node.js for the
# compose file's healthcheck. A smaller pattern than upstream's (1,000..50,000 events a
# second) leaves the shared CI machine room for the checks.
ARG PYTHON_IMAGE
ARG FUNNEL_IMAGE=funnel:latest
FROM ${FUNNEL_IMAGE} AS funnel

FROM ${PYTHON_IMAGE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends nodejs \
    && rm -rf /var/lib/apt/lists/*
COPY --from=funnel /opt/funnel /opt/funnel
ENV PATH=/opt/funnel/bin:$PATH \
    PUBLISHER_MIN_EVENTS=200 \
    PUBLISHER_MAX_EVENTS=2000
USER nobody
ENTRYPOINT ["funnel", "publish"]
