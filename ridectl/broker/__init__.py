"""The local Apache Kafka broker ridectl starts for itself (no Docker needed)."""

from __future__ import annotations

from ridectl.broker.local import ClusterState, LocalCluster, ensure_jars, find_java

__all__ = ["ClusterState", "LocalCluster", "ensure_jars", "find_java"]
