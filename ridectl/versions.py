"""Pinned versions that several parts of the project must agree on."""

from __future__ import annotations

#: The Apache Kafka release the local broker runs and compose.yaml pulls (checked by a test).
KAFKA_VERSION = "4.2.2"

#: Default first client port of the local broker, and compose.yaml's advertised port.
DEFAULT_PORT = 9092
DEFAULT_BOOTSTRAP = f"localhost:{DEFAULT_PORT}"
