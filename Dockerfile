# Production image: one image for web (gunicorn), worker and beat (see docker-compose.yml).
# An exact tag (Python patch release and Debian release), not a floating one: the same Python as
# the lock was resolved with (requirements/*.txt header). Not pinned by digest: no digest could be
# verified where this was written; add `@sha256:…` from `docker buildx imagetools inspect` to
# freeze the image bytes too (docs/operations.md "Reproducible builds").
FROM python:3.11.7-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    KARATLEVER_VAR_DIR=/app/var

WORKDIR /app

# Dependencies first, so code changes don't reinstall them: exactly the locked versions, each
# file checked against its hash (requirements/base.txt, written by `make lock`). pyproject lists
# no packages to build, so nothing else is installed and the code runs from /app.
COPY requirements/base.txt requirements/base.txt
RUN pip install --require-hashes --no-deps -r requirements/base.txt

COPY . .
RUN useradd --create-home --uid 10001 karat \
    && mkdir -p /app/var /metrics \
    && chown -R karat /app/var /metrics
USER karat

EXPOSE 8000
# Static files are collected at start (settings need the production secrets, which are not
# baked into the image).
CMD ["sh", "-c", "python manage.py collectstatic --noinput && exec gunicorn karatlever.wsgi --bind 0.0.0.0:8000 --workers 3 --threads 2 --access-logfile -"]
