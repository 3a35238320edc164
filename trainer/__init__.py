"""The pretraining trainer for data ablations (tokenizer, packed data, LLaMA-style model, Accelerate training).

Not built yet: it is the subject of its own issue. The package exists so the project layout and install are final.
"""
