# Production image: one image for web (gunicorn), worker and beat (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    KARATLEVER_VAR_DIR=/app/var

WORKDIR /app

# Dependencies first, so code changes don't reinstall them. pyproject lists no packages to build:
# this installs the dependencies only and the code runs from /app.
COPY pyproject.toml ./
RUN pip install .

COPY . .
RUN useradd --create-home --uid 10001 karat \
    && mkdir -p /app/var /metrics \
    && chown -R karat /app/var /metrics
USER karat

EXPOSE 8000
# Static files are collected at start (settings need the production secrets, which are not
# baked into the image).
CMD ["sh", "-c", "python manage.py collectstatic --noinput && exec gunicorn karatlever.wsgi --bind 0.0.0.0:8000 --workers 3 --threads 2 --access-logfile -"]
