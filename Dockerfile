# Munich Termin Automator: the agent with Debian's Chromium.
# docker run -v mta-data:/data --env-file .env mta            → mta run (watches from /data/mta.db)
# docker run -v mta-data:/data --env-file .env mta watch list → any other mta command
FROM python:3.11-slim-bookworm

RUN apt-get update \
 && apt-get install -y --no-install-recommends chromium=* fonts-dejavu-core=* \
 && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 10001 mta
WORKDIR /app
COPY pyproject.toml README.md ./
COPY agent ./agent
COPY flows ./flows
COPY replica ./replica
COPY selectors ./selectors
RUN pip install --no-cache-dir .

ENV MTA_CHROMIUM_PATH=/usr/bin/chromium \
    MTA_SELECTORS_DIR=/app/selectors \
    MTA_DATA_DIR=/data
RUN mkdir -p /data && chown mta /data
VOLUME ["/data"]
USER mta
ENTRYPOINT ["mta"]
CMD ["run"]
