"""Test certificates made with the ``openssl`` command: a CA, and a server certificate for
127.0.0.1/localhost signed by it, with an unencrypted PKCS#8 key (what Kafka's PEM key store
reads without a key password)."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CertFiles:
    ca: Path
    cert: Path
    key: Path
    #: a CA that signed nothing here: trusting it must fail the handshake
    other_ca: Path


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(
        ["openssl", *args], cwd=cwd, check=True, capture_output=True, text=True, timeout=60
    )


def _self_signed_ca(d: Path, name: str) -> tuple[Path, Path]:
    key, cert = d / f"{name}.key", d / f"{name}.pem"
    _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
             "-out", str(key), cwd=d)  # fmt: skip
    _openssl("req", "-x509", "-new", "-key", str(key), "-sha256", "-days", "2",
             "-subj", f"/CN={name}", "-out", str(cert), cwd=d)  # fmt: skip
    return key, cert


def make_certs(d: Path) -> CertFiles:
    if shutil.which("openssl") is None:
        raise RuntimeError("the openssl command is needed to make test certificates")
    d.mkdir(parents=True, exist_ok=True)
    ca_key, ca = _self_signed_ca(d, "ridectl-test-ca")
    _other_key, other_ca = _self_signed_ca(d, "ridectl-other-ca")
    key, csr, cert = d / "server.key", d / "server.csr", d / "server.pem"
    ext = d / "server.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
             "-out", str(key), cwd=d)  # fmt: skip
    _openssl("req", "-new", "-key", str(key), "-subj", "/CN=localhost", "-out", str(csr), cwd=d)
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key),
             "-CAcreateserial", "-days", "2", "-sha256", "-extfile", str(ext),
             "-out", str(cert), cwd=d)  # fmt: skip
    return CertFiles(ca=ca, cert=cert, key=key, other_ca=other_ca)
