"""SIEM exporters: one ``Exporter`` per configured sink, each delivering at least once."""

from __future__ import annotations

from tutela.audit.export.base import Exporter, Sink
from tutela.metrics import Metrics
from tutela.policy import ExporterSettings, Policy
from tutela.store.database import Store


def build_sink(name: str, settings: ExporterSettings) -> Sink:
    from tutela.audit.export.files import JsonlSink
    from tutela.audit.export.http import (
        ElasticsearchSink,
        SentinelSink,
        SplunkHecSink,
        WebhookSink,
    )
    from tutela.audit.export.syslog import SyslogSink

    kinds: dict[str, type[Sink]] = {
        "syslog": SyslogSink,
        "splunk_hec": SplunkHecSink,
        "elasticsearch": ElasticsearchSink,
        "sentinel": SentinelSink,
        "webhook": WebhookSink,
        "jsonl": JsonlSink,
    }
    return kinds[settings.type](name, settings)


def build_exporters(policy: Policy, store: Store, metrics: Metrics | None) -> list[Exporter]:
    return [
        Exporter(build_sink(name, settings), store, metrics)
        for name, settings in policy.audit.exporters.items()
        if settings.enabled
    ]


__all__ = ["Exporter", "Sink", "build_exporters", "build_sink"]
