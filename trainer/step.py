"""One optimizer step and what it needs (Accelerator, AdamW), shared by ``trainer.train`` and the GPU bench.

No pydantic here: the bench runs this module on machines that only have torch and accelerate.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from trainer.model import IGNORE_INDEX

if TYPE_CHECKING:
    from accelerate import Accelerator


def make_accelerator(precision: str, distributed: str) -> Accelerator:
    """An Accelerator: ``precision`` auto (bf16 on GPU, fp32 on CPU), bf16 or fp32; ``distributed`` ddp or fsdp."""
    from accelerate import Accelerator

    if precision == "auto":
        precision = "bf16" if torch.cuda.is_available() else "fp32"
    plugin = None
    if distributed == "fsdp":
        from accelerate import FullyShardedDataParallelPlugin

        plugin = FullyShardedDataParallelPlugin(fsdp_version=2, reshard_after_forward=True,
                                                auto_wrap_policy="transformer_based_wrap",
                                                transformer_cls_names_to_wrap=["Block"])
    return Accelerator(mixed_precision="no" if precision == "fp32" else "bf16", fsdp_plugin=plugin,
                       cpu=not torch.cuda.is_available())  # cpu=True lets torchrun start gloo processes on CPU


def make_optimizer(model: torch.nn.Module, lr: float, betas: tuple[float, float], eps: float,
                   weight_decay: float, device: torch.device) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices only; the fused kernel on CUDA."""
    params = {id(p): p for p in model.parameters() if p.requires_grad}.values()
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr, betas=betas, eps=eps, fused=device.type == "cuda")


@dataclass
class StepResult:
    """One optimizer step's numbers, left on the device (reading them waits for it): the loss (token mean per
    micro-batch, averaged over micro-batches, this rank), the global grad norm before clipping, and on request the
    gradient and parameter norm of every layer group (``embed``, ``layers.N``, ``norm``, ``head``)."""

    loss: torch.Tensor
    grad_norm: torch.Tensor
    layer_norms: dict[str, tuple[torch.Tensor, torch.Tensor]] | None = None


def _full(t: torch.Tensor) -> torch.Tensor:
    """A norm of FSDP shards (a DTensor) as a plain tensor."""
    full = getattr(t, "full_tensor", None)
    return full() if full is not None else t


def layer_norms(model: torch.nn.Module) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """(gradient norm, parameter norm) per layer group, from parameter names (``layers.3.attn.qkv.weight`` ->
    ``layers.03``; a tied head counts once, under ``embed``)."""
    groups: dict[str, list[torch.Tensor]] = {}
    seen: set[int] = set()
    for name, p in model.named_parameters():
        if id(p) in seen or p.grad is None:
            continue
        seen.add(id(p))
        parts = name.removeprefix("module.").split(".")
        key = f"layers.{int(parts[1]):02d}" if parts[0] == "layers" else parts[0]
        groups.setdefault(key, []).append(p)
    norm = torch.nn.utils.get_total_norm
    return {k: (_full(norm([p.grad for p in ps])), _full(norm([p.detach() for p in ps])))  # type: ignore[misc]
            for k, ps in sorted(groups.items())}


def optimizer_step(accelerator: Accelerator, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                   micro_batches: Sequence[tuple[torch.Tensor, ...]], grad_clip: float, *, z_loss: float = 0.0,
                   channel_sums: torch.Tensor | None = None,
                   mask_fn: Callable[[torch.Tensor], Any] | None = None, with_layer_norms: bool = False) -> StepResult:
    """Accumulate gradients over the micro-batches (gradient sync on the last only), clip, step; nothing waits for
    the device.

    A micro-batch is (inputs, targets) or (inputs, targets, channel index per row); with ``channel_sums`` (channels
    x 2) each row's summed loss and target count are added to its channel's row. The objective per micro-batch is
    the token-mean cross-entropy plus ``z_loss`` x the mean squared log-partition; ``mask_fn`` makes the attention
    mask from the inputs (a ``trainer.model.DocumentMask``)."""
    loss_sum = torch.zeros((), device=accelerator.device)
    n_micro = len(micro_batches)
    for micro, tensors in enumerate(micro_batches):
        x, y, *rest = (v.to(accelerator.device, non_blocking=True) for v in tensors)
        with nullcontext() if micro == n_micro - 1 else accelerator.no_sync(model):
            ce, lse = model(x, y, reduction="none", mask=mask_fn(x) if mask_fn else None)
            counts = (y != IGNORE_INDEX).sum(1)
            n = counts.sum().clamp(min=1)
            loss = ce.sum() / n
            objective = loss + z_loss * lse.square().sum() / n if z_loss else loss
            accelerator.backward(objective / n_micro)
        loss_sum += loss.detach()
        if channel_sums is not None and rest:
            channel_sums.index_add_(0, rest[0], torch.stack([ce.detach().sum(1).double(), counts.double()], 1))
    norms = layer_norms(model) if with_layer_norms else None
    norm = accelerator.clip_grad_norm_(model.parameters(), grad_clip or float("inf"))
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return StepResult(loss_sum / n_micro, torch.as_tensor(norm).detach(), norms)
