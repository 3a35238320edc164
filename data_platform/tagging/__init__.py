"""Document tags from embeddings: a fineweb-edu-style quality score (0-5) and a domain with its confidence."""
