"""Deduplication steps: exact (normalized-text hash), MinHash LSH with distributed connected components, and
cc_net-style paragraph dedup. Hashing is plain Python/numpy over Arrow batches; clustering is Spark joins."""
