"""A larger data ablation on one GPU: two (or more) data versions x seeds, the ~50M config in bf16, then the
comparison (``comparison.md``/``.json``, ``curves.png``) and ``bench.md`` (hardware, wall time, tokens/s per run).

It writes an ablation YAML and runs ``trainer.ablate`` on it, so the runs are exactly what
``python -m trainer.ablate`` does. Needs torch, accelerate, tokenizers, tensorboard, pyarrow, pyyaml and pydantic
(carry its wheel to the GPU machine). Inputs are folders of parquet or the pipeline's ``manifest.json``; the
tokenizer is a ``tokenizer.json`` (e.g. the one an ablation on CPU trained in ``<out>/tokenizer``).

    python bench/ablation_gpu.py --version raw=out/pipeline/sample_raw/manifest.json \\
        --version cleaned=out/pipeline/sample/manifest.json --eval out/pipeline/sample/manifest.json \\
        --tokenizer out/ablations/sample/tokenizer/tokenizer.json --out bench/results/ablation_gpu
    python bench/ablation_gpu.py ... --tiny --work /tmp/abl_tiny --out /tmp/abl_tiny_result   # CPU path check

Defaults: 20M training tokens per run (610 steps of 32 x 1024), seeds 0 1 2, eval on 20 documents per source
(removed from every version's training data): about 5 minutes on one H100 (six runs, eager). ``bench.md`` lists
the epochs each run read: far beyond ~4 (a small corpus), the comparison measures memorisation more than data
quality; lower ``--tokens`` or use bigger inputs.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--version", action="append", required=True, metavar="NAME=INPUT",
                   help="a data version (parquet folder/file or manifest.json); the first is the baseline")
    p.add_argument("--eval", nargs="+", required=True, help="parquet inputs of the evaluation set")
    p.add_argument("--eval-docs-per-channel", type=int, default=20, help="documents per source evaluated")
    p.add_argument("--tokenizer", required=True, help="tokenizer.json shared by every version")
    p.add_argument("--out", required=True, help="folder for comparison.md/json, curves.png, bench.md")
    p.add_argument("--work", default="/tmp/ablation_gpu", help="runs, tokens and checkpoints")
    p.add_argument("--tokens", type=int, default=20_000_000, help="training tokens per run")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="training config override for every run, e.g. run.compile=true")
    p.add_argument("--tiny", action="store_true", help="tiny CPU config and budget: checks the code path")
    return p.parse_args(argv)


def ablation_config(args: argparse.Namespace) -> dict:
    """The ablation YAML this bench runs."""
    versions = []
    for item in args.version:
        name, sep, inputs = item.partition("=")
        if not sep:
            raise SystemExit(f"error: --version {item!r}: expected NAME=INPUT")
        versions.append({"name": name, "inputs": [inputs]})
    config = "trainer/configs/tiny.yaml" if args.tiny else "trainer/configs/llama50m.yaml"
    overrides = ["data.channel=source", "log.progress=false", "checkpoint.every=0", "checkpoint.keep=1"]
    if args.tiny:
        overrides += ["data.seq_len=32", "data.micro_batch=4", "data.grad_accum=1"]
    return {"out": args.work, "versions": versions,
            "training": {"config": str(ROOT / config), "overrides": overrides + args.overrides},
            "tokenizer": {"path": args.tokenizer},
            "eval": {"inputs": args.eval, "docs_per_channel": args.eval_docs_per_channel, "points": 10,
                     "separate": False},  # sampled from the cleaned version: the sample has no third source
            # a throughput and memorisation benchmark: it repeats the small sample on purpose
            "allow_repeat": True,
            "token_budget": 32 * 4 * 20 if args.tiny else args.tokens, "seeds": args.seeds}


def machine() -> dict:
    import torch

    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else "none (CPU)"
    return {"gpu": gpu, "gpus_visible": torch.cuda.device_count(), "torch": torch.__version__,
            "python": platform.python_version(), "os": platform.platform()}


def report(args: argparse.Namespace, result: dict, wall: float, argv: list[str]) -> str:
    from bench._machine import git_state

    lines = ["# Data ablation on GPU", "", f"Command: `python bench/ablation_gpu.py {' '.join(argv)}`", "",
             f"Code: {git_state()}. Machine: " + ", ".join(f"{k} {v}" for k, v in machine().items()) + ".", "",
             f"{len(result['versions'])} versions x {len(result['seed_list'])} seeds, {result['params']:,} "
             f"parameters, {result['tokens_per_run']:,} tokens per run ({result['steps']} steps); wall time "
             f"{wall:.0f} s for everything (tokenization, training, evaluation, checkpoints; runs already complete in "
             f"{args.work} are skipped).", "",
             "| version | seed | tokens/s | MFU | epochs (most-read channel) | final held-out loss |",
             "|---|---|---|---|---|---|"]
    for name, v in result["versions"].items():
        for run in v["runs"]:
            final = json.loads((Path(run) / "final.json").read_text())
            tok_s, util = final.get("tokens_per_s"), final.get("mfu")
            epochs = max(final["epochs"].values())
            lines.append(f"| {name} | {Path(run).name} | {f'{tok_s:,.0f}' if tok_s else '-'} | "
                         f"{f'{util:.1%}' if util else '-'} | {epochs:.2f} | {final['eval']['overall']['loss']:.4f} |")
    return "\n".join(lines) + "\n\nThe comparison: `comparison.md` (verdict rule inside), `curves.png`.\n"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = _args(argv)
    from trainer.ablate import run_ablation
    from trainer.ablation_config import load_ablation

    work, out = Path(args.work), Path(args.out)
    work.mkdir(parents=True, exist_ok=True)
    (work / "ablation.yaml").write_text(yaml.safe_dump(ablation_config(args), sort_keys=False))
    started = time.perf_counter()
    result = run_ablation(load_ablation(work / "ablation.yaml"))
    wall = time.perf_counter() - started
    out.mkdir(parents=True, exist_ok=True)
    for name in ("comparison.json", "comparison.md", "curves.png", "ablation.yaml"):
        shutil.copy(work / name, out / name)
    (out / "bench.md").write_text(report(args, result, wall, argv))
    print((out / "comparison.md").read_text() + (out / "bench.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
