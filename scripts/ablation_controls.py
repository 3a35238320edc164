#!/usr/bin/env python3
"""The ablation method's CONTROLS (issue 17): their data versions, and the check of their verdicts.

    python scripts/ablation_controls.py versions [--corpus data/dev_corpus] [--noise scripts/control_noise.yaml] \\
        [--out out/ablations/controls_data]
    python scripts/ablation_controls.py check out/ablations/control/comparison.json out/ablations/null/comparison.json

``scripts/ablation_controls.sh`` runs both around the two ablations. ``versions`` takes a dev corpus (default: the
committed small one) and writes one parquet folder per version (``id``, ``text``, ``lang``, ``source``), read by
``ablations/control.yaml`` and ``ablations/null.yaml``:

- ``clean/``: the corpus's raw records labelled ``meta.noise == clean`` (no junk page, no insertion, no copy), i.e.
  the noise removed by its labels: what a perfect cleaner would keep;
- ``noisy/``: those clean documents noised again at the heavy rates of ``--noise`` (its sections replace those of
  ``scripts/dev_corpus.yaml``) by ``build_dev_corpus.noised``. Positive control: ``clean`` must win;
- ``half_a/``, ``half_b/``: ``clean`` split in two by a hash of the id. Negative control: neither may win;
- ``heldout/``: the corpus's held-out documents (a package family in no version), the common evaluation set.

``check`` passes when the positive control's ``clean`` is "better" on the main metric (held-out loss) and the
negative control has no verdict but "within noise" on loss, bits per byte and the multiple-choice accuracy.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import build_dev_corpus as bdc  # noqa: E402  (scripts/ is not a package)

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
from ablation_bundle import COLUMNS, half, write_version  # noqa: E402

from trainer.inputs import read_jsonl_gz  # noqa: E402

POSITIVE = ("clean", ("loss",))  # the version that must win, on these metrics
NULL_METRICS = ("loss", "bits_per_byte", "choice_accuracy")  # the negative control: no verdict on any of them


def read_jsonl(paths: list[Path]) -> list[dict]:
    """Every record of the gzip JSON Lines files, in file order."""
    return [r for path in paths for r in read_jsonl_gz(path)]


def clean_records(raw: list[dict]) -> list[dict]:
    """The records no noise touched (copies carry a noise label, their originals do not)."""
    return sorted((r for r in raw if r["meta"]["noise"] == "clean"), key=lambda r: r["id"])


def heavy_config(base: Path, noise: Path) -> bdc.Config:
    """``base`` with the top-level sections of ``noise`` put in their place (whole sections, not merged keys)."""
    sections = yaml.safe_load(noise.read_text(encoding="utf-8"))
    if not isinstance(sections, dict):
        raise ValueError(f"{noise}: expected a mapping of sections (seed, pages, insertions, duplicates)")
    return bdc.load_config(base, replace=sections)


def halves(docs: list[dict]) -> tuple[list[dict], list[dict]]:
    """Two random halves, as ``ablation_bundle.half`` splits them."""
    return [d for d in docs if half(d["id"]) == "a"], [d for d in docs if half(d["id"]) == "b"]


def build(corpus: Path, noise: Path, out: Path) -> dict[str, int]:
    """Write every version under ``out``; returns the documents per version."""
    raw_files = sorted((corpus / "raw").glob("part-*.jsonl.gz"))
    if not raw_files:
        raise ValueError(f"{corpus}/raw: no part-*.jsonl.gz (build it with scripts/build_dev_corpus.py)")
    clean = clean_records(read_jsonl(raw_files))
    noisy = bdc.noised(clean, heavy_config(bdc.DEFAULT_CONFIG, noise))
    half_a, half_b = halves(clean)
    versions = {"clean": clean, "noisy": noisy, "half_a": half_a, "half_b": half_b,
                "heldout": read_jsonl([corpus / "heldout.jsonl.gz"])}
    for name, docs in versions.items():
        write_version({c: [d[c] for d in docs] for c in COLUMNS}, out / name)
    return {name: len(docs) for name, docs in versions.items()}


def verdicts(comparison: Path) -> dict[str, dict[str, str]]:
    """Version -> metric -> verdict of a ``comparison.json`` (overall metrics, the baseline left out)."""
    deltas = json.loads(comparison.read_text(encoding="utf-8"))["deltas"]
    return {name: {m: d["verdict"] for m, d in delta["metrics"].items()} for name, delta in deltas.items()}


def check(positive: Path, null: Path) -> list[str]:
    """What failed, one line each: an empty list when both controls came out as they must."""
    failed = []
    version, metrics = POSITIVE
    got = verdicts(positive).get(version, {})
    failed += [f"positive control: {version} {m} is {got.get(m, 'missing')!r}, not 'better'"
               for m in metrics if got.get(m) != "better"]
    for name, per in verdicts(null).items():
        failed += [f"negative control: {name} {m} is {per.get(m, 'missing')!r}, not 'within noise'"
                   for m in NULL_METRICS if per.get(m) != "within noise"]
    return failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    v = sub.add_parser("versions", help="write the controls' data versions")
    v.add_argument("--corpus", type=Path, default=bdc.SMALL_OUT, help="a dev corpus folder (raw/, heldout)")
    v.add_argument("--noise", type=Path, default=Path(__file__).resolve().parent / "control_noise.yaml",
                   help="the positive control's noise sections")
    v.add_argument("--out", type=Path, default=REPO_ROOT / "out" / "ablations" / "controls_data")
    c = sub.add_parser("check", help="exit 1 unless the controls' verdicts are the expected ones")
    c.add_argument("positive", type=Path, help="the positive control's comparison.json")
    c.add_argument("null", type=Path, help="the negative control's comparison.json")
    args = parser.parse_args(argv)
    try:
        if args.command == "versions":
            counts = build(args.corpus, args.noise, args.out)
            print(", ".join(f"{name} {n}" for name, n in counts.items()) + f" documents under {args.out}",
                  file=sys.stderr)
            return 0
        failed = check(args.positive, args.null)
    except (ValueError, FileNotFoundError, KeyError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for line in failed:
        print(f"control failed: {line}", file=sys.stderr)
    print("controls: positive 'better', negative 'within noise'" if not failed else "controls: FAILED", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
