"""The pretraining trainer for data ablations: tokenizer, packed token data with mixtures, a LLaMA-style model,
Accelerate training with per-channel evaluation, a run-size estimator, and the ablation runner that compares data
versions. See docs/trainer.md and docs/ablation.md."""
