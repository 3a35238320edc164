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

Same compute, at most one epoch: every run trains on the same ``token_budget`` tokens (whole optimizer steps).
After packing, each version's unique training tokens (evaluation documents left out) are counted; a budget that
would read a version more than once (tokens per run > its unique tokens), or a channel of its mixture more than
once in expectation (weights, caps), is refused unless ``allow_repeat: true``. ``token_budget: auto`` takes the
most tokens that repeat no version (the smallest version's, in whole steps). Epochs per version are reported.

The common evaluation set, two modes. ``eval.separate: true`` (default) answers "is B better than A": the
evaluation inputs are files no version reads (refused otherwise), a source of its own, and any of its document
ids found in a version are still left out of that version's training tokens. ``eval.separate: false`` allows
sampling it (``docs_per_channel``) from a version's inputs, removed from every version: never trained on, but
drawn from one version's distribution, so it favours the versions that resemble that one.
"""

from __future__ import annotations

import argparse
import json
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
from trainer.mixture import mixture_probs

COMPLETE = "_COMPLETE"
EPOCH_TOLERANCE = 1e-9  # float slack when a budget reads a version exactly once


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
    from trainer.channel import META, parse
    from trainer.pack import pick_heldout

    files = resolve(cfg.eval.inputs)
    ids = set().union(*pick_heldout(files, channel, cfg.eval.docs_per_channel).values())
    tables, channel_columns = [], parse(channel)
    for f in files:
        names = pq.ParquetFile(f).schema_arrow.names
        by_meta = [META] if set(channel_columns) - set(names) else []  # the channel reads a meta key
        keep = ["id", "text", "source", "lang", *channel_columns, *by_meta]
        t = pq.read_table(f, columns=[c for c in dict.fromkeys(keep) if c in names])
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
              "data.tokens": str(tokens_dir(out, version.name)), "data.exclude": eval_inputs(cfg),
              "data.heldout_docs": 0, "data.seed": seed, "run.seed": seed, "run.steps": steps,
              "run.out": str(run_dir(out, version.name, seed)), "eval.tokens": str(out / "tokens" / "eval"),
              "eval.every": eval_every, "eval.max_sequences": eval_sequences}
    if version.weights is not None:
        values["data.weights"] = version.weights
    return [*cfg.training.overrides, *(f"{k}={json.dumps(v)}" for k, v in values.items())]


def run_dir(out: Path, version: str, seed: int) -> Path:
    return out / "runs" / version / f"seed{seed}"


def tokens_dir(out: Path, version: str) -> Path:
    """A version's packed tokens, shared by its seeds."""
    return out / "tokens" / version


def check_separate_eval(cfg: AblationConfig) -> None:
    """With ``eval.separate``: refuse evaluation inputs that share a parquet file with any version."""
    if not cfg.eval.separate:
        return
    eval_files = set(resolve(list(cfg.eval.inputs)))
    for version in cfg.versions:
        shared = sorted(eval_files.intersection(resolve(version.inputs)))
        if shared:
            raise AblationError(f"eval input {shared[0]} is also an input of version '{version.name}': a separate "
                                "evaluation set must come from files no version reads (or set eval.separate: false "
                                "to sample it from the versions' inputs)")


def pack_versions(cfg: AblationConfig, base: TrainConfig) -> None:
    """Pack every version as its runs will (the trainer then reuses the folder), evaluation ids left out."""
    from trainer.pack import pack

    for version in cfg.versions:
        pack(version.inputs, tokenizer_path(cfg), tokens_dir(Path(cfg.out), version.name),
             channel=base.data.channel, heldout_docs=0, workers=base.data.workers, exclude=eval_inputs(cfg))


def steps_for(budget: int, train: TrainConfig, world: int) -> int:
    """Optimizer steps that cover the token budget: budget / (seq_len x micro_batch x grad_accum x world), a
    batch-size ramp-up's smaller steps counted as they are."""
    return max(1, train.steps_covering(budget, world))


def version_mixture(folder: Path, weights: dict[str, float] | None, train: TrainConfig) -> dict:
    """A packed version's unique training tokens, its training sequences per channel and the mixture's
    probabilities (as the trainer computes them)."""
    from trainer.data import TokenData

    data = TokenData(folder)
    sizes = {c: s.n_sequences(train.data.seq_len) for c, s in data.streams("train").items()}
    unique = sum(c["train"]["tokens"] for c in data.index["channels"].values())
    return {"unique_tokens": unique, "sizes": sizes, "probs": mixture_probs(sizes, weights, train.data.caps),
            "excluded": data.index["excluded"]}


def one_epoch_tokens(mix: dict, seq_len: int) -> float:
    """The most tokens per run that read neither the version nor (in expectation) a channel twice."""
    return min([mix["unique_tokens"], *(mix["sizes"][c] * seq_len / p for c, p in mix["probs"].items())])


def epochs_at(mix: dict, tokens: int, seq_len: int) -> dict:
    """Epochs of a version at ``tokens`` per run: tokens / unique tokens, and per channel as the mixture plans."""
    return {"unique_tokens": mix["unique_tokens"], "epochs": tokens / mix["unique_tokens"],
            "channel_epochs": {c: p * tokens / (mix["sizes"][c] * seq_len) for c, p in mix["probs"].items()},
            "eval_docs_excluded": mix["excluded"]}


def plan_budget(cfg: AblationConfig, train: TrainConfig, world: int) -> dict:
    """Steps, tokens per run and epochs per version from the packed versions (``token_budget: auto`` resolved)."""
    per_step, seq_len = train.tokens_per_step(world), train.data.seq_len
    mixes = {v.name: version_mixture(tokens_dir(Path(cfg.out), v.name),
                                     train.data.weights if v.weights is None else v.weights, train)
             for v in cfg.versions}
    if cfg.token_budget == "auto":
        name, limit = min(((n, one_epoch_tokens(m, seq_len)) for n, m in mixes.items()), key=lambda x: x[1])
        steps = train.steps_covering(limit, world, within=True)
        if steps == 0:
            raise AblationError(f"token_budget auto: version '{name}' gives {limit:,.0f} tokens without repeating, "
                                f"less than one optimizer step ({per_step:,} tokens); use more data or smaller batches")
        budget = train.tokens_through(steps, world)
    else:
        budget, steps = cfg.token_budget, steps_for(cfg.token_budget, train, world)
    tokens = train.tokens_through(steps, world)
    return {"token_budget": budget, "steps": steps, "tokens_per_run": tokens,
            "versions": {n: epochs_at(m, tokens, seq_len) for n, m in mixes.items()}}


def check_repeats(plan: dict, allow_repeat: bool) -> None:
    """Refuse a plan that reads a version, or a channel of its mixture, more than once (unless allowed)."""
    if allow_repeat:
        return
    budget, tokens = plan["token_budget"], plan["tokens_per_run"]
    how = "lower token_budget (or set it to auto) or set allow_repeat: true to train on repeated data"
    for name, v in plan["versions"].items():
        if v["epochs"] > 1 + EPOCH_TOLERANCE:
            raise AblationError(f"version '{name}' has {v['unique_tokens']:,} unique training tokens; token_budget "
                                f"{budget:,} ({tokens:,} tokens per run) would need {v['epochs']:.2f} epochs: {how}")
        channel, most = max(v["channel_epochs"].items(), key=lambda kv: kv[1])
        if most > 1 + EPOCH_TOLERANCE:
            raise AblationError(f"version '{name}' ({v['unique_tokens']:,} unique training tokens): token_budget "
                                f"{budget:,} ({tokens:,} tokens per run) would read channel {channel} {most:.2f} "
                                f"times through the mixture's weights/caps: {how}")


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
    check_separate_eval(cfg)
    if state.is_main_process:
        out.mkdir(parents=True, exist_ok=True)
        prepare_tokenizer(cfg)
        prepare_eval(cfg, base.data.channel)
        pack(eval_inputs(cfg), tokenizer_path(cfg), out / "tokens" / "eval", channel=base.data.channel,
             heldout_docs=0, workers=base.data.workers)
        pack_versions(cfg, base)
    state.wait_for_everyone()
    plan = plan_budget(cfg, base, state.num_processes)
    check_repeats(plan, cfg.allow_repeat)
    steps = plan["steps"]
    eval_seqs = cfg.eval.max_sequences or max(
        s.n_sequences(base.data.seq_len) for s in TokenData(out / "tokens" / "eval").streams("all").values())
    every = max(1, steps // cfg.eval.points)
    runs: dict[str, list[dict]] = {}
    for version in cfg.versions:
        for seed in cfg.seeds:
            overrides = run_overrides(cfg, version, seed, steps, every, eval_seqs)
            runs.setdefault(version.name, []).append(_run_one(load_config(cfg.training.config, overrides), state))
    result = _comparison(cfg, runs, plan, base.data.channel)
    if state.is_main_process:
        write_outputs(out, result)
    state.destroy_process_group()
    return result


def _comparison(cfg: AblationConfig, runs: dict[str, list[dict]], plan: dict, channel: str) -> dict:
    result = compare.compare(runs, cfg.noise_factor)
    for version in cfg.versions:
        entry = result["versions"][version.name]
        entry["inputs"], entry["data_version"] = version.inputs, _data_version(version.inputs)
        entry["runs"] = [r["out"] for r in runs[version.name]]
        entry.update(plan["versions"][version.name])
        entry["epochs_read"] = max(e for r in runs[version.name] for e in r["epochs"].values())
        per_step = runs[version.name][0]["tokens"] // runs[version.name][0]["step"]
        result.setdefault("curves", {})[version.name] = compare.band(
            [compare.eval_curve(Path(r["metrics"]), per_step) for r in runs[version.name]])
    first = next(iter(runs.values()))[0]
    result.update(token_budget=plan["token_budget"], token_budget_setting=cfg.token_budget,
                  allow_repeat=cfg.allow_repeat, eval_separate=cfg.eval.separate, steps=plan["steps"],
                  tokens_per_run=first["tokens"],
                  params=first["params"], seed_list=list(cfg.seeds), noise_factor=cfg.noise_factor, channel=channel,
                  training_config=cfg.training.config, overrides=list(cfg.training.overrides),
                  metric="held-out loss (nats/token) on the common evaluation set; bits per byte, top-1/top-5 "
                         "accuracy and the multiple-choice accuracy under metrics")
    return result


def write_outputs(out: Path, result: dict) -> None:
    """``comparison.json``, ``comparison.md`` and ``curves.png`` in ``out``."""
    (out / "comparison.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    (out / "comparison.md").write_text(report_markdown(result), encoding="utf-8")
    compare.plot_curves(result["curves"], out / "curves.png")


_EVAL_MODE = {True: "separate inputs", False: "may be sampled from a version's inputs"}


def report_markdown(result: dict) -> str:
    """``comparison.md``: the comparison's tables, then the budget: unique tokens and epochs per version."""
    setting = result["token_budget_setting"]
    lines = ["", "## Token budget and epochs", "",
             f"{result['tokens_per_run']:,} training tokens per run for every version (token_budget "
             f"{setting if setting == 'auto' else f'{setting:,}'}; repeats "
             f"{'allowed' if result['allow_repeat'] else 'refused'}). Epochs = tokens per run / the version's unique "
             "training tokens (evaluation documents left out); the most-read channel as the mixture plans it and as "
             f"read (max over seeds). Evaluation set: {_EVAL_MODE[result['eval_separate']]}.",
             "", "| version | unique training tokens | epochs | most-read channel, planned | read | "
                 "evaluation docs excluded |", "|---|---|---|---|---|---|"]
    for name, v in result["versions"].items():
        channel, planned = max(v["channel_epochs"].items(), key=lambda kv: kv[1])
        lines.append(f"| {name} | {v['unique_tokens']:,} | {v['epochs']:.3f} | {channel} {planned:.3f} | "
                     f"{v['epochs_read']:.3f} | {v['eval_docs_excluded']} |")
    return compare.markdown(result) + "\n".join(lines) + "\n"


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
        print(report_markdown(result), end="")
        print(f"-> {Path(cfg.out) / 'comparison.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
