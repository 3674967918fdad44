"""The small part of the Kafka wire protocol the fault proxy needs, on kafka-python's codecs.

A Kafka frame is a 4-byte big-endian size followed by that many bytes. A request starts with
its header (api key, api version, correlation id, client id, and tagged fields in the flexible
header version); a response starts with the correlation id (plus tagged fields when the
response's version is flexible, except ApiVersions whose response header is always v0).

The proxy decodes only what it must:

* every request header (to count it and to know which response belongs to it);
* Produce requests (acks, and the topic-partitions to echo when it answers one itself);
* responses that carry broker addresses, to point them at the proxy: Metadata, FindCoordinator,
  DescribeCluster, and the KIP-951 ``NodeEndpoints`` of Produce (v10+) and Fetch (v16+);
* ApiVersions responses, to cap the versions of those APIs at what the codecs can decode.

Everything else passes through untouched.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from kafka.protocol.admin.cluster import DescribeClusterResponse
from kafka.protocol.api_header import RequestHeader
from kafka.protocol.api_key import ApiKey
from kafka.protocol.consumer.fetch import FetchResponse
from kafka.protocol.metadata import (
    ApiVersionsResponse,
    FindCoordinatorResponse,
    MetadataResponse,
)
from kafka.protocol.producer import ProduceRequest, ProduceResponse

__all__ = [
    "MAX_FRAME_BYTES",
    "PRODUCE",
    "ProduceInfo",
    "ProtocolError",
    "RequestInfo",
    "api_name",
    "api_ranges",
    "cap_api_versions",
    "decode_address_response",
    "encode_response",
    "has_addresses",
    "parse_produce_request",
    "parse_produce_response",
    "parse_request_header",
    "produce_error_response",
    "response_correlation_id",
]

# Apache Kafka's default socket.request.max.bytes: no sane request or response is larger.
MAX_FRAME_BYTES = 104_857_600

PRODUCE = int(ApiKey.Produce)
FETCH = int(ApiKey.Fetch)
METADATA = int(ApiKey.Metadata)
FIND_COORDINATOR = int(ApiKey.FindCoordinator)
API_VERSIONS = int(ApiKey.ApiVersions)
DESCRIBE_CLUSTER = int(ApiKey.DescribeCluster)


class ProtocolError(Exception):
    """Bytes that are not the Kafka protocol the proxy expects; the connection is closed."""


@dataclass(frozen=True)
class RequestInfo:
    """The fixed part of a request header."""

    api_key: int
    api_version: int
    correlation_id: int
    client_id: str | None


@dataclass(frozen=True)
class ProduceInfo:
    """What the proxy needs from a Produce request: acks and the partitions it writes to.

    ``topics`` holds (name, topic id, partition indexes); versions up to 12 name topics,
    13 and later identify them by id.
    """

    acks: int
    topics: tuple[tuple[str | None, Any, tuple[int, ...]], ...]
    #: (topic, partition, record batch bytes) per partition, the topic as in ``partitions()``
    batches: tuple[tuple[str, int, bytes], ...] = ()

    @property
    def expects_response(self) -> bool:
        return self.acks != 0

    @property
    def sequenced(self) -> bool:
        """Whether its record batches carry a producer id (an idempotent or transactional
        producer: the broker orders them by sequence number)."""
        return any(
            len(data) >= 51 and data[16] == 2 and struct.unpack_from(">q", data, 43)[0] >= 0
            for _, _, data in self.batches
        )

    def partitions(self) -> list[tuple[str, int]]:
        """(topic, partition) for each partition written; the topic by name or by id."""
        return [
            (str(name) if name is not None else str(topic_id), index)
            for name, topic_id, indexes in self.topics
            for index in indexes
        ]


def api_name(api_key: int) -> str:
    """``Produce``, ``Metadata``, ... or ``Api<N>`` for keys kafka-python does not know."""
    try:
        return str(ApiKey(api_key).name)
    except ValueError:
        return f"Api{api_key}"


def parse_request_header(payload: bytes) -> RequestInfo:
    """Decode a request header. Its first fields are laid out the same in header v1 and v2
    (the client id keeps a 2-byte length even in v2), so the non-flexible decoder reads them
    for every API without knowing whether the API's version is flexible."""
    if len(payload) < 10:
        raise ProtocolError(f"request of {len(payload)} bytes is shorter than a header")
    try:
        header = RequestHeader.decode(io.BytesIO(payload), flexible=False)
    except (ValueError, struct.error, UnicodeDecodeError) as exc:
        raise ProtocolError(f"undecodable request header: {exc}") from exc
    client_id = header.client_id
    return RequestInfo(
        api_key=int(header.request_api_key),
        api_version=int(header.request_api_version),
        correlation_id=int(header.correlation_id),
        client_id=None if client_id is None else str(client_id),
    )


def response_correlation_id(payload: bytes) -> int:
    """Every response header starts with the correlation id."""
    if len(payload) < 4:
        raise ProtocolError("response shorter than its correlation id")
    return int(struct.unpack_from(">i", payload)[0])


def _check_version(cls: Any, version: int) -> None:
    if not 0 <= version <= int(cls.max_version):
        raise ProtocolError(f"{cls.name} v{version} is beyond what the codecs know")


def parse_produce_request(payload: bytes, version: int) -> ProduceInfo:
    """Decode a whole Produce request (header included) of the given version."""
    _check_version(ProduceRequest, version)
    try:
        request = ProduceRequest.decode(payload, version=version, header=True)
    except (ValueError, struct.error, UnicodeDecodeError, IndexError) as exc:
        raise ProtocolError(f"undecodable Produce v{version} request: {exc}") from exc
    topics = tuple(
        (
            None if version >= 13 else str(topic.name),
            topic.topic_id if version >= 13 else None,
            tuple(int(part.index) for part in topic.partition_data),
        )
        for topic in request.topic_data
    )
    batches = tuple(
        (
            str(topic.topic_id) if version >= 13 else str(topic.name),
            int(part.index),
            bytes(part.records or b""),
        )
        for topic in request.topic_data
        for part in topic.partition_data
    )
    return ProduceInfo(acks=int(request.acks), topics=topics, batches=batches)


def parse_produce_response(payload: bytes, version: int) -> list[tuple[str, int, int, int]]:
    """(topic, partition, error code, base offset) for each partition of a Produce response;
    the topic is its name, or its id from v13 on."""
    _check_version(ProduceResponse, version)
    try:
        message = ProduceResponse.decode(payload, version=version, header=True)
    except (ValueError, struct.error, UnicodeDecodeError, IndexError) as exc:
        raise ProtocolError(f"undecodable Produce v{version} response: {exc}") from exc
    return [
        (
            str(topic.topic_id) if version >= 13 else str(topic.name),
            int(part.index),
            int(part.error_code),
            int(part.base_offset),
        )
        for topic in message.responses
        for part in topic.partition_responses
    ]


def produce_error_response(
    produce: ProduceInfo, version: int, correlation_id: int, error_code: int
) -> bytes:
    """A framed Produce response of ``version`` that fails every partition of the request
    with ``error_code``: offsets -1, no throttling, no record errors."""
    _check_version(ProduceResponse, version)
    topic_cls = ProduceResponse.TopicProduceResponse
    part_cls = topic_cls.PartitionProduceResponse
    responses = []
    for name, topic_id, partitions in produce.topics:
        parts = [
            part_cls(
                version=version,
                index=index,
                error_code=error_code,
                base_offset=-1,
                log_append_time_ms=-1,
                log_start_offset=-1,
                record_errors=[],
                error_message=None,
            )
            for index in partitions
        ]
        ident: dict[str, Any] = {"topic_id": topic_id} if version >= 13 else {"name": name}
        responses.append(topic_cls(version=version, partition_responses=parts, **ident))
    response = ProduceResponse(version=version, responses=responses, throttle_time_ms=0)
    return encode_response(response, version, correlation_id)


# Any: a kafka-python protocol Struct of any API (the library's protocol classes are untyped).
def encode_response(message: Any, version: int, correlation_id: int) -> bytes:
    """Frame a response message of ``version`` with the header that version calls for."""
    if version != message.API_VERSION:
        raise ProtocolError(f"{message.name} is v{message.API_VERSION}, not v{version}")
    # The version is already on the message: passing it to encode() again would try to
    # stamp it on the header too, which a response header has no field for.
    message.with_header(correlation_id=correlation_id)
    return bytes(message.encode(header=True, framed=True))


# --------------------------------------------------------------------------- broker addresses


def _metadata_endpoints(message: Any) -> Iterable[Any]:
    return list(message.brokers or [])


def _coordinator_endpoints(message: Any) -> Iterable[Any]:
    if message.version is not None and message.version >= 4:
        return [c for c in message.coordinators or [] if int(c.error_code) == 0]
    return [message] if int(message.error_code) == 0 else []


def _node_endpoints(message: Any) -> Iterable[Any]:
    return list(message.node_endpoints or [])


@dataclass(frozen=True)
class _AddressApi:
    codec: Any
    min_version: int
    endpoints: Callable[[Any], Iterable[Any]]


_ADDRESS_APIS: dict[int, _AddressApi] = {
    METADATA: _AddressApi(MetadataResponse, 0, _metadata_endpoints),
    FIND_COORDINATOR: _AddressApi(FindCoordinatorResponse, 0, _coordinator_endpoints),
    DESCRIBE_CLUSTER: _AddressApi(DescribeClusterResponse, 0, _metadata_endpoints),
    PRODUCE: _AddressApi(ProduceResponse, 10, _node_endpoints),
    FETCH: _AddressApi(FetchResponse, 16, _node_endpoints),
}


def has_addresses(api_key: int, version: int) -> bool:
    """Whether responses of this API version may name brokers (and must be decoded)."""
    api = _ADDRESS_APIS.get(api_key)
    return api is not None and version >= api.min_version


# Any: kafka-python protocol Structs (untyped), as above.
def decode_address_response(api_key: int, version: int, payload: bytes) -> tuple[Any, list[Any]]:
    """Decode a response that may name brokers; return it and its endpoint records (objects
    with writable ``host`` and ``port``)."""
    api = _ADDRESS_APIS[api_key]
    _check_version(api.codec, version)
    try:
        message = api.codec.decode(payload, version=version, header=True)
    except (ValueError, struct.error, UnicodeDecodeError, IndexError) as exc:
        raise ProtocolError(f"undecodable {api.codec.name} v{version}: {exc}") from exc
    endpoints = [e for e in api.endpoints(message) if e.host and int(e.port) > 0]
    return message, endpoints


def _decode_api_versions(payload: bytes, version: int) -> Any:
    if not 0 <= version <= int(ApiVersionsResponse.max_version):
        return None
    try:
        message = ApiVersionsResponse.decode(payload, header=True, version=version)
    except (ValueError, struct.error, UnicodeDecodeError, IndexError):
        return None
    return None if int(message.error_code) != 0 else message


def api_ranges(payload: bytes, version: int) -> dict[int, tuple[int, int]]:
    """The (min, max) version per API key a broker's ApiVersions response lists; empty when
    it cannot be read or reports an error."""
    message = _decode_api_versions(payload, version)
    if message is None:
        return {}
    return {
        int(e.api_key): (int(e.min_version), int(e.max_version)) for e in message.api_keys or []
    }


def cap_api_versions(payload: bytes, version: int) -> bytes | None:
    """The framed ApiVersions response with the maximum versions of the APIs the proxy
    decodes capped at what the codecs support, or None when nothing needs capping (then the
    broker's bytes go through as they are). Keeps a client from negotiating a version the
    proxy could not read. ``payload`` is the unframed response, header included."""
    message = _decode_api_versions(payload, version)
    if message is None:
        return None
    limits = {key: int(api.codec.max_version) for key, api in _ADDRESS_APIS.items()}
    limits[PRODUCE] = min(limits[PRODUCE], int(ProduceRequest.max_version))
    changed = False
    for entry in message.api_keys or []:
        limit = limits.get(int(entry.api_key))
        if limit is not None and int(entry.max_version) > limit:
            entry.max_version = limit
            changed = True
    if not changed:
        return None
    return encode_response(message, version, response_correlation_id(payload))
