"""ridectl: show, on a real Apache Kafka cluster, when and why event order breaks."""

from __future__ import annotations

__version__ = "0.1.0"
