"""Prometheus metrics (filled in by the metrics work)."""


def init_app(app) -> None:
    """Hook request metrics into `app`."""
