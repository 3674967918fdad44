"""History files: the one line format, written and read back."""

from __future__ import annotations

import io
import json

from hypothesis import given
from hypothesis import strategies as st

from ridectl.judge.history import Observation, read_ndjson, write_ndjson


@given(
    st.builds(
        Observation,
        st.integers(0, 2**40),
        st.text(max_size=12),
        st.integers(1, 5),
        st.integers(0, 500),
        st.integers(0, 2**40),
        st.text(max_size=8),
    )
)
def test_a_line_is_the_compact_json_of_the_observation(obs: Observation) -> None:
    line = obs.to_line()
    assert line == json.dumps(obs.to_dict(), separators=(",", ":")) + "\n"
    buf = io.StringIO()
    assert write_ndjson([obs], buf) == 1
    history = read_ndjson(io.StringIO(buf.getvalue()))
    assert history.observations == [obs]
    assert history.malformed == 0
