"""Size a run before launching it: parameters, training FLOPs (C = 6·N·D), memory per GPU, inference KV cache.

    python -m trainer.estimate --config trainer/configs/llama125m.yaml --gpus 8

Memory assumes AdamW with fp32 master weights and gradients (Accelerate's bf16 autocast) and no activation
checkpointing; ``--fsdp`` shards parameters, gradients and optimizer states over the GPUs.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from trainer.flops import PEAK_BF16_FLOPS, flops_per_token, kv_cache_bytes, param_count, training_memory

if TYPE_CHECKING:
    from trainer.config import TrainConfig


def estimate(cfg: TrainConfig, *, gpus: int, fsdp: bool, mfu: float, peak: float) -> dict:
    """The numbers ``main`` prints, as a dict: ``gpus`` data-parallel devices (``fsdp``: sharded), at model FLOPs
    utilisation ``mfu`` of ``peak`` FLOP/s per device."""
    a, d = cfg.model, cfg.data
    tokens = cfg.run.steps * cfg.tokens_per_step(gpus)
    n = param_count(a)
    mem = training_memory(a, d.micro_batch, d.seq_len, shards=gpus if fsdp else 1)
    total_flops = flops_per_token(a, d.seq_len) * tokens
    return {"params": n, "tokens": tokens, "flops_6nd": 6 * n * tokens, "flops": total_flops,
            "hours": total_flops / (mfu * peak * gpus) / 3600, "memory": mem,
            "kv_cache": kv_cache_bytes(a, a.max_seq_len)}


def _gib(n: float) -> str:
    return f"{n / 2**30:8.2f} GiB"


EXAMPLES = """examples (dp-estimate is the same command as python -m trainer.estimate):
  dp-estimate --config trainer/configs/llama125m.yaml --gpus 8
  dp-estimate --config trainer/configs/llama350m.yaml --gpus 8 --fsdp --set data.micro_batch=16
"""


def main(argv: list[str] | None = None) -> int:
    from data_platform.cli import error
    from data_platform.yaml_lines import ConfigError
    from trainer.config import load_config

    p = argparse.ArgumentParser(prog="python -m trainer.estimate", description=__doc__.splitlines()[0],
                                epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", required=True)
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--gpus", type=int, default=1)
    p.add_argument("--fsdp", action="store_true", help="shard parameters, gradients and optimizer states")
    p.add_argument("--mfu", type=float, default=0.4, help="assumed model FLOPs utilisation for the time")
    p.add_argument("--peak-flops", type=float, default=dict(PEAK_BF16_FLOPS)["H100"], help="per GPU (H100 bf16)")
    args = p.parse_args(argv)
    try:
        cfg = load_config(args.config, args.overrides)
    except ConfigError as err:
        return error(err)
    e = estimate(cfg, gpus=args.gpus, fsdp=args.fsdp, mfu=args.mfu, peak=args.peak_flops)
    m = e["memory"]
    print(f"parameters        {e['params']:,} ({e['params'] / 1e6:.1f}M)")
    print(f"training tokens   {e['tokens']:,} ({cfg.run.steps} steps x {cfg.data.micro_batch} x "
          f"{cfg.data.grad_accum} x {args.gpus} GPUs x {cfg.data.seq_len})")
    print(f"FLOPs 6·N·D       {e['flops_6nd']:.3e}")
    print(f"FLOPs + attention {e['flops']:.3e}  ~{e['hours']:.2f} h on {args.gpus} GPU(s) at "
          f"{args.mfu:.0%} MFU of {args.peak_flops:.3g} FLOP/s")
    print(f"memory per GPU ({'FSDP' if args.fsdp else 'DDP'}, micro-batch {cfg.data.micro_batch}):")
    for name in ("params", "grads", "optimizer", "activations", "logits"):
        print(f"  {name:<15} {_gib(getattr(m, name))}")
    print(f"  {'total':<15} {_gib(m.total)}")
    print(f"KV cache (inference, bf16, 1 x {cfg.model.max_seq_len} tokens) {_gib(e['kv_cache'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
