"""An audit's settings as the user writes them: the mapping from flags and from a TOML file
(``--mapping``, for CI; a flag given wins over the file), and ``--since`` as a duration back
from now or a point in time. Pure: nothing here reads a topic."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from ridectl.audit.mapping import AuditMapping, MappingError, mapping_of
from ridectl.errors import UsageError
from ridectl.limits import readable_file

_UNITS_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")


@dataclass(frozen=True, slots=True)
class MappingWords:
    """The mapping's settings as written (None: not given here)."""

    topic: str | None = None
    entity: str | None = None
    seq: str | None = None
    stage: str | None = None
    stages: tuple[str, ...] | None = None
    contiguous: bool | None = None

    def over(self, base: MappingWords) -> MappingWords:
        """These words, with ``base``'s where these give none."""
        given = {
            name: getattr(self, name) for name in self.__slots__ if getattr(self, name) is not None
        }
        # an order named here replaces the file's order entirely (--seq over a file's stage)
        if self.seq is not None or self.stage is not None:
            base = replace(base, seq=None, stage=None, stages=None)
        return replace(base, **given)

    def mapping(self) -> AuditMapping:
        """The mapping these words make; one line when they make none."""
        try:
            return mapping_of(
                entity=self.entity or "key",
                seq=self.seq,
                stage=self.stage,
                stages=self.stages,
                contiguous=bool(self.contiguous),
            )
        except MappingError as exc:
            raise UsageError(str(exc)) from None


def _text(table: dict[str, object], name: str, path: Path) -> str | None:
    value = table.get(name)
    if value is None or isinstance(value, str):
        return value
    raise UsageError(f"--mapping {path}: {name} must be text, not {type(value).__name__}")


def read_mapping_file(path: Path) -> MappingWords:
    """The words of a TOML mapping file (keys: topic, entity, seq, stage, stages, contiguous)."""
    try:
        text = readable_file(path, "--mapping file").read_text(encoding="utf-8")
        table: dict[str, object] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"--mapping {path}: not TOML ({exc})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--mapping: cannot read {path}: {exc}") from None
    unknown = sorted(set(table) - set(MappingWords.__slots__))
    if unknown:
        raise UsageError(
            f"--mapping {path}: unknown key {', '.join(unknown)} "
            f"(known: {', '.join(MappingWords.__slots__)})"
        )
    stages = table.get("stages")
    if isinstance(stages, str):
        stages = [s.strip() for s in stages.split(",")]
    if stages is not None and not (
        isinstance(stages, list) and all(isinstance(s, str) for s in stages)
    ):
        raise UsageError(f"--mapping {path}: stages must be a list of names")
    contiguous = table.get("contiguous")
    if contiguous is not None and not isinstance(contiguous, bool):
        raise UsageError(f"--mapping {path}: contiguous must be true or false")
    return MappingWords(
        topic=_text(table, "topic", path),
        entity=_text(table, "entity", path),
        seq=_text(table, "seq", path),
        stage=_text(table, "stage", path),
        stages=None if stages is None else tuple(stages),
        contiguous=contiguous,
    )


def parse_since(text: str, now_ms: int) -> int:
    """``--since``: a duration back from ``now_ms`` (``90s``, ``15m``, ``2h``, ``1d``) or a
    time (ISO 8601; a time without a zone is UTC), as epoch milliseconds."""
    words = text.strip()
    found = _DURATION.fullmatch(words)
    if found is not None:
        return now_ms - int(float(found[1]) * _UNITS_MS[found[2]])
    try:
        when = datetime.fromisoformat(words)
    except ValueError:
        raise UsageError(
            f"--since {text!r} is neither a duration (90s, 15m, 2h, 1d) nor a time "
            "(2026-12-08T03:00:00Z)"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)
