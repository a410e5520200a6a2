# Stand-in for postgres:17.6-bookworm: Debian's PostgreSQL 15 behind an entrypoint that, like
# the official one, creates POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB in an empty PGDATA.
ARG BASE
FROM ${BASE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-15 \
    && rm -rf /var/lib/apt/lists/* \
    && install -d -o postgres -g postgres -m 700 /var/lib/postgresql/data \
    && install -d -o postgres -g postgres /run/postgresql
ENV PATH=/usr/lib/postgresql/15/bin:$PATH \
    PGDATA=/var/lib/postgresql/data
COPY postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ENTRYPOINT ["docker-entrypoint.sh"]
# The official image's: a fast shutdown, no waiting for clients to leave.
STOPSIGNAL SIGINT
CMD ["postgres"]
