"""What an operator sees: request ids and log context (context.py), JSON logs (logs.py), the
request-id middleware, Celery header propagation and task timing (tasks.py), Prometheus
metrics (metrics.py, collector.py, views.py) and the optional Sentry hook (errors.py).
How to read them: docs/operations.md."""
