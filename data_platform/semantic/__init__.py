"""Semantic dedup: document embeddings, spherical k-means (FAISS or torch), SemDeDup within clusters."""
