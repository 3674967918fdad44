"""The rule an idempotent producer sets for the other settings, checked before any client
starts: acks=all, retries above 0 and at most 5 requests in flight per connection. A client
would refuse the same settings later, with a bare configuration error; here each conflicting
setting is named with where it came from (the command's own option, ``-X``, the file)."""

from __future__ import annotations

from ridectl.clients.setting_names import SettingName
from ridectl.clients.settings import ClientSettings
from ridectl.errors import UsageError

#: The command's own option for each Java setting, to name it in messages.
_OPTION_NAMES: dict[str, str] = {
    SettingName.ENABLE_IDEMPOTENCE: "--idempotence",
    SettingName.ACKS: "--acks",
    SettingName.RETRIES: "--retries",
    SettingName.MAX_IN_FLIGHT: "--max-in-flight",
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
    if settings.parsed(SettingName.ENABLE_IDEMPOTENCE) is not True:
        return []
    conflicts: list[str] = []
    acks = settings.parsed(SettingName.ACKS)
    if acks is not None and acks != "all":
        conflicts.append(SettingName.ACKS)
    if settings.parsed(SettingName.RETRIES) == 0:
        conflicts.append(SettingName.RETRIES)
    in_flight = settings.parsed(SettingName.MAX_IN_FLIGHT)
    if isinstance(in_flight, int) and in_flight > IDEMPOTENT_MAX_IN_FLIGHT:
        conflicts.append(SettingName.MAX_IN_FLIGHT)
    return conflicts


def check_idempotence(settings: ClientSettings) -> None:
    """Refuse, before connecting, settings that :func:`idempotence_conflicts` rejects, naming
    where each came from (a client would fail later with a bare configuration error)."""
    conflicts = idempotence_conflicts(settings)
    if conflicts:
        raise UsageError(
            f"{_given_as(settings, SettingName.ENABLE_IDEMPOTENCE)} conflicts with "
            + " and ".join(_given_as(settings, key) for key in conflicts)
            + ": idempotence needs acks=all, retries above 0 and at most "
            f"{IDEMPOTENT_MAX_IN_FLIGHT} requests in flight",
            hint="change the conflicting setting, or turn idempotence off "
            "(--no-idempotence / -X enable.idempotence=false)",
        )
