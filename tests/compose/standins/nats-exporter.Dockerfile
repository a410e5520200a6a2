# Stand-in for natsio/prometheus-nats-exporter:0.17.3, which no Debian package ships: a small
# script that serves each NATS server's /varz numbers as gauges (see nats_exporter.py).
ARG BASE
FROM ${BASE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 wget \
    && rm -rf /var/lib/apt/lists/*
COPY nats_exporter.py /usr/local/bin/nats_exporter.py
USER nobody
ENTRYPOINT ["python3", "/usr/local/bin/nats_exporter.py"]
