"""One optimizer step and what it needs (Accelerator, AdamW), shared by ``trainer.train`` and the GPU bench.

No pydantic here: the bench runs this module on machines that only have torch and accelerate.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import nullcontext
from typing import TYPE_CHECKING

import torch

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


def optimizer_step(accelerator: Accelerator, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                   micro_batches: Iterator[tuple[torch.Tensor, ...]], n_micro: int,
                   grad_clip: float) -> tuple[float, float]:
    """Accumulate gradients over ``n_micro`` micro-batches (gradient sync on the last only), clip, step.

    Returns the mean loss over micro-batches and processes, and the gradient norm before clipping."""
    loss_sum = torch.zeros((), device=accelerator.device)
    for micro in range(n_micro):
        x, y = (v.to(accelerator.device, non_blocking=True) for v in next(micro_batches))
        with nullcontext() if micro == n_micro - 1 else accelerator.no_sync(model):
            loss = model(x, y)
            accelerator.backward(loss / n_micro)
        loss_sum += loss.detach()
    norm = accelerator.clip_grad_norm_(model.parameters(), grad_clip or float("inf"))
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return accelerator.reduce(loss_sum / n_micro, "mean").item(), float(norm)
