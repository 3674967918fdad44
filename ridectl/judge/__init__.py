"""Judgement: the ride lifecycle, the history a run records, and the checker that judges it.

Nothing here talks to Kafka: a history in, violations out. ``lifecycle`` (the five stages),
``history`` (observations, history files, record values), ``kinds`` (the kinds, causes and
their plain-words consequences), ``entity`` (the generic judge: the rules of order, repeats and
holes for any entity with an order key), ``detectors`` (one rule each, the ride mapping of
``entity`` plus the rules that need the run's acknowledgements), ``checker`` (``check``: the
fast path and the composition), ``verdict`` (Violation, RideSummary, Report), ``stream``
(``check --from``: a large file judged without an object per event)."""
