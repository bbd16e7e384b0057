"""Prometheus metrics, served on the admin port only. Labels never carry keys or content."""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from tutela.types import InjectionSummary

_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "tutela_requests",
            "API requests by endpoint, status and outcome",
            ("endpoint", "status", "outcome"),
            registry=self.registry,
        )
        self.duration = Histogram(
            "tutela_request_duration_seconds",
            "Whole request time as the client sees it",
            ("endpoint",),
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.overhead = Histogram(
            "tutela_gateway_overhead_seconds",
            "Time spent in tutela before the upstream call (auth, parse, request guards)",
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.tokens = Counter(
            "tutela_tokens",
            "Tokens metered from upstream usage",
            ("kind",),
            registry=self.registry,
        )
        # Bound once: labels() costs a lookup and a lock on every request.
        self.input_tokens = self.tokens.labels("input")
        self.output_tokens = self.tokens.labels("output")
        self.guard_actions = Counter(
            "tutela_guard_verdicts",
            "Non-allow guard verdicts and guard errors",
            ("guard", "action"),
            registry=self.registry,
        )
        self.injection_parts = Counter(
            "tutela_injection_parts",
            "Request parts scanned for prompt injection, by source and result",
            ("source", "result"),
            registry=self.registry,
        )
        self.injection_rules = Counter(
            "tutela_injection_rule_hits",
            "Injection rule hits in scanned parts, by rule id",
            ("rule",),
            registry=self.registry,
        )
        self.injection_cached = Counter(
            "tutela_injection_cache_hits",
            "Scanned parts answered from the content-hash verdict cache",
            registry=self.registry,
        )
        self.injection_events = Counter(
            "tutela_injection_events",
            "Canary leaks and output-validation findings, by kind",
            ("kind",),
            registry=self.registry,
        )
        self.audit_backlog = Gauge(
            "tutela_audit_backlog",
            "Rows waiting to be written to the database",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.audit_withheld = Counter(
            "tutela_audit_withheld_responses",
            "Responses withheld because their audit event could not be committed in time",
            registry=self.registry,
        )
        self.export_backlog = Gauge(
            "tutela_export_backlog",
            "Audit events not yet delivered, per sink",
            ("sink",),
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.export_delivered = Counter(
            "tutela_export_delivered",
            "Audit events delivered, per sink",
            ("sink",),
            registry=self.registry,
        )
        self.export_failures = Counter(
            "tutela_export_failures",
            "Failed delivery attempts, per sink",
            ("sink",),
            registry=self.registry,
        )
        self.export_dead_letters = Counter(
            "tutela_export_dead_letters",
            "Audit events a sink refused for good, per sink",
            ("sink",),
            registry=self.registry,
        )
        self.active = Gauge(
            "tutela_active_requests",
            "Requests in flight (streams included)",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self._children: dict[tuple[str, ...], Any] = {}

    def request(self, endpoint: str, status: int, outcome: str, seconds: float) -> None:
        key = (endpoint, str(status), outcome)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = (
                self.requests.labels(*key),
                self.duration.labels(endpoint),
            )
        child[0].inc()
        child[1].observe(seconds)

    def injection(self, summary: InjectionSummary) -> None:
        """Count one exchange's injection summary (sources, rules, cache, canary, output)."""
        for source, stats in summary.sources.items():
            flagged = int(stats.get("flagged", 0))
            clean = int(stats.get("scanned", 0)) - flagged
            if flagged:
                self.injection_parts.labels(source, "flagged").inc(flagged)
            if clean:
                self.injection_parts.labels(source, "clean").inc(clean)
        for rule, count in summary.rules.items():
            self.injection_rules.labels(rule).inc(count)
        if summary.cached:
            self.injection_cached.inc(summary.cached)
        if summary.canary == "leaked":
            self.injection_events.labels("canary_leak").inc()
        for kind in summary.output:
            self.injection_events.labels(kind).inc()


def exposition(metrics: Metrics) -> bytes:
    """The text exposition: this process's registry, or every worker's under --workers."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(metrics.registry)
