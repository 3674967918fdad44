"""The local Apache Kafka broker ridectl starts for itself (no Docker needed)."""

from __future__ import annotations

from ridectl.broker.config import ClusterState
from ridectl.broker.jars import ensure_jars, find_java
from ridectl.broker.local import LocalCluster

__all__ = ["ClusterState", "LocalCluster", "ensure_jars", "find_java"]
