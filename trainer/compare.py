"""The comparison of an ablation: held-out loss per version (mean ± std over seeds), deltas against the baseline
with a verdict only where the gap exceeds the seed noise, ``comparison.json``, ``comparison.md`` and ``curves.png``.

Verdict rule: with at least two seeds per version, a version is ``better`` (lower loss) or ``worse`` than the
baseline when |mean gap| > ``factor`` × the pooled standard deviation sqrt((s_a² + s_b²) / 2) of the two
versions' per-seed losses (sample std, ddof=1); otherwise ``within noise``. With one seed: ``inconclusive: one
seed`` (no noise estimate).
"""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

BETTER, WORSE, NOISE, ONE_SEED = "better", "worse", "within noise", "inconclusive: one seed"


def summarize(values: list[float]) -> dict:
    """Mean, sample std (None with one value) and the values."""
    std = statistics.stdev(values) if len(values) > 1 else None
    return {"mean": statistics.fmean(values), "std": std, "n": len(values), "values": list(values)}


def verdict(baseline: list[float], other: list[float], factor: float = 2.0) -> dict:
    """The gap ``other - baseline`` (losses: negative is better), the pooled seed std and the verdict."""
    gap = statistics.fmean(other) - statistics.fmean(baseline)
    if len(baseline) < 2 or len(other) < 2:
        return {"delta": gap, "pooled_std": None, "threshold": None, "verdict": ONE_SEED}
    pooled = math.sqrt((statistics.variance(baseline) + statistics.variance(other)) / 2)
    threshold = factor * pooled
    word = NOISE if abs(gap) <= threshold else (BETTER if gap < 0 else WORSE)
    return {"delta": gap, "pooled_std": pooled, "threshold": threshold, "verdict": word}


def eval_curve(metrics: Path, tokens_per_step: int) -> tuple[list[int], list[float]]:
    """(tokens, overall held-out loss) of every evaluation in a run's ``metrics.jsonl``."""
    rows = [json.loads(ln) for ln in metrics.read_text(encoding="utf-8").splitlines()]
    evals = sorted((r["step"], r["loss"]) for r in rows if r["kind"] == "eval")
    return [s * tokens_per_step for s, _ in evals], [v for _, v in evals]


def band(curves: list[tuple[list[int], list[float]]]) -> dict:
    """Mean, min and max over seeds at the evaluation points all seeds share."""
    common = sorted(set.intersection(*(set(t) for t, _ in curves)))
    at = [dict(zip(t, v, strict=True)) for t, v in curves]
    rows = [[a[x] for a in at] for x in common]
    return {"tokens": common, "mean": [statistics.fmean(r) for r in rows], "min": [min(r) for r in rows],
            "max": [max(r) for r in rows]}


def compare(runs: dict[str, list[dict]], factor: float = 2.0) -> dict:
    """``runs``: version -> the trainer results (``final.json``) of its seeds; the first version is the baseline.

    Returns per version the overall and per-channel loss/ppl summaries and, for the others, deltas and verdicts."""
    versions: dict[str, dict] = {}
    for name, results in runs.items():
        channels = sorted(set.intersection(*(set(r["eval"]["channels"]) for r in results)))
        versions[name] = {
            "seeds": len(results),
            "overall": {m: summarize([r["eval"]["overall"][m] for r in results]) for m in ("loss", "ppl")},
            "channels": {c: {m: summarize([r["eval"]["channels"][c][m] for r in results]) for m in ("loss", "ppl")}
                         for c in channels}}
    base_name, *others = runs
    base = versions[base_name]
    deltas = {}
    for name in others:
        v = versions[name]
        deltas[name] = {
            "overall": verdict(base["overall"]["loss"]["values"], v["overall"]["loss"]["values"], factor),
            "channels": {c: verdict(base["channels"][c]["loss"]["values"], v["channels"][c]["loss"]["values"],
                                    factor) for c in v["channels"] if c in base["channels"]}}
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
