"""The stream pipeline: workouts -> Ray enrichment -> Kafka -> consumer pool -> MongoDB.

One module per part: ``source`` (generator, raw topic), ``enrich`` (async Ray actors),
``producer`` (Kafka producer actor), ``consumer`` (consumer worker and pool), ``sink``
(idempotent MongoDB bulk writes), ``dead_letter`` (dead-letter records and headers),
``pipeline`` (wiring, supervision, summary), ``metrics`` (Ray metrics per stage).
"""
