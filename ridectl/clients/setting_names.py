"""Every client setting name ridectl's code refers to, spelled once.

A setting is named in code by a member of :class:`SettingName`, never by a bare string: a typo
is then a name error that ruff and mypy catch, and a search for a member finds every place
that reads or sets the setting. A member is a ``str`` equal to the name itself, so it can key
the dictionaries of settings handed to a client and compare with names a user typed.

Most names are ridectl's own, the Java client's spelling, which the table of
:mod:`ridectl.clients.settings` checks and translates. The last groups are names only one
client library has, which ridectl sets or reads back from that client.
"""

from __future__ import annotations

from enum import StrEnum


class SettingName(StrEnum):
    """A client setting's name, as the client takes it."""

    # ---- the connection, every role
    BOOTSTRAP_SERVERS = "bootstrap.servers"
    CLIENT_ID = "client.id"
    REQUEST_TIMEOUT_MS = "request.timeout.ms"
    RETRY_BACKOFF_MS = "retry.backoff.ms"
    RECONNECT_BACKOFF_MS = "reconnect.backoff.ms"
    RECONNECT_BACKOFF_MAX_MS = "reconnect.backoff.max.ms"
    CONNECTIONS_MAX_IDLE_MS = "connections.max.idle.ms"
    METADATA_MAX_AGE_MS = "metadata.max.age.ms"
    RECEIVE_BUFFER_BYTES = "receive.buffer.bytes"
    SEND_BUFFER_BYTES = "send.buffer.bytes"
    CLIENT_DNS_LOOKUP = "client.dns.lookup"
    #: kafka-python's own: how long to keep trying the bootstrap servers
    BOOTSTRAP_TIMEOUT_MS = "bootstrap.timeout.ms"
    # ---- security
    SECURITY_PROTOCOL = "security.protocol"
    SASL_MECHANISM = "sasl.mechanism"
    SASL_USERNAME = "sasl.username"
    SASL_PASSWORD = "sasl.password"
    SASL_JAAS_CONFIG = "sasl.jaas.config"
    SASL_KERBEROS_SERVICE_NAME = "sasl.kerberos.service.name"
    SASL_LOGIN_CALLBACK_HANDLER_CLASS = "sasl.login.callback.handler.class"
    SSL_TRUSTSTORE_LOCATION = "ssl.truststore.location"
    SSL_TRUSTSTORE_TYPE = "ssl.truststore.type"
    SSL_TRUSTSTORE_PASSWORD = "ssl.truststore.password"
    SSL_KEYSTORE_LOCATION = "ssl.keystore.location"
    SSL_KEYSTORE_TYPE = "ssl.keystore.type"
    SSL_KEYSTORE_PASSWORD = "ssl.keystore.password"
    SSL_CA_LOCATION = "ssl.ca.location"
    SSL_CERTIFICATE_LOCATION = "ssl.certificate.location"
    SSL_KEY_LOCATION = "ssl.key.location"
    SSL_KEY_PASSWORD = "ssl.key.password"
    SSL_CRL_LOCATION = "ssl.crl.location"
    SSL_CIPHER_SUITES = "ssl.cipher.suites"
    SSL_ENDPOINT_IDENTIFICATION_ALGORITHM = "ssl.endpoint.identification.algorithm"
    # ---- producing
    ACKS = "acks"
    RETRIES = "retries"
    ENABLE_IDEMPOTENCE = "enable.idempotence"
    MAX_IN_FLIGHT = "max.in.flight.requests.per.connection"
    LINGER_MS = "linger.ms"
    BATCH_SIZE = "batch.size"
    COMPRESSION_TYPE = "compression.type"
    DELIVERY_TIMEOUT_MS = "delivery.timeout.ms"
    MAX_BLOCK_MS = "max.block.ms"
    MAX_REQUEST_SIZE = "max.request.size"
    TRANSACTION_TIMEOUT_MS = "transaction.timeout.ms"
    KEY_SERIALIZER = "key.serializer"
    VALUE_SERIALIZER = "value.serializer"
    # ---- consuming
    GROUP_ID = "group.id"
    GROUP_INSTANCE_ID = "group.instance.id"
    AUTO_OFFSET_RESET = "auto.offset.reset"
    ENABLE_AUTO_COMMIT = "enable.auto.commit"
    AUTO_COMMIT_INTERVAL_MS = "auto.commit.interval.ms"
    FETCH_MIN_BYTES = "fetch.min.bytes"
    FETCH_MAX_WAIT_MS = "fetch.max.wait.ms"
    FETCH_MAX_BYTES = "fetch.max.bytes"
    MAX_PARTITION_FETCH_BYTES = "max.partition.fetch.bytes"
    MAX_POLL_RECORDS = "max.poll.records"
    MAX_POLL_INTERVAL_MS = "max.poll.interval.ms"
    SESSION_TIMEOUT_MS = "session.timeout.ms"
    HEARTBEAT_INTERVAL_MS = "heartbeat.interval.ms"
    CHECK_CRCS = "check.crcs"
    ISOLATION_LEVEL = "isolation.level"
    CLIENT_RACK = "client.rack"
    KEY_DESERIALIZER = "key.deserializer"
    VALUE_DESERIALIZER = "value.deserializer"
    # ---- the Java client's own
    PARTITIONER_CLASS = "partitioner.class"
    BUFFER_MEMORY = "buffer.memory"
    # ---- librdkafka's own (the Java names it takes are above)
    PARTITIONER = "partitioner"
    BATCH_NUM_MESSAGES = "batch.num.messages"
    STICKY_PARTITIONING_LINGER_MS = "sticky.partitioning.linger.ms"
    MESSAGE_TIMEOUT_MS = "message.timeout.ms"
    MESSAGE_MAX_BYTES = "message.max.bytes"
    MESSAGE_SEND_MAX_RETRIES = "message.send.max.retries"
    REQUEST_REQUIRED_ACKS = "request.required.acks"
    QUEUE_BUFFERING_MAX_MS = "queue.buffering.max.ms"
    COMPRESSION_CODEC = "compression.codec"
    SOCKET_RECEIVE_BUFFER_BYTES = "socket.receive.buffer.bytes"
    SOCKET_SEND_BUFFER_BYTES = "socket.send.buffer.bytes"
    FETCH_WAIT_MAX_MS = "fetch.wait.max.ms"
    FETCH_MESSAGE_MAX_BYTES = "fetch.message.max.bytes"
    FETCH_QUEUE_BACKOFF_MS = "fetch.queue.backoff.ms"
    STATISTICS_INTERVAL_MS = "statistics.interval.ms"
    #: librdkafka's alias of max.in.flight.requests.per.connection
    MAX_IN_FLIGHT_ALIAS = "max.in.flight"
