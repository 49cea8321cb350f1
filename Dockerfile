# The app image: migrations run at start, then the server. Secrets come from the environment.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY mne ./mne
COPY migrations ./migrations
COPY templates ./templates
COPY seed ./seed
# pg_dump, pg_restore and psql: `mne backup` and `mne restore` on PostgreSQL.
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*
RUN pip install --no-cache-dir -e . && useradd --system --home /app mne
# Evidence files live outside the image (a volume in docker-compose.yml), writable by the app.
ENV MNE_FILES_DIR=/var/lib/mne/files
RUN mkdir -p /var/lib/mne/files && chown mne /var/lib/mne/files
USER mne
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["sh", "-c", "mne db upgrade && mne seed reference && exec mne serve --host 0.0.0.0 --port 8000 --workers ${MNE_WORKERS:-2}"]
