"""A LLaMA-style decoder in one file: RoPE, grouped-query attention, RMSNorm, SwiGLU, optional tied embeddings.

Attention is ``F.scaled_dot_product_attention(is_causal=True, enable_gqa=True)``: flash / memory-efficient kernels
on GPU, and no repeat of the key/value heads (measured ~3% faster than ``repeat_interleave`` on an H100).
With a document mask (``DocumentMask``: packed documents attend only within themselves) attention is flex attention
with a block mask on CUDA (blocks wholly outside a document are skipped) and SDPA with a dense boolean mask
elsewhere; without one the causal fast path is unchanged.
``model.compile()`` (in place) keeps plain parameter names, so checkpoints load with or without compilation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

IGNORE_INDEX = -100
Mask = Any  # None (causal), a dense boolean (batch, 1, seq, seq) tensor, or a flex-attention BlockMask


def segments(tokens: torch.Tensor, eos: int) -> torch.Tensor:
    """Document number of every position of packed ``tokens`` (batch, seq): an EOS input starts the next document,
    so it plays the begin token of the document after it, and the last token of a document predicts EOS."""
    return (tokens == eos).cumsum(1)


class DocumentMask:
    """Makes the attention mask of packed ``tokens`` (batch, seq): causal within each document, a flex-attention
    block mask (``flex``, on CUDA) or a dense boolean one. The block mask's rule reads a buffer kept per batch shape
    and refilled each call, so every mask of a shape carries the same function and a compiled model does not
    recompile for each batch."""

    def __init__(self, eos: int, flex: bool) -> None:
        self.eos, self.flex = eos, flex
        self._rules: dict[tuple[int, int, torch.device], tuple[torch.Tensor, Any]] = {}

    def _rule(self, seg: torch.Tensor) -> Any:
        key = (*seg.shape, seg.device)
        if key not in self._rules:
            buf = torch.empty_like(seg)

            def same_document(b: torch.Tensor, h: torch.Tensor, q: torch.Tensor, kv: torch.Tensor) -> torch.Tensor:
                return (buf[b, q] == buf[b, kv]) & (q >= kv)

            self._rules[key] = (buf, same_document)
        buf, rule = self._rules[key]
        buf.copy_(seg)
        return rule

    def __call__(self, tokens: torch.Tensor) -> Mask:
        seg = segments(tokens, self.eos)
        b, t = tokens.shape
        if not self.flex:
            causal = torch.ones(t, t, dtype=torch.bool, device=tokens.device).tril()
            return (seg[:, None, :, None] == seg[:, None, None, :]) & causal
        from torch.nn.attention.flex_attention import create_block_mask

        return create_block_mask(self._rule(seg), b, None, t, t, device=tokens.device)


@cache
def _compiled_flex_attention() -> Any:
    """flex_attention compiled once, for an uncompiled model (eager flex attention materialises the scores)."""
    from torch.nn.attention.flex_attention import flex_attention

    return torch.compile(flex_attention, dynamic=False)


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: Mask) -> torch.Tensor:
    """Causal, dense-masked or block-masked attention with grouped key/value heads."""
    gqa = k.shape[1] != q.shape[1]
    if mask is None:
        return F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=gqa)
    if isinstance(mask, torch.Tensor):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, enable_gqa=gqa)
    from torch.nn.attention.flex_attention import flex_attention

    flex = flex_attention if torch.compiler.is_compiling() else _compiled_flex_attention()  # compiled model: inlined
    return flex(q, k, v, block_mask=mask, enable_gqa=gqa)


@dataclass
class ModelArgs:
    """The architecture; ``ffn_hidden`` defaults to LLaMA's 8/3 * dim rounded up to ``multiple_of``."""

    __pydantic_config__ = {"extra": "forbid"}  # read by pydantic when the training config validates this section
    vocab_size: int = 32768
    dim: int = 768
    n_layers: int = 12
    n_heads: int = 12
    n_kv_heads: int = 4
    ffn_hidden: int | None = None
    multiple_of: int = 256
    norm_eps: float = 1e-5
    rope_theta: float = 10000.0
    max_seq_len: int = 1024
    tie_embeddings: bool = True
    init_std: float = 0.02

    def __post_init__(self) -> None:
        for name in ("vocab_size", "dim", "n_layers", "n_heads", "n_kv_heads", "multiple_of", "max_seq_len"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.dim % self.n_heads:
            raise ValueError(f"dim {self.dim} is not a multiple of n_heads {self.n_heads}")
        if self.n_heads % self.n_kv_heads:
            raise ValueError(f"n_heads {self.n_heads} is not a multiple of n_kv_heads {self.n_kv_heads}")
        if (self.dim // self.n_heads) % 2:
            raise ValueError("the head dimension (dim / n_heads) must be even for RoPE")

    @property
    def head_dim(self) -> int:
        return self.dim // self.n_heads

    @property
    def hidden(self) -> int:
        if self.ffn_hidden:
            return self.ffn_hidden
        h = int(2 * 4 * self.dim / 3)
        return self.multiple_of * math.ceil(h / self.multiple_of)


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xf = x.float()
        return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)).type_as(x) * self.weight


def rope_tables(head_dim: int, seq_len: int, theta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin of shape (seq_len, head_dim // 2) for rotary position embeddings."""
    freqs = 1.0 / theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
    angles = torch.outer(torch.arange(seq_len, dtype=torch.float32), freqs)
    return angles.cos(), angles.sin()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate pairs (first half, second half) of the head dimension; x is (batch, heads, seq, head_dim)."""
    x1, x2 = x.float().chunk(2, dim=-1)
    out = torch.cat((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)
    return out.type_as(x)


class Attention(nn.Module):
    def __init__(self, a: ModelArgs) -> None:
        super().__init__()
        self.n_heads, self.n_kv, self.head_dim = a.n_heads, a.n_kv_heads, a.head_dim
        self.qkv = nn.Linear(a.dim, (a.n_heads + 2 * a.n_kv_heads) * a.head_dim, bias=False)
        self.out = nn.Linear(a.dim, a.dim, bias=False)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, mask: Mask = None) -> torch.Tensor:
        b, t, _ = x.shape
        q, k, v = self.qkv(x).split([self.n_heads * self.head_dim, self.n_kv * self.head_dim,
                                     self.n_kv * self.head_dim], dim=-1)
        q = q.view(b, t, self.n_heads, self.head_dim).transpose(1, 2)
        k = k.view(b, t, self.n_kv, self.head_dim).transpose(1, 2)
        v = v.view(b, t, self.n_kv, self.head_dim).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        y = attention(q, k, v, mask)
        return self.out(y.transpose(1, 2).reshape(b, t, -1))


class SwiGLU(nn.Module):
    def __init__(self, a: ModelArgs) -> None:
        super().__init__()
        self.gate_up = nn.Linear(a.dim, 2 * a.hidden, bias=False)
        self.down = nn.Linear(a.hidden, a.dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate, up = self.gate_up(x).chunk(2, dim=-1)
        return self.down(F.silu(gate) * up)


class Block(nn.Module):
    def __init__(self, a: ModelArgs) -> None:
        super().__init__()
        self.attn_norm, self.mlp_norm = RMSNorm(a.dim, a.norm_eps), RMSNorm(a.dim, a.norm_eps)
        self.attn, self.mlp = Attention(a), SwiGLU(a)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, mask: Mask = None) -> torch.Tensor:
        x = x + self.attn(self.attn_norm(x), cos, sin, mask)
        return x + self.mlp(self.mlp_norm(x))


class Transformer(nn.Module):
    rope_cos: torch.Tensor  # buffers: RoPE tables for every position up to max_seq_len
    rope_sin: torch.Tensor

    def __init__(self, args: ModelArgs) -> None:
        super().__init__()
        self.args = args
        self.embed = nn.Embedding(args.vocab_size, args.dim)
        self.layers = nn.ModuleList(Block(args) for _ in range(args.n_layers))
        self.norm = RMSNorm(args.dim, args.norm_eps)
        self.head = nn.Linear(args.dim, args.vocab_size, bias=False)
        if args.tie_embeddings:
            self.head.weight = self.embed.weight
        cos, sin = rope_tables(args.head_dim, args.max_seq_len, args.rope_theta)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        self.apply(self._init)
        for name, p in self.named_parameters():  # GPT-2: residual projections scaled by depth
            if name.endswith(("attn.out.weight", "mlp.down.weight")):
                nn.init.normal_(p, std=args.init_std / math.sqrt(2 * args.n_layers))

    def _init(self, m: nn.Module) -> None:
        if isinstance(m, nn.Linear | nn.Embedding):
            nn.init.normal_(m.weight, std=self.args.init_std)

    def forward(self, tokens: torch.Tensor, targets: torch.Tensor | None = None, reduction: str = "mean",
                mask: Mask = None) -> Any:
        """Logits (batch, seq, vocab) without targets; with them the cross-entropy (``reduction`` mean or sum), or
        for ``reduction="none"`` the per-token cross-entropy and log-partition (z-loss), both (batch, seq) and 0
        where the target is ignored. ``mask``: a ``DocumentMask`` (default: causal over the whole sequence)."""
        t = tokens.shape[1]
        if t > self.args.max_seq_len:
            raise ValueError(f"sequence of {t} tokens is longer than max_seq_len {self.args.max_seq_len}")
        cos, sin = self.rope_cos[:t], self.rope_sin[:t]
        x = self.embed(tokens)
        for layer in self.layers:
            x = layer(x, cos, sin, mask)
        logits = self.head(self.norm(x))
        if targets is None:
            return logits
        if reduction != "none":
            return F.cross_entropy(logits.float().flatten(0, 1), targets.flatten(), ignore_index=IGNORE_INDEX,
                                   reduction=reduction)
        logits = logits.float()
        valid = targets != IGNORE_INDEX
        lse = torch.logsumexp(logits, -1)
        picked = logits.gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)
        return torch.where(valid, lse - picked, 0.0), torch.where(valid, lse, 0.0)


def count_params(model: nn.Module) -> int:
    """Distinct parameters (a tied embedding counts once)."""
    return sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
