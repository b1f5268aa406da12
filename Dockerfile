# Munich Termin Automator: the agent with Debian's Chromium.
#   docker build -t mta .
#   docker run -d --name mta -v mta-data:/data --env-file .env -p 127.0.0.1:9310:9310 mta   → mta run
#   docker run --rm -v mta-data:/data --env-file .env mta watch list                       → any other command
FROM python:3.11-slim-bookworm

# chromium: the browser Playwright drives (Debian's, never a download); libatomic1: Playwright's bundled
# Node needs it and slim images lack it; tini: PID 1 that reaps Chromium's helpers and forwards SIGTERM.
RUN apt-get update \
 && apt-get install -y --no-install-recommends chromium=* fonts-dejavu-core=* libatomic1=* tini=* \
 && rm -rf /var/lib/apt/lists/*

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

# Dependencies first, from the lock: this layer is rebuilt only when the lock changes, and pins Playwright
# (and with it the Node driver it bundles).
COPY requirements.lock /tmp/requirements.lock
RUN pip install --no-cache-dir -r /tmp/requirements.lock \
 && rm /tmp/requirements.lock \
 && playwright --version

WORKDIR /app
COPY pyproject.toml README.md ./
COPY agent ./agent
COPY flows ./flows
COPY replica ./replica
COPY selectors ./selectors
RUN pip install --no-cache-dir --no-deps . \
 && pip check \
 && rm -rf build ./*.egg-info \
 && mta version

# The user by number (Kubernetes' runAsNonRoot checks a number); /data belongs to it.
RUN useradd --uid 10001 --user-group --no-create-home --home-dir /data --shell /usr/sbin/nologin mta \
 && mkdir -p /data \
 && chown 10001:10001 /data \
 && chmod 0700 /data

ENV MTA_CHROMIUM_PATH=/usr/bin/chromium \
    MTA_SELECTORS_DIR=/app/selectors \
    MTA_DATA_DIR=/data \
    MTA_METRICS_HOST=0.0.0.0 \
    MTA_METRICS_PORT=9310 \
    HOME=/data
VOLUME ["/data"]
USER 10001:10001
EXPOSE 9310

# /health answers while the agent runs; a one-shot command (mta watch list) has no server and needs no check.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import os, sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('MTA_METRICS_PORT', '9310') + '/health', timeout=4).status == 200 else 1)"]

ENTRYPOINT ["tini", "--", "mta"]
CMD ["run"]
