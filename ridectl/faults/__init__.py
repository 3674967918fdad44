"""Failures on demand: fault specs and a Kafka-protocol-aware proxy that injects them.

``parse_fault_spec("error:every=3")`` gives a :class:`FaultSpec`; :class:`FaultProxy` puts a
proxy between any Kafka client and the broker(s) and applies the specs to produce requests.
"""

from __future__ import annotations

from ridectl.faults.proxy import (
    FaultProxy,
    parse_host_port,
    run_standalone,
    serve_forever,
)
from ridectl.faults.spec import (
    DEFAULT_ERROR_CODE,
    VALID_FORMS,
    FaultKind,
    FaultSpec,
    error_code_name,
    parse_fault_spec,
)
from ridectl.faults.stats import Ledger, ProduceAnswer, ProxyStats

__all__ = [
    "DEFAULT_ERROR_CODE",
    "VALID_FORMS",
    "FaultKind",
    "FaultProxy",
    "FaultSpec",
    "Ledger",
    "ProduceAnswer",
    "ProxyStats",
    "error_code_name",
    "parse_fault_spec",
    "parse_host_port",
    "run_standalone",
    "serve_forever",
]
