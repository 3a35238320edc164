"""Trainer throughput on one GPU: the ~125M config (bf16, seq 1024, compiled), the training step on random tokens
next to the real data path, with and without document masking.

Cases, each a separate process (a fresh CUDA context, its own compilation):

- ``random``: ``trainer.step.optimizer_step`` — the training loop's own step with Accelerate, fused AdamW, gradient
  accumulation and clipping — on uniformly random tokens, prepared on the device (no data path at all);
- ``real``: ``trainer.train.train`` itself on a packed token folder (``--tokens``): the mixture sampler, the
  background loader into pinned memory, per-channel losses, layer norms every log line, held-out evaluation every
  ``--eval-every`` steps; tokens/s and MFU are the trainer's own log values (optimizer-step time only, the first
  log window left out: compilation);
- ``real_docmask``: the same with ``data.document_masking: true`` (flex attention with a block mask per batch);
  MFU counts causal attention FLOPs, so compare tokens/s;
- ``mask_check``: on real packed sequences, the compiled model's loss under the flex-attention block mask against the
  uncompiled model's under a dense boolean mask (SDPA), same weights: the relative difference;
- ``random_ddp`` (asked for with ``--cases``, on a machine of several GPUs): ``random`` on ``--gpus`` processes
  through ``torch.distributed.run``; scaling efficiency = its tokens/s / (GPUs x ``random``'s).

Peak memory (``torch.cuda.max_memory_allocated``) is reported next to ``trainer.flops.training_memory``'s estimate.
Needs torch, accelerate, pyyaml, tokenizers, tensorboard and pydantic. On the GPU machine, from the repository root:

    python bench/train_tokens.py --out out/bench_tokens                                   # here: the packed tokens
    python bench/train_gpu.py --tokens out/bench_tokens/tokens --out bench/results/train_gpu.md   # ~6 minutes
    python bench/train_gpu.py --tiny --tokens /tmp/tok --out /tmp/train_gpu_tiny.md             # CPU smoke test
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CASES = ("random", "real", "real_docmask", "mask_check", "random_ddp")


def _model_args(config: Path, seq_len: int):
    from trainer.model import ModelArgs

    section = yaml.safe_load(config.read_text())["model"]
    return ModelArgs(**{**section, "max_seq_len": max(seq_len, section.get("max_seq_len", seq_len))})


def random_case(args: argparse.Namespace) -> dict:
    """The training step alone on random tokens."""
    import torch

    from trainer.flops import flops_per_token, mfu, peak_flops
    from trainer.model import Transformer, count_params
    from trainer.step import make_accelerator, make_optimizer, optimizer_step

    accelerator = make_accelerator("auto", "ddp")
    world = accelerator.num_processes
    a = _model_args(Path(args.config), args.seq_len)
    torch.manual_seed(0)
    model = Transformer(a)
    n_params = count_params(model)
    if not args.eager:
        model.compile()
    optimizer = make_optimizer(model, 3e-4, (0.9, 0.95), 1e-8, 0.1, accelerator.device)
    model, optimizer = accelerator.prepare(model, optimizer)
    gen = torch.Generator(device=accelerator.device).manual_seed(accelerator.process_index)

    def micro_batches():
        seq = torch.randint(0, a.vocab_size, (args.grad_accum, args.micro_batch, args.seq_len + 1),
                            generator=gen, device=accelerator.device)
        return [(s[:, :-1], s[:, 1:]) for s in seq]

    for _ in range(args.warmup):
        optimizer_step(accelerator, model, optimizer, micro_batches(), 1.0).loss.item()
    start = time.perf_counter()
    for _ in range(args.steps):
        result = optimizer_step(accelerator, model, optimizer, micro_batches(), 1.0)
    loss = result.loss.item()  # waits for the device: the steps' real time
    elapsed = time.perf_counter() - start
    tok_s = args.steps * args.grad_accum * args.micro_batch * args.seq_len * world / elapsed
    peak = peak_flops(torch.cuda.get_device_name()) if torch.cuda.is_available() else None
    return {"params": n_params, "tokens_per_s": tok_s, "mfu": mfu(tok_s, flops_per_token(a, args.seq_len), peak, world),
            "loss": loss, "steps": args.steps, "gpus": world, "main": accelerator.is_main_process}


def real_case(args: argparse.Namespace, masking: bool) -> dict:
    """``trainer.train.train`` on the packed tokens; speed from its own train records."""
    from trainer.config import load_config
    from trainer.train import train

    out = Path(args.work) / args.case
    overrides = [f"data.tokens={args.tokens}", "data.inputs=[]", f"data.tokenizer={args.tokenizer}",
                 f"data.seq_len={args.seq_len}", f"data.micro_batch={args.micro_batch}",
                 f"data.grad_accum={args.grad_accum}", f"data.document_masking={str(masking).lower()}",
                 f"run.out={out}", f"run.steps={args.warmup + args.steps}",
                 f"run.compile={str(not args.eager).lower()}",
                 f"log.every={args.log_every}", "log.progress=false", f"eval.every={args.eval_every}",
                 "eval.choice_items=0", "checkpoint.every=0", "checkpoint.resume=never", "data.heldout_docs=20"]
    if args.tiny:
        overrides += ["run.precision=auto", "data.max_epochs=1000"]
    cfg = load_config(args.config, overrides)
    result = train(cfg)
    rows = [json.loads(ln) for ln in (out / "metrics.jsonl").read_text().splitlines()]
    speed = [r for r in rows if r["kind"] == "train" and r.get("tokens_per_s")][1:]  # first window: compilation
    return {"params": result["params"], "tokens_per_s": statistics.mean(r["tokens_per_s"] for r in speed),
            "mfu": statistics.mean(r["mfu"] for r in speed) if speed[0].get("mfu") else None,
            "loss": result["train_loss"], "eval_loss": result["eval"]["overall"]["loss"],
            "steps": cfg.run.steps, "windows": len(speed)}


def mask_check(args: argparse.Namespace) -> dict:
    """Flex block mask (compiled model) vs dense mask (eager SDPA) on real packed sequences."""
    import torch

    from trainer.data import TokenData
    from trainer.loader import rows
    from trainer.model import DocumentMask, Transformer, count_params

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    data = TokenData(args.tokens)
    streams = data.streams("train")
    picks = [(c, i) for c in sorted(streams) for i in range(2)][: args.micro_batch]
    x, y, _ = (t.to(device) for t in rows(streams, picks, args.seq_len, {c: 0 for c in streams}))
    torch.manual_seed(0)
    model = Transformer(_model_args(Path(args.config), args.seq_len)).to(device)
    compiled = torch.compile(model)
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    with torch.no_grad(), torch.autocast(device.type, dtype):
        flex = compiled(x, y, mask=DocumentMask(data.eos_id, flex=device.type == "cuda")(x)).float()
        dense = model(x, y, mask=DocumentMask(data.eos_id, flex=False)(x)).float()
        causal = model(x, y).float()
    return {"params": count_params(model), "tokens_per_s": None, "mfu": None, "loss": float(flex),
            "dense_loss": float(dense), "causal_loss": float(causal),
            "documents_per_row": float((x == data.eos_id).sum(1).float().mean()) + 1,
            "mask_rel_diff": abs(float(flex) - float(dense)) / float(dense)}


def worker(args: argparse.Namespace) -> None:
    """One case in this process; appends a JSON line to ``--result``."""
    import torch

    from trainer.flops import training_memory

    cuda = torch.cuda.is_available()
    if args.case == "mask_check":
        row = mask_check(args)
    else:
        row = random_case(args) if args.case.startswith("random") else real_case(args, args.case == "real_docmask")
    if not row.pop("main", True):
        return
    a = _model_args(Path(args.config), args.seq_len)
    row.update(case=args.case, compile=not args.eager, micro_batch=args.micro_batch, grad_accum=args.grad_accum,
               peak_mem_gib=torch.cuda.max_memory_allocated() / 2**30 if cuda else None,
               est_mem_gib=training_memory(a, args.micro_batch, args.seq_len).total / 2**30,
               device=torch.cuda.get_device_name() if cuda else "cpu", torch=torch.__version__)
    with open(args.result, "a") as f:
        f.write(json.dumps(row) + "\n")


def _run_case(case: str, args: argparse.Namespace, result: Path) -> None:
    script = str(Path(__file__).resolve())
    launch = ([sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={args.gpus}", script]
              if case == "random_ddp" else [sys.executable, script])
    cmd = [*launch, "--worker", "--case", case, "--result", str(result)]
    for name in ("config", "tokens", "tokenizer", "work", "seq_len", "micro_batch", "grad_accum", "steps", "warmup",
                 "log_every", "eval_every"):
        cmd += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
    cmd += ["--eager"] * args.eager + ["--tiny"] * args.tiny
    print("$", " ".join(cmd), flush=True)
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT)
    print(f"  {case}: exit {done.returncode} after {time.perf_counter() - started:.0f} s", flush=True)


def _table(rows: list[dict], args: argparse.Namespace, cmdline: str) -> str:
    def fmt(v, spec):
        return "n/a" if v is None else format(v, spec)

    r0 = rows[0]
    lines = ["# Trainer throughput (bench/train_gpu.py)", "", f"Command: `{cmdline}`", "",
             f"Model: `{args.config}` ({r0['params'] / 1e6:.1f}M parameters), sequence {args.seq_len}, micro-batch "
             f"{args.micro_batch} x {args.grad_accum} accumulation, compiled: {not args.eager}; device "
             f"{r0['device']}, torch {r0['torch']}, bf16 autocast. `random`: the step on random tokens "
             f"({args.steps} timed after {args.warmup}); `real`: `trainer.train` on `{args.tokens}` "
             f"({args.warmup + args.steps} steps, log every {args.log_every}, eval every {args.eval_every}); "
             "`real_docmask`: with document masking.", "",
             "| case | GPUs | tokens/s | MFU | vs random | peak memory GiB | estimated GiB | train loss | "
             "held-out loss |", "|---|---|---|---|---|---|---|---|---|"]
    base = next((r["tokens_per_s"] for r in rows if r["case"] == "random"), None)
    checks = [r for r in rows if r["case"] == "mask_check"]
    rows = [r for r in rows if r["case"] != "mask_check"]
    for r in rows:
        lines.append(f"| {r['case']} | {r.get('gpus', 1)} | {r['tokens_per_s']:,.0f} | {fmt(r['mfu'], '.1%')} | "
                     f"{fmt(r['tokens_per_s'] / base if base else None, '.3f')} | {fmt(r['peak_mem_gib'], '.1f')} | "
                     f"{r['est_mem_gib']:.1f} | {fmt(r['loss'], '.3f')} | {fmt(r.get('eval_loss'), '.3f')} |")
    for c in checks:
        lines += ["", f"Mask check on {args.micro_batch} real sequences ({c['documents_per_row']:.2f} documents per "
                      f"row): loss with the flex block mask (compiled) {c['loss']:.5f}, with the dense mask (SDPA) "
                      f"{c['dense_loss']:.5f}, relative difference {c['mask_rel_diff']:.1e}; causal without a mask "
                      f"{c['causal_loss']:.5f}."]
    real = {r["case"]: r["tokens_per_s"] for r in rows}
    if base and "random_ddp" in real:
        eff = real["random_ddp"] / (args.gpus * base)
        lines += ["", f"{args.gpus}-GPU DDP scaling efficiency (compiled): **{eff:.1%}**"]
    if "real" in real and "real_docmask" in real:
        lines += ["", f"Document masking changes the real data path's tokens/s by "
                      f"**{real['real_docmask'] / real['real'] - 1:+.1%}** ({real['real_docmask']:,.0f} vs "
                      f"{real['real']:,.0f})."]
    return "\n".join(lines) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(ROOT / "bench" / "results" / "train_gpu.md"))
    p.add_argument("--config", default=str(ROOT / "trainer" / "configs" / "llama125m.yaml"))
    p.add_argument("--tokens", help="packed token folder for the real cases (python -m trainer.pack)")
    p.add_argument("--tokenizer", default="", help="its tokenizer.json (bits per byte; optional)")
    p.add_argument("--work", default="/tmp/train_gpu", help="run folders of the real cases")
    p.add_argument("--cases", nargs="+", default=list(CASES[:4]), choices=CASES)
    p.add_argument("--seq-len", type=int, default=1024)
    p.add_argument("--micro-batch", type=int, default=None, help="default: the config's data.micro_batch")
    p.add_argument("--grad-accum", type=int, default=None, help="default: the config's data.grad_accum")
    p.add_argument("--steps", type=int, default=200, help="timed optimizer steps per case")
    p.add_argument("--warmup", type=int, default=20, help="untimed steps first (compilation)")
    p.add_argument("--log-every", type=int, default=20)
    p.add_argument("--eval-every", type=int, default=100)
    p.add_argument("--gpus", type=int, default=2, help="processes of the random_ddp case")
    p.add_argument("--eager", action="store_true", help="no torch.compile")
    p.add_argument("--tiny", action="store_true", help="CPU smoke test: tiny config, few steps, eager")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--case", help=argparse.SUPPRESS)
    p.add_argument("--result", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        worker(args)
        return 0
    cmdline = " ".join(["python", "bench/train_gpu.py", *sys.argv[1:]])
    if args.tiny:
        args.config = str(ROOT / "trainer" / "configs" / "tiny.yaml")
        args.seq_len, args.micro_batch, args.grad_accum, args.steps, args.warmup = 32, 4, 2, 6, 2
        args.log_every, args.eval_every, args.eager = 2, 4, True
    data = yaml.safe_load(Path(args.config).read_text())["data"]
    args.micro_batch = args.micro_batch or data["micro_batch"]
    args.grad_accum = args.grad_accum or data["grad_accum"]
    if any(c != "random" for c in args.cases) and not args.tokens:
        p.error("--tokens is needed for the real cases")
    out = Path(args.out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    result = out.with_suffix(".jsonl")  # one JSON line per finished case, kept next to the table
    result.unlink(missing_ok=True)
    os.environ.setdefault("OMP_NUM_THREADS", "1" if args.tiny else "8")
    for case in args.cases:
        _run_case(case, args, result)
    rows = [json.loads(ln) for ln in result.read_text().splitlines()] if result.exists() else []
    if not rows:
        print("no case finished", file=sys.stderr)
        return 1
    out.write_text(_table(rows, args, cmdline))
    print(out.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
