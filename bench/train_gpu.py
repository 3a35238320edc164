"""Trainer throughput on GPUs: tokens/s and MFU of the ~125M config (bf16, seq 1024), eager and torch.compile on
one GPU, and DDP scaling efficiency on two.

Each case is a separate process (a fresh CUDA context, its own compilation) that builds ``trainer.model`` and runs
``trainer.step.optimizer_step`` — the training loop's own step with Accelerate, fused AdamW, gradient accumulation
and clipping — on uniformly random tokens (throughput does not depend on the text). The first ``--warmup`` steps
(compilation included) are not timed; the device is synchronised every step by the loss ``.item()``, as in
training. Scaling efficiency = N-GPU tokens/s / (N x 1-GPU tokens/s), both compiled. Peak memory
(``torch.cuda.max_memory_allocated``) is reported next to ``trainer.flops.training_memory``'s estimate.

Needs torch, accelerate and pyyaml (no pydantic). On the GPU machine, from the repository root:

    python bench/train_gpu.py --out bench/results/train_gpu.md            # about 4-6 minutes
    python bench/train_gpu.py --tiny --out /tmp/train_gpu_tiny.md         # CPU smoke test of the code path
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _model_args(config: Path, seq_len: int):
    import yaml

    from trainer.model import ModelArgs

    section = yaml.safe_load(config.read_text())["model"]
    return ModelArgs(**{**section, "max_seq_len": max(seq_len, section.get("max_seq_len", seq_len))})


def worker(args: argparse.Namespace) -> None:
    """One case, in this process (and its torchrun siblings); rank 0 appends a JSON line to ``--result``."""
    import torch

    from trainer.flops import flops_per_token, mfu, peak_flops, training_memory
    from trainer.model import Transformer, count_params
    from trainer.step import make_accelerator, make_optimizer, optimizer_step

    accelerator = make_accelerator("auto", "ddp")
    a = _model_args(Path(args.config), args.seq_len)
    torch.manual_seed(0)
    model = Transformer(a)
    n_params = count_params(model)
    if args.compile:
        model.compile()
    optimizer = make_optimizer(model, 3e-4, (0.9, 0.95), 1e-8, 0.1, accelerator.device)
    model, optimizer = accelerator.prepare(model, optimizer)
    gen = torch.Generator().manual_seed(accelerator.process_index)

    def batches():
        while True:
            seq = torch.randint(0, a.vocab_size, (args.micro_batch, args.seq_len + 1), generator=gen)
            yield seq[:, :-1], seq[:, 1:]

    stream = batches()
    for _ in range(args.warmup):
        optimizer_step(accelerator, model, optimizer, stream, args.grad_accum, 1.0)
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    for _ in range(args.steps):
        loss, _ = optimizer_step(accelerator, model, optimizer, stream, args.grad_accum, 1.0)
    elapsed = time.perf_counter() - start
    world = accelerator.num_processes
    tok_s = args.steps * args.grad_accum * args.micro_batch * args.seq_len * world / elapsed
    cuda = torch.cuda.is_available()
    peak = peak_flops(torch.cuda.get_device_name()) if cuda else None
    if accelerator.is_main_process:
        row = {"case": args.case, "gpus": world, "compile": args.compile, "params": n_params,
               "tokens_per_s": tok_s, "mfu": mfu(tok_s, flops_per_token(a, args.seq_len), peak, world),
               "step_s": elapsed / args.steps, "loss": loss,
               "peak_mem_gib": torch.cuda.max_memory_allocated() / 2**30 if cuda else None,
               "est_mem_gib": training_memory(a, args.micro_batch, args.seq_len).total / 2**30,
               "device": torch.cuda.get_device_name() if cuda else "cpu", "torch": torch.__version__}
        with open(args.result, "a") as f:
            f.write(json.dumps(row) + "\n")
    accelerator.end_training()


def _run_case(case: str, gpus: int, compile_: bool, args: argparse.Namespace, result: Path) -> None:
    common = ["--worker", "--case", case, "--config", args.config, "--seq-len", str(args.seq_len),
              "--micro-batch", str(args.micro_batch), "--grad-accum", str(args.grad_accum),
              "--steps", str(args.steps), "--warmup", str(args.warmup), "--result", str(result)]
    common += ["--compile"] if compile_ else []
    script = str(Path(__file__).resolve())
    cmd = ([sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={gpus}", script]
           if gpus > 1 else [sys.executable, script])
    print("$", " ".join(cmd + common), flush=True)
    started = time.perf_counter()
    done = subprocess.run(cmd + common, cwd=ROOT)
    print(f"  {case}: exit {done.returncode} after {time.perf_counter() - started:.0f} s", flush=True)


def _table(rows: list[dict], args: argparse.Namespace, cmdline: str) -> str:
    def fmt(v, spec):
        return "n/a" if v is None else format(v, spec)

    lines = ["# Trainer throughput (bench/train_gpu.py)", "",
             f"Command: `{cmdline}`", "",
             f"Model: `{args.config}` ({rows[0]['params'] / 1e6:.1f}M parameters), sequence {args.seq_len}, "
             f"micro-batch {args.micro_batch} x {args.grad_accum} accumulation per GPU, {args.steps} timed steps "
             f"after {args.warmup} untimed; device {rows[0]['device']}, torch {rows[0]['torch']}, "
             f"bf16 autocast on GPU. Random tokens; the step is `trainer.step.optimizer_step`.", "",
             "| case | GPUs | compile | tokens/s | tokens/s per GPU | MFU | step (s) | peak memory GiB | "
             "estimated GiB |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['case']} | {r['gpus']} | {r['compile']} | {r['tokens_per_s']:,.0f} | "
                     f"{r['tokens_per_s'] / r['gpus']:,.0f} | {fmt(r['mfu'], '.1%')} | {r['step_s']:.3f} | "
                     f"{fmt(r['peak_mem_gib'], '.1f')} | {r['est_mem_gib']:.1f} |")
    one = next((r for r in rows if r["case"] == "gpu1_compiled"), None)
    for r in rows:
        if r["gpus"] > 1 and one:
            eff = r["tokens_per_s"] / (r["gpus"] * one["tokens_per_s"])
            lines += ["", f"{r['gpus']}-GPU DDP scaling efficiency (compiled): **{eff:.1%}**"]
    return "\n".join(lines) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(ROOT / "bench" / "results" / "train_gpu.md"))
    p.add_argument("--config", default=str(ROOT / "trainer" / "configs" / "llama125m.yaml"))
    p.add_argument("--seq-len", type=int, default=1024)
    p.add_argument("--micro-batch", type=int, default=32)
    p.add_argument("--grad-accum", type=int, default=2)
    p.add_argument("--steps", type=int, default=20, help="timed optimizer steps per case")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps first (compilation)")
    p.add_argument("--gpus", type=int, default=None, help="GPUs for the DDP case (default: all, at most 2)")
    p.add_argument("--tiny", action="store_true", help="CPU smoke test: tiny config, few steps")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--case", help=argparse.SUPPRESS)
    p.add_argument("--compile", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--result", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        worker(args)
        return 0
    cmdline = " ".join(["python", "bench/train_gpu.py", *sys.argv[1:]])
    if args.tiny:
        args.config = str(ROOT / "trainer" / "configs" / "tiny.yaml")
        args.seq_len, args.micro_batch, args.grad_accum, args.steps, args.warmup = 64, 4, 2, 3, 1
    import torch

    gpus = args.gpus or (min(2, torch.cuda.device_count()) if torch.cuda.is_available() else 2)
    out = Path(args.out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    result = out.with_suffix(".jsonl")  # one JSON line per finished case, kept next to the table
    result.unlink(missing_ok=True)
    os.environ.setdefault("OMP_NUM_THREADS", "1" if args.tiny else "8")
    _run_case("gpu1_eager", 1, False, args, result)
    _run_case("gpu1_compiled", 1, True, args, result)
    if gpus > 1:
        _run_case(f"ddp{gpus}_compiled", gpus, True, args, result)
    rows = [json.loads(ln) for ln in result.read_text().splitlines()] if result.exists() else []
    if not rows:
        print("no case finished", file=sys.stderr)
        return 1
    out.write_text(_table(rows, args, cmdline))
    print(out.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
