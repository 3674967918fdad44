"""Secured connections, on a throwaway single node that listens with SASL_PLAINTEXT
(SCRAM-SHA-512) and with SSL besides plaintext (its own state directory and ports, never the
session broker). Certificates are made by the test with the openssl command.

What is checked: produce + check work through SCRAM and through TLS with the Java setting
names; wrong credentials or a wrong CA fail with one bounded error line; and the password
never shows up in anything ridectl writes (every output format, exported pictures, the saved
run record, the consumed history).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from certs import CertFiles, make_certs
from conftest import CliResult, secured_up

from ridectl.broker.config import ClusterState, SecurityOptions

# scripts/setup.sh installs openssl where it is missing: these tests never skip.
pytestmark = pytest.mark.kafka

Cli = Callable[..., CliResult]
USER = "alice"
PASSWORD = "Zq7-never-print-me-4411"
WRONG = "Wr0ng-also-secret-9927"
JAAS = (
    "org.apache.kafka.common.security.scram.ScramLoginModule required "
    f'username="{USER}" password="{PASSWORD}";'
)


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ClusterState, CertFiles]]:
    certs = make_certs(tmp_path_factory.mktemp("certs"))
    security = SecurityOptions(scram_users={USER: PASSWORD}, tls=(certs.cert, certs.key))
    with secured_up(tmp_path_factory.mktemp("secured-state"), security) as state:
        yield state, certs


def _scram_config(path: Path, password: str = PASSWORD) -> Path:
    # As a Java client's file would have it, JAAS line continued with a backslash.
    path.write_text(
        "security.protocol=SASL_PLAINTEXT\n"
        "sasl.mechanism=SCRAM-SHA-512\n"
        "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \\\n"
        f'    username="{USER}" password="{password}";\n'
    )
    return path


def _tls_options(ca: Path) -> list[str]:
    return [
        "-X", "security.protocol=SSL",
        "-X", "ssl.truststore.type=PEM",
        "-X", f"ssl.truststore.location={ca}",
    ]  # fmt: skip


def test_produce_and_check_through_scram(
    cli: Cli, secured: tuple[ClusterState, CertFiles], tmp_path: Path
) -> None:
    state, _ = secured
    conf = _scram_config(tmp_path / "client.properties")
    address = state.extra["sasl_plaintext"]
    r = cli("produce", "-t", "scram", "-n", "40", "-b", address, "-c", str(conf))
    assert r.code == 0, r
    r = cli("check", "-t", "scram", "-b", address, "-c", str(conf), "--exit-code")
    assert r.code == 0, r
    # the librdkafka-style names work as well
    r = cli(
        "check", "-t", "scram", "-b", address, "-f", "json",
        "-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanism=SCRAM-SHA-512",
        "-X", f"sasl.username={USER}", "-X", f"sasl.password={PASSWORD}",
    )  # fmt: skip
    assert r.code == 0 and '"rides": 40' in r.out, r


def test_produce_and_check_through_tls(cli: Cli, secured: tuple[ClusterState, CertFiles]) -> None:
    state, certs = secured
    address = state.extra["ssl"]
    r = cli("produce", "-t", "tls", "-n", "40", "-b", address, *_tls_options(certs.ca))
    assert r.code == 0, r
    r = cli("check", "-t", "tls", "-b", address, "--exit-code", *_tls_options(certs.ca))
    assert r.code == 0, r


def _one_line_within(r: CliResult, seconds: float, elapsed: float, *needles: str) -> None:
    assert r.code == 2, r
    assert r.out == ""
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r
    for needle in needles:
        assert needle in lines[0], (needle, r)
    assert elapsed < seconds, elapsed


def test_wrong_password_is_one_bounded_line(
    cli: Cli, secured: tuple[ClusterState, CertFiles], tmp_path: Path
) -> None:
    state, _ = secured
    conf = _scram_config(tmp_path / "wrong.properties", WRONG)
    t0 = time.monotonic()
    r = cli(
        "produce", "-t", "denied", "-n", "5", "-b", state.extra["sasl_plaintext"],
        "-c", str(conf), "-X", "bootstrap.timeout.ms=2000",
    )  # fmt: skip
    _one_line_within(r, 10, time.monotonic() - t0, "refused the SASL login (SCRAM-SHA-512)")
    assert WRONG not in r.err


def test_untrusted_certificate_and_wrong_protocol(
    cli: Cli, secured: tuple[ClusterState, CertFiles]
) -> None:
    state, certs = secured
    t0 = time.monotonic()
    r = cli(
        "check", "-t", "tls", "-b", state.extra["ssl"], *_tls_options(certs.other_ca),
        "-X", "bootstrap.timeout.ms=2000",
    )  # fmt: skip
    _one_line_within(r, 10, time.monotonic() - t0, "TLS handshake", "certificate verify failed")
    t0 = time.monotonic()
    r = cli("consume", "-t", "tls", "-b", state.extra["ssl"], "-X", "bootstrap.timeout.ms=2000")
    _one_line_within(r, 10, time.monotonic() - t0, "closed it at once", "security.protocol")


def test_secrets_never_appear_in_any_output(
    cli: Cli,
    secured: tuple[ClusterState, CertFiles],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    state, _ = secured
    home = tmp_path / "home"
    monkeypatch.setenv("RIDECTL_HOME", str(home))
    conf = _scram_config(tmp_path / "client.properties")
    address = state.extra["sasl_plaintext"]
    conn = ["-b", address, "-c", str(conf), "-X", f"sasl.jaas.config={JAAS}"]
    texts: list[str] = []

    def run(*args: str) -> None:
        r = cli(*args)
        assert r.code == 0, r
        texts.extend([r.out, r.err])

    run("produce", "-t", "secret", "-n", "30", *conn)
    run("produce", "-t", "secret", "-n", "30", "-f", "json", *conn)
    for fmt in ("table", "json", "ndjson", "csv"):
        run("check", "-t", "secret", "-f", fmt, "--all", *conn)
    svg, html = tmp_path / "check.svg", tmp_path / "check.html"
    history = tmp_path / "history.ndjson"
    run("check", "-t", "secret", "--export-svg", str(svg), "--export-html", str(html), *conn)
    run("consume", "-t", "secret", "-o", str(history), *conn)
    # errors that involve the secured settings must not echo them either
    r = cli("produce", "-t", "secret", "-n", "0", *conn)
    assert r.code == 2
    texts.extend([r.out, r.err])
    r = cli("produce", "-t", "secret", "-X", f"sasl.passwrd={PASSWORD}", *conn)
    assert r.code == 2 and "sasl.password" in r.err, r
    texts.extend([r.out, r.err])

    files = [svg, html, history, *home.rglob("*")]
    assert any(p.name.endswith(".acks.ndjson") for p in files)
    texts += [p.read_text(errors="replace") for p in files if p.is_file()]
    assert svg.stat().st_size > 0 and html.stat().st_size > 0
    for text in texts:
        assert PASSWORD not in text
        assert "ScramLoginModule" not in text
