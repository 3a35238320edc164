"""Recipes from raw pages to training shards: stage registry, fingerprints and resume, shards, manifest, card."""
