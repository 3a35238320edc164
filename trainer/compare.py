"""The comparison of an ablation: every evaluation metric per version (mean ± std over seeds), deltas against the
baseline with a verdict only where the gap exceeds the seed noise, ``comparison.json``, ``comparison.md`` and
``curves.png``.

Metrics (``METRICS``, each with its direction): held-out loss, perplexity and bits per byte (lower is better),
top-1 and top-5 next-token accuracy (higher is better), overall and per channel; the multiple-choice accuracy
(higher is better), overall. A metric some run did not record (e.g. bits per byte without a tokenizer file) is
left out.

Verdict rule: with at least two seeds per version, a version is ``better`` or ``worse`` than the baseline when
|mean gap| > ``factor`` × the pooled standard deviation sqrt((s_a² + s_b²) / 2) of the two versions' per-seed
values (sample std, ddof=1); otherwise ``within noise``. With one seed: ``inconclusive: one seed`` (no noise
estimate).
"""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

BETTER, WORSE, NOISE, ONE_SEED = "better", "worse", "within noise", "inconclusive: one seed"
# Per-token metrics of the evaluation (overall and per channel): True where higher is better.
METRICS = {"loss": False, "ppl": False, "bits_per_byte": False, "top1": True, "top5": True}
CHOICE = "choice_accuracy"  # the multiple-choice accuracy (overall only), higher is better
LABELS = {"loss": "loss", "ppl": "ppl", "bits_per_byte": "bits/byte", "top1": "top-1", "top5": "top-5",
          CHOICE: "choice acc."}


def summarize(values: list[float]) -> dict:
    """Mean, sample std (None with one value) and the values."""
    std = statistics.stdev(values) if len(values) > 1 else None
    return {"mean": statistics.fmean(values), "std": std, "n": len(values), "values": list(values)}


def higher_is_better(metric: str) -> bool:
    return metric == CHOICE or METRICS[metric]


def verdict(baseline: list[float], other: list[float], factor: float = 2.0, higher_better: bool = False) -> dict:
    """The gap ``other - baseline``, the pooled seed std and the verdict (a negative gap is better for losses,
    a positive one with ``higher_better``)."""
    gap = statistics.fmean(other) - statistics.fmean(baseline)
    if len(baseline) < 2 or len(other) < 2:
        return {"delta": gap, "pooled_std": None, "threshold": None, "verdict": ONE_SEED}
    pooled = math.sqrt((statistics.variance(baseline) + statistics.variance(other)) / 2)
    threshold = factor * pooled
    word = NOISE if abs(gap) <= threshold else (BETTER if (gap > 0) == higher_better else WORSE)
    return {"delta": gap, "pooled_std": pooled, "threshold": threshold, "verdict": word}


def eval_curve(metrics: Path, tokens_per_step: int) -> tuple[list[int], list[float]]:
    """(tokens, overall held-out loss) of every evaluation in a run's ``metrics.jsonl``: the tokens it records,
    or step x ``tokens_per_step`` for a record of an earlier trainer (without them)."""
    rows = [json.loads(ln) for ln in metrics.read_text(encoding="utf-8").splitlines()]
    evals = sorted((r["step"], r.get("tokens", r["step"] * tokens_per_step), r["loss"])
                   for r in rows if r["kind"] == "eval")
    return [t for _, t, _ in evals], [v for _, _, v in evals]


def band(curves: list[tuple[list[int], list[float]]]) -> dict:
    """Mean, min and max over seeds at the evaluation points all seeds share."""
    common = sorted(set.intersection(*(set(t) for t, _ in curves)))
    at = [dict(zip(t, v, strict=True)) for t, v in curves]
    rows = [[a[x] for a in at] for x in common]
    return {"tokens": common, "mean": [statistics.fmean(r) for r in rows], "min": [min(r) for r in rows],
            "max": [max(r) for r in rows]}


def _summaries(evals: list[dict]) -> dict:
    """Summaries of every metric that all of ``evals`` (one per seed) recorded."""
    present = [m for m in METRICS if all(e.get(m) is not None for e in evals)]
    return {m: summarize([e[m] for e in evals]) for m in present}


def _choice_values(results: list[dict]) -> list[float] | None:
    values = [(r["eval"].get("choice") or {}).get("accuracy") for r in results]
    kept = [float(v) for v in values if v is not None]
    return kept if len(kept) == len(values) else None


def _verdicts(base: dict, other: dict, factor: float) -> dict:
    """Verdicts of every metric both summaries hold, each in its direction."""
    return {m: verdict(base[m]["values"], other[m]["values"], factor, higher_is_better(m))
            for m in other if m in base}


def compare(runs: dict[str, list[dict]], factor: float = 2.0) -> dict:
    """``runs``: version -> the trainer results (``final.json``) of its seeds; the first version is the baseline.

    Returns per version the overall and per-channel metric summaries (``choice_accuracy`` overall) and, for the
    others, the verdicts: ``overall`` and ``channels`` on the loss, ``metrics`` and ``channel_metrics`` on every
    metric."""
    versions: dict[str, dict] = {}
    for name, results in runs.items():
        channels = sorted(set.intersection(*(set(r["eval"]["channels"]) for r in results)))
        overall = _summaries([r["eval"]["overall"] for r in results])
        choice = _choice_values(results)
        if choice is not None:
            overall[CHOICE] = summarize(choice)
        versions[name] = {"seeds": len(results), "overall": overall,
                          "choice_chance": results[0]["eval"]["choice"]["chance"] if choice is not None else None,
                          "channels": {c: _summaries([r["eval"]["channels"][c] for r in results]) for c in channels}}
    base_name, *others = runs
    base = versions[base_name]
    deltas = {}
    for name in others:
        v = versions[name]
        shared = [c for c in v["channels"] if c in base["channels"]]
        metrics = _verdicts(base["overall"], v["overall"], factor)
        per = {c: _verdicts(base["channels"][c], v["channels"][c], factor) for c in shared}
        deltas[name] = {"overall": metrics["loss"], "channels": {c: per[c]["loss"] for c in shared},
                        "metrics": metrics, "channel_metrics": per}
    return {"baseline": base_name, "versions": versions, "deltas": deltas}


def _pm(s: dict, digits: int = 4) -> str:
    return f"{s['mean']:.{digits}f}" + (f" ± {s['std']:.{digits}f}" if s["std"] is not None else "")


def markdown(result: dict) -> str:
    """``comparison.md``: the overall table, then one table per channel."""
    base, deltas = result["baseline"], result["deltas"]
    head = ["# Ablation comparison", "",
            f"Held-out loss (nats/token) and perplexity on the common evaluation set, mean ± std over seeds; "
            f"{result['token_budget']:,} training tokens per run ({result['steps']} steps), seeds "
            f"{result['seed_list']}. Baseline: `{base}`. Verdict: |Δ loss| > {result['noise_factor']:g} × pooled "
            "seed std (sqrt((s_a² + s_b²)/2)); one seed gives no verdict.", ""]
    lines = head + ["| version | data version | seeds | loss | ppl | Δ loss vs baseline | verdict |",
                    "|---|---|---|---|---|---|---|"]
    for name, v in result["versions"].items():
        d = deltas[name]["overall"] if name in deltas else None
        gap, word = (f"{d['delta']:+.4f}", d["verdict"]) if d else ("-", "baseline")
        lines.append(f"| {name} | {v.get('data_version') or '-'} | {v['seeds']} | {_pm(v['overall']['loss'])} | "
                     f"{_pm(v['overall']['ppl'], 2)} | {gap} | {word} |")
    lines += _metrics_table(result)
    channels = sorted({c for v in result["versions"].values() for c in v["channels"]})
    lines += ["", f"## Per {result['channel']}", "",
              "| " + result["channel"] + " | " + " | ".join(result["versions"]) + " | " +
              " | ".join(f"Δ {n}" for n in deltas) + " |", "|---" * (1 + len(result["versions"]) + len(deltas)) + "|"]
    for c in channels:
        cells = [_pm(v["channels"][c]["loss"]) if c in v["channels"] else "-" for v in result["versions"].values()]
        cells += [f"{d['channels'][c]['delta']:+.4f} ({d['channels'][c]['verdict']})" if c in d["channels"]
                  else "-" for d in deltas.values()]
        lines.append(f"| {c} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _metrics_table(result: dict) -> list[str]:
    """Every metric overall: one row per metric, mean ± std per version, then Δ (verdict) per other version."""
    versions, deltas = result["versions"], result["deltas"]
    names = [m for m in (*METRICS, CHOICE) if any(m in v["overall"] for v in versions.values())]
    chance = next((v["choice_chance"] for v in versions.values() if v.get("choice_chance")), None)
    lines = ["", "## Every metric", "",
             "Lower is better for loss, ppl and bits/byte (bits per UTF-8 byte, comparable across tokenizers); "
             "higher for top-1 / top-5 next-token accuracy and the multiple-choice accuracy (the true continuation "
             "of a held-out passage among distractors" + (f", chance {chance:.2f}" if chance else "") + "). "
             "Verdicts use the same rule in each metric's direction.", "",
             "| metric | " + " | ".join(versions) + " | " + " | ".join(f"Δ {n}" for n in deltas) + " |",
             "|---" * (1 + len(versions) + len(deltas)) + "|"]
    for m in names:
        cells = [_pm(v["overall"][m]) if m in v["overall"] else "-" for v in versions.values()]
        cells += [f"{d['metrics'][m]['delta']:+.4f} ({d['metrics'][m]['verdict']})" if m in d.get("metrics", {})
                  else "-" for d in deltas.values()]
        lines.append(f"| {LABELS[m]} | " + " | ".join(cells) + " |")
    return lines


def plot_curves(curves: dict[str, dict], path: Path | None = None, ax=None):
    """Held-out loss against training tokens per version: the mean over seeds, a min/max band. Saved to ``path``
    when given (Agg backend); returns the axes."""
    import matplotlib

    if path is not None and ax is None:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4.5))
    for name, c in curves.items():
        (line,) = ax.plot(c["tokens"], c["mean"], marker="o", ms=3, label=name)
        ax.fill_between(c["tokens"], c["min"], c["max"], color=line.get_color(), alpha=0.2)
    ax.set_xlabel("training tokens")
    ax.set_ylabel("held-out loss (nats/token)")
    ax.set_title("Evaluation loss per data version (mean, min–max over seeds)")
    ax.grid(alpha=0.3)
    ax.legend()
    if path is not None:
        ax.figure.tight_layout()
        ax.figure.savefig(path, dpi=120)
        plt.close(ax.figure)
    return ax
