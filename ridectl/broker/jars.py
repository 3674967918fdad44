"""What the local broker needs before it can start: a Java 17+ runtime and the Kafka jars from
Maven Central, cached apart from any broker state (``<cache>/kafka-<version>/libs``)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from importlib import resources
from pathlib import Path

from ridectl.errors import BrokerError
from ridectl.versions import KAFKA_VERSION

JAVA_MIN = 17


def cache_dir_default() -> Path:
    env = os.environ.get("RIDECTL_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ridectl"


# --------------------------------------------------------------------------- prerequisites


def find_java() -> str:
    """Path of a ``java`` of version 17 or newer, or a BrokerError saying what to install."""
    java_home = os.environ.get("JAVA_HOME")
    candidates = [str(Path(java_home) / "bin" / "java")] if java_home else []
    found = shutil.which("java")
    if found:
        candidates.append(found)
    for java in candidates:
        if not Path(java).exists():
            continue
        try:
            out = subprocess.run(
                [java, "-version"], capture_output=True, text=True, timeout=30, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        m = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
        if m:
            major = int(m.group(1))
            if major == 1 and m.group(2):  # "1.8.0" style
                major = int(m.group(2))
            if major >= JAVA_MIN:
                return java
            raise BrokerError(
                f"Java {major} found at {java}, but Kafka {KAFKA_VERSION} needs Java {JAVA_MIN}+",
                hint="install a JDK 17 or newer (e.g. apt-get install openjdk-17-jre-headless) "
                "or set JAVA_HOME",
            )
    raise BrokerError(
        "Java not found",
        hint=f"install Java {JAVA_MIN}+ (e.g. apt-get install openjdk-17-jre-headless), "
        "or use Docker: docker compose up -d",
    )


def pom_path() -> Path:
    return Path(str(resources.files("ridectl.broker").joinpath("pom.xml")))


def jar_dir(cache: Path | None = None, set_name: str = "libs") -> Path:
    return (cache or cache_dir_default()) / f"kafka-{KAFKA_VERSION}" / set_name


def ensure_jars(cache: Path | None = None, *, tools: bool = False, quiet: bool = True) -> Path:
    """Download the broker's runtime jars once (Maven ``dependency:copy-dependencies``).

    With ``tools=True`` the set also holds ``kafka-tools`` (ProducerPerformance, console
    producer). Returns the directory to put on the classpath. A complete set is marked by a
    ``.complete`` file written last, so an interrupted download is redone, not half-used.
    """
    target = jar_dir(cache, "tools" if tools else "libs")
    if (target / ".complete").exists():
        return target
    mvn = shutil.which("mvn")
    if mvn is None:
        raise BrokerError(
            "Maven (mvn) not found: it fetches the Kafka jars from Maven Central once",
            hint="install it (e.g. apt-get install maven), or use Docker: docker compose up -d",
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".download-", dir=target.parent))
    cmd = [
        mvn,
        "-B",
        "-f",
        str(pom_path()),
        "dependency:copy-dependencies",
        f"-DoutputDirectory={staging}",
        "-DincludeScope=runtime",
    ]
    if quiet:
        cmd.insert(1, "-q")
    if tools:
        cmd.append("-Ptools")
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=1800)
    except subprocess.TimeoutExpired as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise BrokerError(
            "downloading the Kafka jars with Maven timed out after 30 minutes",
            hint="check the network access to Maven Central and retry",
        ) from exc
    if proc.returncode != 0 or not any(staging.glob("kafka_2.13-*.jar")):
        shutil.rmtree(staging, ignore_errors=True)
        lines = [ln for ln in (proc.stdout + proc.stderr).splitlines() if "ERROR" in ln]
        last = lines[0].strip() if lines else f"mvn exited with code {proc.returncode}"
        raise BrokerError(
            f"could not download the Kafka {KAFKA_VERSION} jars from Maven Central: {last[:300]}",
            hint="check network access to Maven Central (or a mirror in ~/.m2/settings.xml)",
        )
    (staging / ".complete").write_text(KAFKA_VERSION + "\n")
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)
    return target


def jar_set_size(path: Path) -> tuple[int, int]:
    """(number of jars, total bytes) of a jar directory."""
    jars = list(path.glob("*.jar"))
    return len(jars), sum(j.stat().st_size for j in jars)
