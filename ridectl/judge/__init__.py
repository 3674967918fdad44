"""Judgement: the ride lifecycle, the history a run records, and the checker that judges it.

Nothing here talks to Kafka: a history in, violations out."""
