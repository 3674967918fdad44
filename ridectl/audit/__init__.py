"""The audit: per-entity order of any topic, judged by the generic judge of
``ridectl.judge.entity`` through a mapping the user gives.

``mapping`` (what an entity and its order key are), ``kinds`` (the audit's kinds and the
reasons a record is not judged), ``decode`` (a record's entity and order value, with
msgspec), ``engine`` (the streaming judge, per partition, memory bounded by entities),
``verdict`` (violations and summary), ``files`` (records from a kcat ``-J`` export or JSON
lines). Nothing here talks to Kafka."""
