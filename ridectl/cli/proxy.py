"""``ridectl proxy``: the fault proxy on its own, for any Kafka client (kcat, the Java
console producer, your own service)."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from ridectl.output import console


def proxy(
    upstream: Annotated[
        str,
        typer.Option(
            "--upstream", "-u", envvar="KAFKA_BOOTSTRAP_SERVERS", help="The broker(s), host:port."
        ),
    ] = "localhost:9092",
    listen: Annotated[
        str,
        typer.Option(
            "--listen",
            "-l",
            help="Address for clients. Other brokers of the cluster get the next ports.",
        ),
    ] = "127.0.0.1:9192",
    advertise: Annotated[
        str | None,
        typer.Option(
            "--advertise", help="Host name to give clients in metadata (default: the listen host)."
        ),
    ] = None,
    fault: Annotated[
        list[str] | None,
        typer.Option(
            "--fault", help="Fault spec, e.g. error:every=3 (repeatable).", metavar="SPEC"
        ),
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="Final counts as table or json.")
    ] = "table",
) -> None:
    """Run the fault proxy until Ctrl-C, then print what it did."""
    from ridectl.errors import UsageError
    from ridectl.faults import ProxyStats, parse_fault_spec, parse_host_port, run_standalone

    if fmt not in ("table", "json"):
        raise UsageError(f"--format must be table or json, not {fmt!r}")
    specs = [parse_fault_spec(s) for s in fault or []]
    host, port = parse_host_port(listen, what="--listen")
    err = console.err()

    def ready(stats: ProxyStats) -> None:
        where = "loopback only" if host in ("127.0.0.1", "localhost", "::1") else "ALL INTERFACES"
        err.print(
            f"proxy for {upstream} listening on {', '.join(stats.listen)} ({where}); "
            f"clients use bootstrap {stats.bootstrap}"
        )
        err.print(
            "faults: "
            + (", ".join(s.describe() for s in specs) if specs else "none")
            + ". Ctrl-C stops it."
        )

    stats = run_standalone(upstream, specs, host, port, advertised_host=advertise, on_ready=ready)
    if fmt == "json":
        sys.stdout.write(json.dumps(stats.to_dict(), indent=2) + "\n")
        return
    out = console.out()
    out.print(
        f"produce requests: {stats.produce_requests}, faults injected: "
        + (", ".join(f"{k} x{v}" for k, v in stats.faults_injected.items()) or "none")
        + f", connections: {stats.connections_total}"
    )
    out.print("requests by API: " + ", ".join(f"{k}={v}" for k, v in stats.requests_by_api.items()))
    ledger = stats.ledger
    out.print(
        f"requests: {ledger.received} received; answered by the broker {ledger.broker_answered}, "
        f"by a fault {ledger.fault_answered + ledger.ack_replaced}, none owed (acks=0) "
        f"{ledger.no_answer}, closed with their connection {ledger.closed}; "
        f"outstanding {ledger.outstanding}"
    )


def register(app: typer.Typer) -> None:
    app.command()(proxy)
