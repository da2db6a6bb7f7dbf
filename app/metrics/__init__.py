"""Prometheus metrics: the instruments the code records into (`instruments`), the HTTP
latency hook (`http`), what is read at scrape time (`scrape`, its SQL in `store`) and the
`GET /metrics` door (`api`)."""

from app.metrics.instruments import observe_bus_lag

__all__ = ["observe_bus_lag"]
