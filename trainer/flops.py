"""Sizes of a model without building it: parameters, FLOPs per token, memory per GPU, KV cache.

FLOPs follow the PaLM paper (Chowdhery et al. 2022, appendix B): 6 FLOPs per matmul parameter per token for
forward + backward, plus 12 * layers * heads * head_dim * seq_len for attention scores (the full square, as
PaLM and nanoGPT count it, so MFU figures compare with theirs). The input embedding is a lookup, not a matmul.
"""

from __future__ import annotations

from dataclasses import dataclass

from trainer.model import ModelArgs

# Peak dense bf16 tensor FLOP/s by device-name fragment, first match wins (vendor data sheets, no sparsity).
PEAK_BF16_FLOPS = (("H200", 989e12), ("H100 PCIe", 756e12), ("H100", 989e12), ("A100", 312e12),
                   ("L40S", 362e12), ("A10G", 70e12), ("4090", 165e12))


def param_count(a: ModelArgs) -> int:
    """Parameters of ``Transformer(a)`` (a tied embedding counted once)."""
    kv = a.n_kv_heads * a.head_dim
    per_layer = a.dim * (a.dim + 2 * kv) + a.dim * a.dim + 3 * a.dim * a.hidden + 2 * a.dim
    head = 0 if a.tie_embeddings else a.vocab_size * a.dim
    return a.vocab_size * a.dim + a.n_layers * per_layer + a.dim + head


def matmul_params(a: ModelArgs) -> int:
    """Parameters that take part in matmuls: all but the input embedding (which the tied head does use)."""
    return param_count(a) - (0 if a.tie_embeddings else a.vocab_size * a.dim)


def flops_per_token(a: ModelArgs, seq_len: int) -> float:
    """Training FLOPs per token (forward + backward): 6 * matmul params + attention term."""
    return 6 * matmul_params(a) + 12 * a.n_layers * a.n_heads * a.head_dim * seq_len


def peak_flops(device_name: str) -> float | None:
    """Peak bf16 FLOP/s of a GPU from its name, or None when unknown (give ``run.peak_flops`` then)."""
    return next((v for k, v in PEAK_BF16_FLOPS if k in device_name), None)


def mfu(tokens_per_s: float, flops_token: float, peak: float | None, n_devices: int) -> float | None:
    """Model FLOPs utilisation: achieved FLOP/s over the peak of all devices."""
    return tokens_per_s * flops_token / (peak * n_devices) if peak else None


@dataclass(frozen=True)
class Memory:
    """Bytes per GPU for training (AdamW, fp32 master weights as in Accelerate's bf16 autocast)."""

    params: int
    grads: int
    optimizer: int
    activations: int
    logits: int

    @property
    def total(self) -> int:
        return self.params + self.grads + self.optimizer + self.activations + self.logits


def activation_bytes_per_token_layer(a: ModelArgs) -> int:
    """Saved activations per token and layer under bf16 autocast, no activation checkpointing (approximate).

    Counted from ``model.py``: the two RMSNorms' fp32 inputs and outputs (16*dim), bf16 inputs of the qkv,
    output and gate/up projections (6*dim), the qkv output (2*dim + 4*kv), RoPE's fp32 copies of q and k
    (4*dim + 4*kv) and its bf16 outputs (2*dim + 2*kv), the attention output (2*dim), and gate, up, SiLU and
    their product in bf16 (8*hidden).
    """
    kv = a.n_kv_heads * a.head_dim
    return 32 * a.dim + 10 * kv + 8 * a.hidden


def training_memory(a: ModelArgs, micro_batch: int, seq_len: int, shards: int = 1) -> Memory:
    """Memory per GPU; ``shards`` > 1 divides parameters, gradients and optimizer states (FSDP full shard)."""
    n = param_count(a)
    tokens = micro_batch * seq_len
    return Memory(params=4 * n // shards, grads=4 * n // shards, optimizer=8 * n // shards,
                  activations=tokens * a.n_layers * activation_bytes_per_token_layer(a),
                  logits=tokens * a.vocab_size * 10)  # bf16 logits, their fp32 copy, fp32 softmax for backward


def kv_cache_bytes(a: ModelArgs, seq_len: int, batch: int = 1, bytes_per_value: int = 2) -> int:
    """Inference KV cache: keys and values of every layer for ``batch`` sequences of ``seq_len``."""
    return 2 * a.n_layers * a.n_kv_heads * a.head_dim * seq_len * batch * bytes_per_value
