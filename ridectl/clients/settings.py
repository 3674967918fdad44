"""Client settings: Java-style names (as in a ``client.properties`` file or ``-X key=value``)
mapped to kafka-python's keyword arguments.

Users know Kafka's settings by their Java names (``max.in.flight.requests.per.connection``,
``enable.idempotence``, ``security.protocol``); kafka-python spells them with underscores and
accepts a slightly different set. This module is the one place that translates, checks the
values' types, and holds ridectl's names. A name outside its table may be a client library's
own (librdkafka's ``batch.num.messages``, a Java-only setting): it is kept, and refused per
client by :func:`refuse_unknown`, asking the client (``ridectl.clients.factory``) whether it
knows the name.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

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

    java: str
    python: str
    parse: Callable[[str, str], object]
    roles: frozenset[Role]
    reported: bool = False


_TABLE: list[Setting] = [
    # ---- common
    Setting("client.id", "client_id", _str, ALL_ROLES),
    Setting("request.timeout.ms", "request_timeout_ms", _pos_int, ALL_ROLES),
    Setting("retry.backoff.ms", "retry_backoff_ms", _nonneg_int, ALL_ROLES, reported=True),
    Setting("reconnect.backoff.ms", "reconnect_backoff_ms", _nonneg_int, ALL_ROLES),
    Setting("reconnect.backoff.max.ms", "reconnect_backoff_max_ms", _nonneg_int, ALL_ROLES),
    Setting("connections.max.idle.ms", "connections_max_idle_ms", _pos_int, ALL_ROLES),
    Setting("metadata.max.age.ms", "metadata_max_age_ms", _pos_int, ALL_ROLES),
    Setting("receive.buffer.bytes", "receive_buffer_bytes", _int, ALL_ROLES),
    Setting("send.buffer.bytes", "send_buffer_bytes", _int, ALL_ROLES),
    Setting("client.dns.lookup", "client_dns_lookup", _str, ALL_ROLES),
    # kafka-python's own: how long to keep trying the bootstrap servers before giving up.
    Setting("bootstrap.timeout.ms", "bootstrap_timeout_ms", _pos_int, ALL_ROLES),
    Setting(
        "security.protocol",
        "security_protocol",
        _choice("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"),
        ALL_ROLES,
    ),
    Setting(
        "sasl.mechanism",
        "sasl_mechanism",
        _choice("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "GSSAPI", "OAUTHBEARER"),
        ALL_ROLES,
    ),
    # Username/password come from sasl.jaas.config (Java) or these librdkafka-style names.
    Setting("sasl.username", "sasl_plain_username", _str, ALL_ROLES),
    Setting("sasl.password", "sasl_plain_password", _str, ALL_ROLES),
    Setting("sasl.kerberos.service.name", "sasl_kerberos_service_name", _str, ALL_ROLES),
    # TLS. kafka-python reads PEM files only: a PEM trust/key store is accepted by its Java name.
    Setting("ssl.truststore.location", "ssl_cafile", _file, ALL_ROLES),
    Setting("ssl.ca.location", "ssl_cafile", _file, ALL_ROLES),
    Setting("ssl.keystore.location", "ssl_certfile", _file, ALL_ROLES),
    Setting("ssl.certificate.location", "ssl_certfile", _file, ALL_ROLES),
    Setting("ssl.key.location", "ssl_keyfile", _file, ALL_ROLES),
    Setting("ssl.key.password", "ssl_password", _str, ALL_ROLES),
    Setting("ssl.crl.location", "ssl_crlfile", _file, ALL_ROLES),
    Setting("ssl.cipher.suites", "ssl_ciphers", _str, ALL_ROLES),
    # Java turns host name checking off with an empty value; "https" keeps it on.
    Setting(
        "ssl.endpoint.identification.algorithm",
        "ssl_check_hostname",
        lambda _k, raw: raw.strip().lower() == "https",
        ALL_ROLES,
    ),
    # ---- producer
    Setting("acks", "acks", _acks, PRODUCER, reported=True),
    Setting("retries", "retries", _nonneg_int, PRODUCER, reported=True),
    Setting("enable.idempotence", "enable_idempotence", _bool, PRODUCER, reported=True),
    Setting(
        "max.in.flight.requests.per.connection",
        "max_in_flight_requests_per_connection",
        _pos_int,
        ALL_ROLES,
        reported=True,
    ),
    Setting("linger.ms", "linger_ms", _linger_ms, PRODUCER, reported=True),
    Setting("batch.size", "batch_size", _nonneg_int, PRODUCER, reported=True),
    Setting("compression.type", "compression_type", _compression, PRODUCER, reported=True),
    Setting("delivery.timeout.ms", "delivery_timeout_ms", _pos_int, PRODUCER, reported=True),
    Setting("max.block.ms", "max_block_ms", _nonneg_int, PRODUCER),
    Setting("max.request.size", "max_request_size", _pos_int, PRODUCER),
    Setting("transaction.timeout.ms", "transaction_timeout_ms", _pos_int, PRODUCER),
    # ---- consumer
    Setting("group.id", "group_id", _str, CONSUMER),
    Setting("group.instance.id", "group_instance_id", _str, CONSUMER),
    Setting("auto.offset.reset", "auto_offset_reset", _choice("earliest", "latest"), CONSUMER),
    Setting("enable.auto.commit", "enable_auto_commit", _bool, CONSUMER),
    Setting("auto.commit.interval.ms", "auto_commit_interval_ms", _pos_int, CONSUMER),
    Setting("fetch.min.bytes", "fetch_min_bytes", _pos_int, CONSUMER),
    Setting("fetch.max.wait.ms", "fetch_max_wait_ms", _nonneg_int, CONSUMER),
    Setting("fetch.max.bytes", "fetch_max_bytes", _pos_int, CONSUMER),
    Setting("max.partition.fetch.bytes", "max_partition_fetch_bytes", _pos_int, CONSUMER),
    Setting("max.poll.records", "max_poll_records", _pos_int, CONSUMER),
    Setting("max.poll.interval.ms", "max_poll_interval_ms", _pos_int, CONSUMER),
    Setting("session.timeout.ms", "session_timeout_ms", _pos_int, CONSUMER),
    Setting("heartbeat.interval.ms", "heartbeat_interval_ms", _pos_int, CONSUMER),
    Setting("check.crcs", "check_crcs", _bool, CONSUMER),
    Setting(
        "isolation.level",
        "isolation_level",
        _choice("read_uncommitted", "read_committed"),
        CONSUMER,
    ),
    Setting("client.rack", "client_rack", _str, CONSUMER),
]
SETTINGS: dict[str, Setting] = {s.java: s for s in _TABLE}
#: The settings that decide order and speed, whose values in force a run reports.
REPORTED: tuple[Setting, ...] = tuple(s for s in _TABLE if s.reported)

#: Java settings that are understood but have no kafka-python equivalent worth passing on;
#: accepted (so a shared client.properties file works) and reported as ignored.
IGNORED = frozenset(
    {
        "key.serializer",
        "value.serializer",
        "key.deserializer",
        "value.deserializer",
        "ssl.truststore.type",
        "ssl.keystore.type",
        "ssl.truststore.password",
        "ssl.keystore.password",
        "sasl.login.callback.handler.class",
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
    return key in SETTINGS or key in IGNORED or key == "sasl.jaas.config"


def _nearest(key: str, extra: Iterable[str] = ()) -> str:
    known = [*SETTINGS, "sasl.jaas.config", *extra]
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
        if key == "bootstrap.servers":
            self.bootstrap = raw.strip()
            return
        if not _NAME.fullmatch(key):
            raise UsageError(f"'{key}' in {origin} is not a client setting name{_nearest(key)}")
        if key in SETTINGS:
            SETTINGS[key].parse(key, raw)  # type-check now, where the user can see the origin
        elif key == "sasl.jaas.config":
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
            if key == "sasl.jaas.config":
                out["sasl_plain_username"], out["sasl_plain_password"] = parse_jaas(raw)
                continue
            setting = SETTINGS.get(key)
            if setting is None or role not in setting.roles:
                continue
            out[setting.python] = setting.parse(key, raw)
        return out

    def display(self) -> dict[str, str]:
        """The settings as given, secrets masked: safe to print, log or export."""
        shown = {"bootstrap.servers": self.bootstrap}
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
        if setting.java == "acks" and value == -1:
            value = "all"
        elif setting.java == "compression.type" and value is None:
            value = "none"
        out[setting.java] = str(value).lower() if isinstance(value, bool) else str(value)
    return out


#: The command's own option for each Java setting, to name it in messages.
_OPTION_NAMES = {
    "enable.idempotence": "--idempotence",
    "acks": "--acks",
    "retries": "--retries",
    "max.in.flight.requests.per.connection": "--max-in-flight",
}
#: An idempotent producer keeps at most this many requests in flight per connection.
IDEMPOTENT_MAX_IN_FLIGHT = 5


def _given_as(settings: ClientSettings, key: str) -> str:
    origin = settings.origin.get(key, "")
    if origin == "options":
        return f"{key}={settings.values[key]} (from {_OPTION_NAMES.get(key, 'an option')})"
    return f"{key}={settings.values[key]} (from {origin or 'the settings'})"


def idempotence_conflicts(settings: ClientSettings) -> list[str]:
    """The settings given alongside an explicit ``enable.idempotence=true`` that an idempotent
    producer cannot work with (acks other than all, no retries, more than 5 in flight)."""
    if settings.parsed("enable.idempotence") is not True:
        return []
    conflicts: list[str] = []
    acks = settings.parsed("acks")
    if acks is not None and acks != "all":
        conflicts.append("acks")
    if settings.parsed("retries") == 0:
        conflicts.append("retries")
    in_flight = settings.parsed("max.in.flight.requests.per.connection")
    if isinstance(in_flight, int) and in_flight > IDEMPOTENT_MAX_IN_FLIGHT:
        conflicts.append("max.in.flight.requests.per.connection")
    return conflicts


def check_idempotence(settings: ClientSettings) -> None:
    """Refuse, before connecting, settings that :func:`idempotence_conflicts` rejects, naming
    where each came from (a client would fail later with a bare configuration error)."""
    conflicts = idempotence_conflicts(settings)
    if conflicts:
        raise UsageError(
            f"{_given_as(settings, 'enable.idempotence')} conflicts with "
            + " and ".join(_given_as(settings, key) for key in conflicts)
            + ": idempotence needs acks=all, retries above 0 and at most "
            f"{IDEMPOTENT_MAX_IN_FLIGHT} requests in flight",
            hint="change the conflicting setting, or turn idempotence off "
            "(--no-idempotence / -X enable.idempotence=false)",
        )
