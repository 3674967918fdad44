"""Pacing a run (``ProduceOptions.pace_events_per_s``): a rate must be positive, refused with
a usage error before anything connects."""

from __future__ import annotations

import pytest

from ridectl.clients.settings import build_settings
from ridectl.errors import UsageError
from ridectl.run.options import ProduceOptions
from ridectl.run.produce import run_produce


@pytest.mark.parametrize("rate", [0.0, -5.0])
def test_a_send_rate_must_be_positive(rate: float) -> None:
    # Port 9 (discard) on loopback: nothing would answer, and nothing is asked.
    settings = build_settings("127.0.0.1:9", None, [])
    with pytest.raises(UsageError, match="send rate must be above 0"):
        run_produce(ProduceOptions("t", 10, settings, pace_events_per_s=rate))
