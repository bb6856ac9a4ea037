# The Call Processor's runtime image: `callproc serve` (its worker processes included) as
# the child of tini, as a non-root user, with the dependencies from the hashed lock file.
#
#   docker build -t callproc .
#   docker build --build-arg BASE_IMAGE=local/debian-python:bookworm -t callproc .
#
# BASE_IMAGE is any Debian bookworm image with Python 3.11 and its venv module: the official
# slim image by default; scripts/docker-base.sh builds one from Debian's packages where no
# image registry can be reached.
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY requirements.lock /tmp/requirements.lock
# resampy (with numba and llvmlite, ~215 MB) comes with pipecat but only its resampy
# resampler imports it, which the service never uses (soxr resamples).
RUN python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-deps --require-hashes -r /tmp/requirements.lock \
    && /opt/venv/bin/pip uninstall --yes --quiet resampy numba llvmlite
WORKDIR /app
COPY alembic.ini ./
COPY bot bot
COPY transports transports
COPY processors processors
COPY observability observability
COPY sandbox sandbox
COPY prompts prompts
COPY migrations migrations
COPY docker/healthcheck.py docker/render_alertmanager.py docker/
RUN /opt/venv/bin/python -m compileall -q /app

FROM ${BASE_IMAGE}
ARG VERSION=unknown
LABEL org.opencontainers.image.title="call-processor" \
      org.opencontainers.image.description="Answers an online store's phone line over Asterisk AudioSocket" \
      org.opencontainers.image.version="${VERSION}"
# tini is PID 1: it passes SIGTERM on to `callproc serve`, which drains its workers, and
# reaps what they leave behind.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 10001 callproc \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /var/lib/callproc \
        --shell /usr/sbin/nologin callproc \
    && install -d -o callproc -g callproc -m 0750 /var/lib/callproc
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    CALLPROC_DATA_DIR=/var/lib/callproc
WORKDIR /app
USER 10001:10001
EXPOSE 9092 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python3", "/app/docker/healthcheck.py"]
ENTRYPOINT ["tini", "--", "python3", "-m", "bot.cli"]
CMD ["serve"]
