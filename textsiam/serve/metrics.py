"""The service's Prometheus metrics, exposed at ``GET /metrics`` in the Prometheus text format.

Made with ``prometheus_client`` (in the ``serve`` extra) on a registry of the service's own, not the process-global
one, so that two apps in one process (the tests) count apart. The library writes the exposition format (label
escaping, cumulative histogram buckets, ``+Inf``, ``_created``) as Prometheus's own maintainers keep it, and adds
the standard ``process_*`` metrics (resident memory, CPU seconds, open files) for free.

Items per second is a counter, not a gauge: ``rate(textsiam_items_total[1m])`` (items of requests answered) and
``rate(textsiam_texts_encoded_total[1m])`` (texts through the model) give it over any window the operator picks,
with no window chosen here.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector, generate_latest

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""The classic text format, which every Prometheus (2.x included) and every scraper reads; for this service's ASCII
names its text is the same as that of format 1.0.0, which newer prometheus_client versions declare."""
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)  # seconds
SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)  # texts / requests per inference batch


class Metrics:
    """Counters and histograms of one service: ``request(...)`` after each HTTP answer (the access middleware),
    ``batch(...)`` after each inference batch (the batcher), ``render()`` for ``/metrics``."""

    def __init__(self, queue_depth: Callable[[], float], queue_limit: int) -> None:
        self.registry = registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=registry)
        self.requests = Counter(
            "textsiam_requests", "HTTP requests answered", ["method", "route", "status"], registry=registry
        )
        self.errors = Counter(
            "textsiam_request_errors",
            "HTTP requests answered with a 4xx or 5xx",
            ["route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "textsiam_request_duration_seconds",
            "time from the request's arrival to the end of its answer",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.items = Counter(
            "textsiam_items", "pairs / texts / queries in requests answered with 200", ["route"], registry=registry
        )
        self.texts = Counter("textsiam_texts_encoded", "texts encoded by the model", registry=registry)
        self.batch_texts = Histogram(
            "textsiam_batch_texts", "texts per inference batch", buckets=SIZE_BUCKETS, registry=registry
        )
        self.batch_requests = Histogram(
            "textsiam_batch_requests",
            "requests merged into one inference batch",
            buckets=SIZE_BUCKETS,
            registry=registry,
        )
        self.batch_seconds = Histogram(
            "textsiam_batch_duration_seconds",
            "time to run one inference batch",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        depth = Gauge("textsiam_queue_depth", "requests waiting for an inference batch", registry=registry)
        depth.set_function(queue_depth)
        Gauge("textsiam_queue_limit", "queued requests before answering 429", registry=registry).set(queue_limit)

    def request(self, method: str, route: str, status: int, seconds: float, items: int) -> None:
        self.requests.labels(method, route, str(status)).inc()
        if status >= 400:
            self.errors.labels(route, str(status)).inc()
        elif items:
            self.items.labels(route).inc(items)
        self.latency.labels(route).observe(seconds)

    def batch(self, texts: int, requests: int, seconds: float) -> None:
        self.texts.inc(texts)
        self.batch_texts.observe(texts)
        self.batch_requests.observe(requests)
        self.batch_seconds.observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
