"""Reading a sample from chatgate's /metrics (Prometheus' text format)."""

from __future__ import annotations

import re


class MetricMissing(Exception):
    pass


def metric_value(text: str, name: str) -> float:
    """A sample without labels from Prometheus' text format."""
    found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    if found is None:
        raise MetricMissing(f"{name} missing from /metrics")
    return float(found.group(1))
