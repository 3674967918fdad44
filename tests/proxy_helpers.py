"""Helpers for the fault-proxy tests: a raw Kafka-protocol client over a plain socket, and
three tiny fake brokers for the protocol handling that needs no real broker (the fault
behaviour itself is always tested against the real one)."""

from __future__ import annotations

import socket
import socketserver
import struct
import threading
import time
from typing import Any

from kafka.protocol.metadata import (
    ApiVersionsRequest,
    ApiVersionsResponse,
    FindCoordinatorResponse,
    MetadataResponse,
)
from kafka.protocol.producer import ProduceRequest
from kafka.record.memory_records import MemoryRecordsBuilder

from ridectl.faults.protocol import parse_request_header

# --------------------------------------------------------------------------- raw client


class RawClient:
    """Speaks the Kafka protocol over a plain socket, one request at a time or pipelined."""

    def __init__(self, address: str) -> None:
        host, port = address.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.next_id = 100

    def send(self, request: Any) -> int:
        self.next_id += 1
        request.with_header(correlation_id=self.next_id, client_id="ridectl-test")
        self.sock.sendall(bytes(request.encode(framed=True, header=True)))
        return self.next_id

    def receive(self) -> bytes:
        (size,) = struct.unpack(">i", self._exactly(4))
        return self._exactly(size)

    def _exactly(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("closed by the proxy")
            data += chunk
        return data

    def call(self, request: Any) -> Any:
        correlation_id = self.send(request)
        payload = self.receive()
        response = request.header.get_response_class().decode(payload, header=True)
        assert response.header.correlation_id == correlation_id
        return response

    def is_closed(self, timeout_s: float = 5.0) -> bool:
        self.sock.settimeout(timeout_s)
        try:
            return self.sock.recv(1) == b""
        except ConnectionError:
            return True
        except TimeoutError:
            return False

    def close(self) -> None:
        self.sock.close()


def produce_request(
    topic: str, value: bytes, acks: int = 1, version: int = 9, topic_id: Any = None
) -> Any:
    """A one-record Produce request; from v13 on the topic goes by id."""
    builder = MemoryRecordsBuilder(2, 0, 1024)
    builder.append(int(time.time() * 1000), b"k", value)
    builder.close()
    topic_cls = ProduceRequest.TopicProduceData
    ident = {"topic_id": topic_id} if version >= 13 else {"name": topic}
    return ProduceRequest(
        version=version,
        transactional_id=None,
        acks=acks,
        timeout_ms=10_000,
        topic_data=[
            topic_cls(
                partition_data=[topic_cls.PartitionProduceData(index=0, records=builder.buffer())],
                **ident,
            )
        ],
    )


def supported_versions(address: str) -> dict[int, tuple[int, int]]:
    client = RawClient(address)
    try:
        response = client.call(
            ApiVersionsRequest(version=3, client_software_name="t", client_software_version="1")
        )
    finally:
        client.close()
    return {int(a.api_key): (int(a.min_version), int(a.max_version)) for a in response.api_keys}


class FakeCluster:
    """Three tiny fake brokers that answer ApiVersions, Metadata, FindCoordinator and
    DescribeCluster, each naming all three. Produce is advertised up to v99 so the proxy has
    something to cap."""

    def __init__(self) -> None:
        self.servers: list[socketserver.ThreadingTCPServer] = []
        cluster = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                node = cluster.node_of(self.server)
                sock = self.request
                try:
                    while True:
                        head = _recv_exactly(sock, 4)
                        payload = _recv_exactly(sock, struct.unpack(">i", head)[0])
                        info = parse_request_header(payload)
                        sock.sendall(
                            cluster.answer(
                                node, info.api_key, info.api_version, info.correlation_id
                            )
                        )
                except (ConnectionError, OSError):
                    return

        for _ in range(3):
            server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
            self.servers.append(server)

    def node_of(self, server: Any) -> int:
        return self.servers.index(server) + 1

    def port(self, node: int) -> int:
        return int(self.servers[node - 1].server_address[1])

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port(1)}"

    def answer(self, node: int, api_key: int, version: int, correlation_id: int) -> bytes:
        message: Any
        if api_key == 18:
            keys = ApiVersionsResponse.ApiVersion
            message = ApiVersionsResponse(
                version=version,
                error_code=0,
                api_keys=[
                    keys(api_key=0, min_version=3, max_version=99),
                    keys(api_key=3, min_version=0, max_version=13),
                    keys(api_key=10, min_version=0, max_version=6),
                    keys(api_key=18, min_version=0, max_version=4),
                    keys(api_key=60, min_version=0, max_version=2),
                ],
                throttle_time_ms=0,
            )
        elif api_key == 3:
            broker = MetadataResponse.MetadataResponseBroker
            message = MetadataResponse(
                version=version,
                throttle_time_ms=0,
                brokers=[
                    broker(node_id=n, host="127.0.0.1", port=self.port(n), rack=None)
                    for n in (1, 2, 3)
                ],
                cluster_id="fake",
                controller_id=node,  # tells the test which fake broker answered
                topics=[],
            )
        elif api_key == 10:
            if version >= 4:
                coordinator = FindCoordinatorResponse.Coordinator
                message = FindCoordinatorResponse(
                    version=version,
                    throttle_time_ms=0,
                    coordinators=[
                        coordinator(
                            key="g",
                            node_id=3,
                            host="127.0.0.1",
                            port=self.port(3),
                            error_code=0,
                            error_message=None,
                        )
                    ],
                )
            else:
                message = FindCoordinatorResponse(
                    version=version,
                    throttle_time_ms=0,
                    error_code=0,
                    error_message=None,
                    node_id=2,
                    host="127.0.0.1",
                    port=self.port(2),
                )
        elif api_key == 60:
            from kafka.protocol.admin.cluster import DescribeClusterResponse

            broker = DescribeClusterResponse.DescribeClusterBroker
            message = DescribeClusterResponse(
                version=version,
                throttle_time_ms=0,
                error_code=0,
                error_message=None,
                endpoint_type=1,
                cluster_id="fake",
                controller_id=1,
                brokers=[
                    broker(
                        broker_id=n, host="127.0.0.1", port=self.port(n), rack=None, is_fenced=False
                    )
                    for n in (1, 2, 3)
                ],
            )
        else:
            raise ConnectionError(f"fake broker does not speak api {api_key}")
        message.with_header(correlation_id=correlation_id)
        return bytes(message.encode(header=True, framed=True))

    def close(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()


def _recv_exactly(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("peer closed")
        data += chunk
    return data


def response_id(payload: bytes) -> int:
    return int(struct.unpack_from(">i", payload)[0])
