"""Client settings: Java-style names (as in a ``client.properties`` file or ``-X key=value``)
mapped to kafka-python's keyword arguments.

Users know Kafka's settings by their Java names (``max.in.flight.requests.per.connection``,
``enable.idempotence``, ``security.protocol``); kafka-python spells them with underscores and
accepts a slightly different set. This module holds ridectl's table of settings (their names
are :class:`~ridectl.clients.setting_names.SettingName` members), checks the values' types and
translates them for kafka-python. A name outside its table may be a client library's own
(librdkafka's ``batch.num.messages``, a Java-only setting): it is kept, and refused per client
by :func:`refuse_unknown`, asking the client's record (``ridectl.clients.registry``) whether it
knows the name.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ridectl.clients.setting_names import SettingName
from ridectl.errors import UsageError
from ridectl.limits import INT32_MAX, LINGER_MS_MAX, readable_file
from ridectl.versions import DEFAULT_BOOTSTRAP

Role = str  # "producer" | "consumer" | "admin"
ALL_ROLES: frozenset[Role] = frozenset({"producer", "consumer", "admin"})
PRODUCER: frozenset[Role] = frozenset({"producer"})
CONSUMER: frozenset[Role] = frozenset({"consumer"})
CLIENTS: frozenset[Role] = frozenset({"producer", "consumer"})

#: Names whose values never appear in output (summaries, JSON, pictures, errors).
SECRET_PATTERN = re.compile(r"password|secret|jaas|token|credential", re.IGNORECASE)
MASK = "********"


def _int(key: str, raw: str) -> int:
    """A whole number that fits Kafka's int32 (the widest every client takes)."""
    try:
        value = int(raw.strip())
    except ValueError:
        raise UsageError(f"setting {key} must be a whole number, not {raw!r}") from None
    if value > INT32_MAX:
        raise UsageError(f"setting {key} must be at most {INT32_MAX}, not {value}")
    if value < -INT32_MAX - 1:
        raise UsageError(f"setting {key} must be at least {-INT32_MAX - 1}, not {value}")
    return value


def _nonneg_int(key: str, raw: str) -> int:
    value = _int(key, raw)
    if value < 0:
        raise UsageError(f"setting {key} must be 0 or more, not {value}")
    return value


def _pos_int(key: str, raw: str) -> int:
    value = _int(key, raw)
    if value < 1:
        raise UsageError(f"setting {key} must be 1 or more, not {value}")
    return value


def _linger_ms(key: str, raw: str) -> int:
    value = _nonneg_int(key, raw)
    if value > LINGER_MS_MAX:
        raise UsageError(f"setting {key} must be at most {LINGER_MS_MAX}, not {value}")
    return value


def _bool(key: str, raw: str) -> bool:
    v = raw.strip().lower()
    if v in ("true", "1", "yes", "on"):
        return True
    if v in ("false", "0", "no", "off"):
        return False
    raise UsageError(f"setting {key} must be true or false, not {raw!r}")


def _str(key: str, raw: str) -> str:
    return raw.strip()


def _file(key: str, raw: str) -> str:
    """A path the client reads whole (a PEM file): it must be a readable regular file of a
    sensible size now, so a typo is reported as such instead of as a failed handshake later,
    and a FIFO or a device cannot hang the client."""
    return str(readable_file(Path(raw.strip()).expanduser(), f"{key} file"))


def _acks(key: str, raw: str) -> int | str:
    v = raw.strip().lower()
    if v in ("all", "-1"):
        return "all"
    if v in ("0", "1"):
        return int(v)
    raise UsageError(f"setting {key} must be all, -1, 1 or 0, not {raw!r}")


def _choice(*choices: str) -> Callable[[str, str], str]:
    def parse(key: str, raw: str) -> str:
        v = raw.strip()
        if v not in choices:
            raise UsageError(f"setting {key} must be one of {', '.join(choices)}, not {raw!r}")
        return v

    return parse


def _compression(key: str, raw: str) -> str | None:
    v = _choice("none", "gzip", "snappy", "lz4", "zstd")(key, raw.strip().lower())
    return None if v == "none" else v


@dataclass(frozen=True)
class Setting:
    """One client setting: its Java name (ours), kafka-python's keyword, how to check a value,
    which clients take it, and whether the run summary reports the value in force."""

    java: SettingName
    python: str
    parse: Callable[[str, str], object]
    roles: frozenset[Role]
    reported: bool = False


_TABLE: list[Setting] = [
    # ---- common
    Setting(SettingName.CLIENT_ID, "client_id", _str, ALL_ROLES),
    Setting(SettingName.REQUEST_TIMEOUT_MS, "request_timeout_ms", _pos_int, ALL_ROLES),
    Setting(
        SettingName.RETRY_BACKOFF_MS, "retry_backoff_ms", _nonneg_int, ALL_ROLES, reported=True
    ),
    Setting(SettingName.RECONNECT_BACKOFF_MS, "reconnect_backoff_ms", _nonneg_int, ALL_ROLES),
    Setting(
        SettingName.RECONNECT_BACKOFF_MAX_MS, "reconnect_backoff_max_ms", _nonneg_int, ALL_ROLES
    ),
    Setting(SettingName.CONNECTIONS_MAX_IDLE_MS, "connections_max_idle_ms", _pos_int, ALL_ROLES),
    Setting(SettingName.METADATA_MAX_AGE_MS, "metadata_max_age_ms", _pos_int, ALL_ROLES),
    Setting(SettingName.RECEIVE_BUFFER_BYTES, "receive_buffer_bytes", _int, ALL_ROLES),
    Setting(SettingName.SEND_BUFFER_BYTES, "send_buffer_bytes", _int, ALL_ROLES),
    Setting(SettingName.CLIENT_DNS_LOOKUP, "client_dns_lookup", _str, ALL_ROLES),
    # kafka-python's own: how long to keep trying the bootstrap servers before giving up.
    Setting(SettingName.BOOTSTRAP_TIMEOUT_MS, "bootstrap_timeout_ms", _pos_int, ALL_ROLES),
    Setting(
        SettingName.SECURITY_PROTOCOL,
        "security_protocol",
        _choice("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"),
        ALL_ROLES,
    ),
    Setting(
        SettingName.SASL_MECHANISM,
        "sasl_mechanism",
        _choice("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "GSSAPI", "OAUTHBEARER"),
        ALL_ROLES,
    ),
    # Username/password come from sasl.jaas.config (Java) or these librdkafka-style names.
    Setting(SettingName.SASL_USERNAME, "sasl_plain_username", _str, ALL_ROLES),
    Setting(SettingName.SASL_PASSWORD, "sasl_plain_password", _str, ALL_ROLES),
    Setting(SettingName.SASL_KERBEROS_SERVICE_NAME, "sasl_kerberos_service_name", _str, ALL_ROLES),
    # TLS. kafka-python reads PEM files only: a PEM trust/key store is accepted by its Java name.
    Setting(SettingName.SSL_TRUSTSTORE_LOCATION, "ssl_cafile", _file, ALL_ROLES),
    Setting(SettingName.SSL_CA_LOCATION, "ssl_cafile", _file, ALL_ROLES),
    Setting(SettingName.SSL_KEYSTORE_LOCATION, "ssl_certfile", _file, ALL_ROLES),
    Setting(SettingName.SSL_CERTIFICATE_LOCATION, "ssl_certfile", _file, ALL_ROLES),
    Setting(SettingName.SSL_KEY_LOCATION, "ssl_keyfile", _file, ALL_ROLES),
    Setting(SettingName.SSL_KEY_PASSWORD, "ssl_password", _str, ALL_ROLES),
    Setting(SettingName.SSL_CRL_LOCATION, "ssl_crlfile", _file, ALL_ROLES),
    Setting(SettingName.SSL_CIPHER_SUITES, "ssl_ciphers", _str, ALL_ROLES),
    # Java turns host name checking off with an empty value; "https" keeps it on.
    Setting(
        SettingName.SSL_ENDPOINT_IDENTIFICATION_ALGORITHM,
        "ssl_check_hostname",
        lambda _k, raw: raw.strip().lower() == "https",
        ALL_ROLES,
    ),
    # ---- producer
    Setting(SettingName.ACKS, "acks", _acks, PRODUCER, reported=True),
    Setting(SettingName.RETRIES, "retries", _nonneg_int, PRODUCER, reported=True),
    Setting(SettingName.ENABLE_IDEMPOTENCE, "enable_idempotence", _bool, PRODUCER, reported=True),
    Setting(
        SettingName.MAX_IN_FLIGHT,
        "max_in_flight_requests_per_connection",
        _pos_int,
        ALL_ROLES,
        reported=True,
    ),
    Setting(SettingName.LINGER_MS, "linger_ms", _linger_ms, PRODUCER, reported=True),
    Setting(SettingName.BATCH_SIZE, "batch_size", _nonneg_int, PRODUCER, reported=True),
    Setting(
        SettingName.COMPRESSION_TYPE, "compression_type", _compression, PRODUCER, reported=True
    ),
    Setting(
        SettingName.DELIVERY_TIMEOUT_MS, "delivery_timeout_ms", _pos_int, PRODUCER, reported=True
    ),
    Setting(SettingName.MAX_BLOCK_MS, "max_block_ms", _nonneg_int, PRODUCER),
    Setting(SettingName.MAX_REQUEST_SIZE, "max_request_size", _pos_int, PRODUCER),
    Setting(SettingName.TRANSACTION_TIMEOUT_MS, "transaction_timeout_ms", _pos_int, PRODUCER),
    # ---- consumer
    Setting(SettingName.GROUP_ID, "group_id", _str, CONSUMER),
    Setting(SettingName.GROUP_INSTANCE_ID, "group_instance_id", _str, CONSUMER),
    Setting(
        SettingName.AUTO_OFFSET_RESET, "auto_offset_reset", _choice("earliest", "latest"), CONSUMER
    ),
    Setting(SettingName.ENABLE_AUTO_COMMIT, "enable_auto_commit", _bool, CONSUMER),
    Setting(SettingName.AUTO_COMMIT_INTERVAL_MS, "auto_commit_interval_ms", _pos_int, CONSUMER),
    Setting(SettingName.FETCH_MIN_BYTES, "fetch_min_bytes", _pos_int, CONSUMER),
    Setting(SettingName.FETCH_MAX_WAIT_MS, "fetch_max_wait_ms", _nonneg_int, CONSUMER),
    Setting(SettingName.FETCH_MAX_BYTES, "fetch_max_bytes", _pos_int, CONSUMER),
    Setting(SettingName.MAX_PARTITION_FETCH_BYTES, "max_partition_fetch_bytes", _pos_int, CONSUMER),
    Setting(SettingName.MAX_POLL_RECORDS, "max_poll_records", _pos_int, CONSUMER),
    Setting(SettingName.MAX_POLL_INTERVAL_MS, "max_poll_interval_ms", _pos_int, CONSUMER),
    Setting(SettingName.SESSION_TIMEOUT_MS, "session_timeout_ms", _pos_int, CONSUMER),
    Setting(SettingName.HEARTBEAT_INTERVAL_MS, "heartbeat_interval_ms", _pos_int, CONSUMER),
    Setting(SettingName.CHECK_CRCS, "check_crcs", _bool, CONSUMER),
    Setting(
        SettingName.ISOLATION_LEVEL,
        "isolation_level",
        _choice("read_uncommitted", "read_committed"),
        CONSUMER,
    ),
    Setting(SettingName.CLIENT_RACK, "client_rack", _str, CONSUMER),
]
SETTINGS: dict[str, Setting] = {s.java: s for s in _TABLE}
#: The settings that decide order and speed, whose values in force a run reports.
REPORTED: tuple[Setting, ...] = tuple(s for s in _TABLE if s.reported)

#: Java settings that are understood but have no kafka-python equivalent worth passing on;
#: accepted (so a shared client.properties file works) and reported as ignored.
IGNORED = frozenset(
    {
        SettingName.KEY_SERIALIZER,
        SettingName.VALUE_SERIALIZER,
        SettingName.KEY_DESERIALIZER,
        SettingName.VALUE_DESERIALIZER,
        SettingName.SSL_TRUSTSTORE_TYPE,
        SettingName.SSL_KEYSTORE_TYPE,
        SettingName.SSL_TRUSTSTORE_PASSWORD,
        SettingName.SSL_KEYSTORE_PASSWORD,
        SettingName.SASL_LOGIN_CALLBACK_HANDLER_CLASS,
    }
)

_JAAS_FIELD = re.compile(r'(\w+)\s*=\s*"((?:[^"\\]|\\.)*)"')
_JAAS_MODULES = {
    "org.apache.kafka.common.security.plain.PlainLoginModule",
    "org.apache.kafka.common.security.scram.ScramLoginModule",
}


def parse_jaas(raw: str) -> tuple[str, str]:
    """(username, password) from a PLAIN or SCRAM ``sasl.jaas.config`` value."""
    module = raw.strip().split(None, 1)[0] if raw.strip() else ""
    if module not in _JAAS_MODULES:
        raise UsageError(
            "sasl.jaas.config: only PlainLoginModule and ScramLoginModule are supported"
            + (f", not {module}" if module else "")
        )
    fields = {k: v.replace('\\"', '"') for k, v in _JAAS_FIELD.findall(raw)}
    if "username" not in fields or "password" not in fields:
        raise UsageError('sasl.jaas.config needs username="..." and password="..."')
    return fields["username"], fields["password"]


#: How a setting name looks in every client: dotted lower-case words.
_NAME = re.compile(r"[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*")


def knows(key: str) -> bool:
    """Whether ``key`` is one of ridectl's own (Java) setting names."""
    return key in SETTINGS or key in IGNORED or key == SettingName.SASL_JAAS_CONFIG


def _nearest(key: str, extra: Iterable[str] = ()) -> str:
    known = [*SETTINGS, SettingName.SASL_JAAS_CONFIG, *extra]
    near = [k for k in known if k.startswith(key + ".")] or difflib.get_close_matches(
        key, known, n=1
    )
    return f" (did you mean {near[0]}?)" if near else ""


def refuse_unknown(
    settings: ClientSettings,
    client: str,
    accepts: Callable[[str], bool],
    own_names: Callable[[], Iterable[str]] = tuple,
) -> None:
    """Refuse the first setting outside this module's table that ``client`` does not accept
    either, as one line naming the client and the nearest name it knows (``own_names``: the
    client's own names, asked of it only when there is something to refuse)."""
    for key in settings.foreign():
        if not accepts(key):
            origin = settings.origin.get(key, "the settings")
            raise UsageError(
                f"unknown client setting '{key}' in {origin}: {client} has no such setting"
                + _nearest(key, own_names())
            )


def is_secret(key: str) -> bool:
    return bool(SECRET_PATTERN.search(key))


@dataclass
class ClientSettings:
    """Java-style settings in the order they were given: config file, then ``-X``, then the
    command's own options (later wins). ``bootstrap`` is kept apart because every command has
    a dedicated option for it."""

    bootstrap: str
    values: dict[str, str] = field(default_factory=dict)
    origin: dict[str, str] = field(default_factory=dict)

    def set(self, key: str, raw: str, origin: str) -> None:
        key = key.strip()
        if key == SettingName.BOOTSTRAP_SERVERS:
            self.bootstrap = raw.strip()
            return
        if not _NAME.fullmatch(key):
            raise UsageError(f"'{key}' in {origin} is not a client setting name{_nearest(key)}")
        if key in SETTINGS:
            SETTINGS[key].parse(key, raw)  # type-check now, where the user can see the origin
        elif key == SettingName.SASL_JAAS_CONFIG:
            parse_jaas(raw)
        self.values[key] = raw
        self.origin[key] = origin

    def update(self, pairs: Iterable[tuple[str, str]], origin: str) -> None:
        for k, v in pairs:
            self.set(k, v, origin)

    def foreign(self) -> dict[str, str]:
        """The settings this module has no entry for: a client library's own names (e.g.
        librdkafka's ``batch.num.messages``), checked per client by :func:`refuse_unknown`."""
        return {k: v for k, v in self.values.items() if not knows(k)}

    def get(self, key: str) -> str | None:
        return self.values.get(key)

    def parsed(self, key: str) -> object | None:
        """The typed value of a setting given by its Java name (None when not given)."""
        raw = self.values.get(key)
        if raw is None:
            return None
        return SETTINGS[key].parse(key, raw) if key in SETTINGS else raw

    def kwargs(self, role: Role) -> dict[str, object]:
        """kafka-python keyword arguments for a producer, consumer or admin client."""
        out: dict[str, object] = {"bootstrap_servers": self.bootstrap.split(",")}
        for key, raw in self.values.items():
            if key == SettingName.SASL_JAAS_CONFIG:
                out["sasl_plain_username"], out["sasl_plain_password"] = parse_jaas(raw)
                continue
            setting = SETTINGS.get(key)
            if setting is None or role not in setting.roles:
                continue
            out[setting.python] = setting.parse(key, raw)
        return out

    def display(self) -> dict[str, str]:
        """The settings as given, secrets masked: safe to print, log or export."""
        shown: dict[str, str] = {SettingName.BOOTSTRAP_SERVERS: self.bootstrap}
        for key, raw in self.values.items():
            shown[key] = MASK if is_secret(key) else raw
        return shown


def parse_x_option(text: str) -> tuple[str, str]:
    """``key=value`` from a ``-X`` option; the value may contain '='."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise UsageError(f"-X takes key=value (a Java client setting), not {text!r}")
    return key.strip(), value


def read_properties(path: Path) -> list[tuple[str, str]]:
    """Read a Java ``.properties`` file: ``key=value`` or ``key: value`` lines, ``#``/``!``
    comments, and backslash line continuations (as ``sasl.jaas.config`` often uses)."""
    try:
        text = readable_file(path, "config file").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read config file {path}: {exc}") from None
    pairs: list[tuple[str, str]] = []
    logical: list[str] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not logical and (not stripped or stripped[0] in "#!"):
            continue
        if stripped.endswith("\\") and not stripped.endswith("\\\\"):
            logical.append(stripped[:-1])
            continue
        logical.append(stripped)
        entry = "".join(logical)
        logical = []
        m = re.match(r"([^=:\s]+)\s*[=:\s]\s*(.*)$", entry)
        if not m:
            raise UsageError(f"{path}:{lineno}: expected key=value, got {entry[:60]!r}")
        pairs.append((m.group(1), m.group(2)))
    if logical:
        raise UsageError(f"{path}: the last line ends with a continuation backslash")
    return pairs


def build_settings(
    bootstrap: str | None,
    config_file: Path | None,
    x_options: Iterable[str],
    overrides: Mapping[str, str | None] | None = None,
) -> ClientSettings:
    """Config file, then ``-X``, then the command's own options, later winning.

    ``bootstrap`` is the ``--bootstrap-servers`` option (or its environment variable): when
    given it wins over a ``bootstrap.servers`` in the file; when None, the file's value or
    the default ``localhost:9092`` applies."""
    settings = ClientSettings(bootstrap=DEFAULT_BOOTSTRAP)
    if config_file is not None:
        settings.update(read_properties(config_file), origin=str(config_file))
    for text in x_options:
        settings.update([parse_x_option(text)], origin="-X")
    for key, raw in (overrides or {}).items():
        if raw is not None:
            settings.set(key, raw, origin="options")
    if bootstrap is not None:
        settings.bootstrap = bootstrap
    if not settings.bootstrap.strip():
        raise UsageError("the bootstrap servers are empty (--bootstrap-servers host:port)")
    for part in settings.bootstrap.split(","):
        validate_host_port(part.strip(), "bootstrap server")
    return settings


def validate_host_port(text: str, what: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"bad {what} address {text!r}: expected host:port, e.g. localhost:9092")
    return host.strip("[]"), int(port)


def in_force(config: Mapping[str, object]) -> dict[str, str]:
    """The reported settings read back from kafka-python's ``config`` dict, by Java name and
    spelled as Java prints them (``acks=all``, ``compression.type=none``, ``true``)."""
    out: dict[str, str] = {}
    for setting in REPORTED:
        value = config.get(setting.python)
        if setting.java == SettingName.ACKS and value == -1:
            value = "all"
        elif setting.java == SettingName.COMPRESSION_TYPE and value is None:
            value = "none"
        out[setting.java] = str(value).lower() if isinstance(value, bool) else str(value)
    return out
