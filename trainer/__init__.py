"""The pretraining trainer for data ablations: tokenizer, packed token data with mixtures, a LLaMA-style model,
Accelerate training with per-channel evaluation, and a run-size estimator. See docs/trainer.md."""
