"""The vocabulary of an audit: the kinds of violation it reports, and why a record could not
be judged (its unmapped reasons)."""

from __future__ import annotations

from enum import StrEnum


class AuditKind(StrEnum):
    """What an audit finds; the first three are the ride checker's kinds of the same names
    (the generic judge's late values, repeats and holes), ``split`` is the audit's own."""

    OUT_OF_ORDER = "out_of_order"
    DUPLICATE = "duplicate"
    GAP = "gap"
    #: The entity's records sit on more than one partition (cause ``keying``).
    SPLIT = "split"


class Unmapped(StrEnum):
    """Why a record was counted and not judged (an audit never stops for one)."""

    TOMBSTONE = "tombstone"
    NOT_JSON = "not_json"
    NO_KEY = "no_key"
    ENTITY_MISSING = "entity_missing"
    ORDER_MISSING = "order_missing"
    NOT_A_NUMBER = "order_not_a_number"
    NOT_AN_INTEGER = "order_not_an_integer"
    UNKNOWN_STAGE = "unknown_stage"

    @property
    def words(self) -> str:
        """The reason in plain words."""
        return _WORDS[self]


_WORDS: dict[Unmapped, str] = {
    Unmapped.TOMBSTONE: "tombstone (no value)",
    Unmapped.NOT_JSON: "value is not JSON",
    Unmapped.NO_KEY: "record has no key (the entity is the key)",
    Unmapped.ENTITY_MISSING: "entity path missing or null",
    Unmapped.ORDER_MISSING: "order path missing or null",
    Unmapped.NOT_A_NUMBER: "order value is not a number",
    Unmapped.NOT_AN_INTEGER: "order value is not an integer (--contiguous)",
    Unmapped.UNKNOWN_STAGE: "stage value not among --stages",
}
