"""Ablation runner: train every data version x seed with identical settings, then compare held-out losses.

    python -m trainer.ablate --config ablations/sample.yaml                  # CPU or one GPU
    accelerate launch -m trainer.ablate --config ablations/sample.yaml       # several GPUs: every process runs
                                                                             # the same loop, runs in sequence

Layout of ``out``::

    tokenizer/tokenizer.json       when the tokenizer is trained by the runner (once, on tokenizer.train_on)
    eval/heldout.parquet           the sampled evaluation set (with eval.docs_per_channel)
    tokens/eval, tokens/<version>  packed tokens; evaluation ids are left out of every version's tokens
    runs/<version>/seed<k>/        one trainer run each (metrics.jsonl, checkpoints/, final.json, _COMPLETE)
    comparison.json, comparison.md, curves.png

A run with ``_COMPLETE`` is skipped; an interrupted one resumes from its last checkpoint. A run folder holding
another configuration is refused rather than mixed.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import torch

from data_platform.yaml_lines import ConfigError
from trainer import compare
from trainer.ablation_config import AblationConfig, VersionSpec, load_ablation
from trainer.config import TrainConfig, load_config
from trainer.inputs import resolve

COMPLETE = "_COMPLETE"


class AblationError(ValueError):
    """An ablation folder cannot be used as asked."""


def _state():
    """Accelerate's process state (one process, or one per GPU under ``accelerate launch``)."""
    from accelerate import PartialState

    return PartialState(cpu=not torch.cuda.is_available())


def tokenizer_path(cfg: AblationConfig) -> str:
    """The shared tokenizer: the configured file, or the one the runner trains in ``<out>/tokenizer``."""
    return cfg.tokenizer.path or str(Path(cfg.out) / "tokenizer" / "tokenizer.json")


def prepare_tokenizer(cfg: AblationConfig) -> None:
    """Train the shared tokenizer on ``tokenizer.train_on`` unless it was trained with the same settings."""
    spec = cfg.tokenizer
    if spec.path is not None:
        return
    from trainer import tokenizer as T

    path = Path(tokenizer_path(cfg))
    meta, wanted = path.parent / "spec.json", spec.model_dump_json()
    if not (path.exists() and meta.exists() and meta.read_text() == wanted):
        groups = T.sample(resolve(spec.train_on), "source", per_group=spec.docs_per_source, max_chars=spec.max_chars,
                          seed=0)
        path.parent.mkdir(parents=True, exist_ok=True)
        T.build((t for texts in groups.values() for t in texts), spec.vocab_size).save(str(path))
        meta.write_text(wanted)


def eval_inputs(cfg: AblationConfig) -> list[str]:
    """The evaluation set's inputs: as configured, or the sample written by ``prepare_eval``."""
    if cfg.eval.docs_per_channel is None:
        return list(cfg.eval.inputs)
    return [str(Path(cfg.out) / "eval" / "heldout.parquet")]


def prepare_eval(cfg: AblationConfig, channel: str) -> None:
    """With ``eval.docs_per_channel``: write that many documents per channel of the eval inputs (smallest id
    hashes, at most half a channel) to ``eval/heldout.parquet``."""
    if cfg.eval.docs_per_channel is None:
        return
    from trainer.pack import pick_heldout

    files = resolve(cfg.eval.inputs)
    ids = set().union(*pick_heldout(files, channel, cfg.eval.docs_per_channel).values())
    tables = []
    for f in files:
        names = pq.ParquetFile(f).schema_arrow.names
        t = pq.read_table(f, columns=[c for c in ("id", "text", "source", "lang") if c in names])
        tables.append(t.filter(pc.is_in(pc.cast(t["id"], pa.string()), value_set=pa.array(sorted(ids), pa.string()))))
    table = pa.concat_tables(tables, promote_options="default").sort_by("id")
    target = Path(eval_inputs(cfg)[0])
    if target.exists() and pq.read_table(target).equals(table):
        return  # unchanged: keep the file its packed tokens were fingerprinted from
    target.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, target)


def run_overrides(cfg: AblationConfig, version: VersionSpec, seed: int, steps: int, eval_every: int,
                  eval_sequences: int) -> list[str]:
    """The overrides that turn the one training config into the run of ``version`` x ``seed``: everything but
    the data, the seed and the folders is the same for every run."""
    out = Path(cfg.out)
    values = {"data.inputs": version.inputs, "data.tokenizer": tokenizer_path(cfg),
              "data.tokens": str(out / "tokens" / version.name), "data.exclude": eval_inputs(cfg),
              "data.heldout_docs": 0, "data.seed": seed, "run.seed": seed, "run.steps": steps,
              "run.out": str(run_dir(out, version.name, seed)), "eval.tokens": str(out / "tokens" / "eval"),
              "eval.every": eval_every, "eval.max_sequences": eval_sequences}
    if version.weights is not None:
        values["data.weights"] = version.weights
    return [*cfg.training.overrides, *(f"{k}={json.dumps(v)}" for k, v in values.items())]


def run_dir(out: Path, version: str, seed: int) -> Path:
    return out / "runs" / version / f"seed{seed}"


def steps_for(budget: int, train: TrainConfig, world: int) -> int:
    """Optimizer steps that cover the token budget: budget / (seq_len x micro_batch x grad_accum x world)."""
    return max(1, math.ceil(budget / (train.data.seq_len * train.data.micro_batch * train.data.grad_accum * world)))


def _run_one(train_cfg: TrainConfig, state) -> dict:
    """Train one run unless complete; refuse a folder holding another configuration."""
    from trainer.train import train

    folder = Path(train_cfg.run.out)
    wanted = train_cfg.model_dump_json(indent=1) + "\n"
    saved = folder / "config.json"
    if saved.exists() and saved.read_text() != wanted:
        raise AblationError(f"{folder} holds a run with another configuration; choose a new out or remove it")
    if (folder / COMPLETE).exists():
        return json.loads((folder / "final.json").read_text())
    result = train(train_cfg, end_training=False)
    if state.is_main_process:
        (folder / COMPLETE).write_text(json.dumps({"step": result["step"], "tokens": result["tokens"]}) + "\n")
    state.wait_for_everyone()
    return result


def _data_version(inputs: list[str]) -> str | None:
    """The pipeline's data version id when the version is read from one manifest.json."""
    if len(inputs) == 1 and inputs[0].endswith(".json"):
        manifest = json.loads(Path(inputs[0]).read_text(encoding="utf-8"))
        if isinstance(manifest, dict) and isinstance(manifest.get("version"), dict):
            return manifest["version"].get("id")
    return None


def run_ablation(cfg: AblationConfig) -> dict:
    """Train every version x seed (skipping complete runs), then write the comparison; return it."""
    from trainer.data import TokenData
    from trainer.pack import pack

    state, out = _state(), Path(cfg.out)
    base = load_config(cfg.training.config, list(cfg.training.overrides))
    steps = steps_for(cfg.token_budget, base, state.num_processes)
    if state.is_main_process:
        out.mkdir(parents=True, exist_ok=True)
        prepare_tokenizer(cfg)
        prepare_eval(cfg, base.data.channel)
        pack(eval_inputs(cfg), tokenizer_path(cfg), out / "tokens" / "eval", channel=base.data.channel,
             heldout_docs=0, workers=base.data.workers)
    state.wait_for_everyone()
    eval_seqs = cfg.eval.max_sequences or max(
        s.n_sequences(base.data.seq_len) for s in TokenData(out / "tokens" / "eval").streams("all").values())
    every = max(1, steps // cfg.eval.points)
    runs: dict[str, list[dict]] = {}
    for version in cfg.versions:
        for seed in cfg.seeds:
            overrides = run_overrides(cfg, version, seed, steps, every, eval_seqs)
            runs.setdefault(version.name, []).append(_run_one(load_config(cfg.training.config, overrides), state))
    result = _comparison(cfg, runs, steps, base.data.channel)
    if state.is_main_process:
        write_outputs(out, result)
    state.destroy_process_group()
    return result


def _comparison(cfg: AblationConfig, runs: dict[str, list[dict]], steps: int, channel: str) -> dict:
    result = compare.compare(runs, cfg.noise_factor)
    for version in cfg.versions:
        entry = result["versions"][version.name]
        entry["inputs"], entry["data_version"] = version.inputs, _data_version(version.inputs)
        entry["runs"] = [r["out"] for r in runs[version.name]]
        tokens_per_step = runs[version.name][0]["tokens"] // runs[version.name][0]["step"]
        result.setdefault("curves", {})[version.name] = compare.band(
            [compare.eval_curve(Path(r["metrics"]), tokens_per_step) for r in runs[version.name]])
    first = next(iter(runs.values()))[0]
    result.update(token_budget=cfg.token_budget, steps=steps, tokens_per_run=first["tokens"],
                  params=first["params"], seed_list=list(cfg.seeds), noise_factor=cfg.noise_factor, channel=channel,
                  training_config=cfg.training.config, overrides=list(cfg.training.overrides),
                  metric="held-out loss (nats/token) on the common evaluation set")
    return result


def write_outputs(out: Path, result: dict) -> None:
    """``comparison.json``, ``comparison.md`` and ``curves.png`` in ``out``."""
    (out / "comparison.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    (out / "comparison.md").write_text(compare.markdown(result), encoding="utf-8")
    compare.plot_curves(result["curves"], out / "curves.png")


EXAMPLES = """examples (dp-ablate is the same command as python -m trainer.ablate):
  dp-ablate --config ablations/sample.yaml
  accelerate launch -m trainer.ablate --config ablations/sample.yaml     # several GPUs
"""


def main(argv: list[str] | None = None) -> int:
    from data_platform.cli import error
    from trainer.inputs import InputError
    from trainer.mixture import MixtureError
    from trainer.pack import PackError

    p = argparse.ArgumentParser(prog="python -m trainer.ablate", description=__doc__.splitlines()[0],
                                epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", required=True, help="ablation YAML (see ablations/sample.yaml)")
    args = p.parse_args(argv)
    try:
        cfg = load_ablation(args.config)
        result = run_ablation(cfg)
    except (ConfigError, AblationError, InputError, MixtureError, PackError) as err:
        return error(err)
    if _state().is_main_process:
        print(compare.markdown(result), end="")
        print(f"-> {Path(cfg.out) / 'comparison.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
