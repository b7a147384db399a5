"""Wire contracts: the records on every topic, their keys and topic names.

Internal services produce to Kafka directly, so these models are a public, versioned contract:
a breaking change gets a new topic version (`events.v2`), never an edit in place.
"""
