"""python -m data_platform.rules check RULES.yaml [...] | explain RULES.yaml (--text T | --file F | --id ID --run DIR)
| calibrate RULES.yaml --reference CLEAN --junk JUNK --out FILE [--html PAGE]

``check`` runs each rule file's examples through the funnel and exits 1 when one fails, printing the rule values
and thresholds that decided it. ``explain`` prints every rule's value, threshold and verdict for one document.
``calibrate`` proposes per-language thresholds from a clean reference and labelled junk (``data_platform.calibrate``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m data_platform.rules", description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog="""\
examples (dp-rules is the same command as python -m data_platform.rules):
  dp-rules check rules/default.yaml
  dp-rules explain rules/default.yaml --text "Home | Login"
  dp-rules explain rules/default.yaml --id ID --run out/filter
  dp-rules calibrate rules/default.yaml --reference clean.jsonl.gz --junk junk.jsonl --out calibrated.yaml""")
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("check", help="run the rule files' examples; exit 1 on a failure")
    c.add_argument("rules", nargs="+", type=Path)
    e = sub.add_parser("explain", help="every rule's value, threshold and verdict for one document")
    e.add_argument("rules", type=Path)
    src = e.add_mutually_exclusive_group(required=True)
    src.add_argument("--text", help="the document's text")
    src.add_argument("--file", type=Path, help="a UTF-8 file holding the document's text")
    src.add_argument("--id", help="a document id in a filter run's output (with --run)")
    e.add_argument("--run", type=Path, help="a filter run's output folder (kept/ and dropped/)")
    e.add_argument("--lang", help="the document's declared language")
    e.add_argument("--source", help="the document's source (selects source overrides)")
    _calibrate_parser(sub)
    return p


def _calibrate_parser(sub) -> None:
    k = sub.add_parser("calibrate", help="per-language thresholds at quantiles of a clean reference")
    k.add_argument("rules", type=Path)
    k.add_argument("--reference", nargs="+", required=True, help="clean documents: JSON Lines / parquet files or "
                   "folders, each document with its declared lang")
    k.add_argument("--junk", nargs="+", required=True, help="labelled junk documents, same formats")
    k.add_argument("--out", type=Path, required=True, help="the YAML block to write (languages: ...)")
    k.add_argument("--html", type=Path, help="also write a page with the distributions and bounds")
    k.add_argument("--quantile", type=_quantile, default=0.01,
                   help="share of reference each bound drops: min at Q, max at 1-Q (default 0.01)")
    k.add_argument("--min-docs", type=_positive, default=30,
                   help="fewer reference documents in a language: skipped with a warning (default 30)")
    k.add_argument("--langs", nargs="+", help="calibrate only these languages")
    k.add_argument("--enforced-only", action="store_true", help="propose bounds only for rules in drop mode")
    k.add_argument("--where", nargs="+", type=_meta_match, default=[], metavar="KEY=VALUE",
                   help="only documents whose meta has these values, e.g. split=calib (reference and junk)")
    k.add_argument("--declared-only", action="store_true",
                   help="leave out reference documents that langid assigns to another language than declared")
    k.add_argument("--never-tighten", action="store_true",
                   help="keep a bound of the rule file that is more lenient than the quantile (e.g. published ones)")


def _meta_match(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{text}: expected KEY=VALUE, e.g. split=calib")
    return key, value


def _quantile(text: str) -> float:
    q = float(text)
    if not 0 < q < 0.5:
        raise argparse.ArgumentTypeError(f"{text}: a quantile between 0 and 0.5, e.g. 0.01")
    return q


def _positive(text: str) -> int:
    n = int(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"{text}: at least 1")
    return n


def _check(paths: list[Path], console) -> int:
    from data_platform.config import load_rules
    from data_platform.rulecheck import check, describe, rules_table

    failures = 0
    for path in paths:
        outcomes = check(load_rules(path))
        bad = [o for o in outcomes if not o.ok]
        failures += len(bad)
        console.print(f"{path}: {len(outcomes) - len(bad)} of {len(outcomes)} examples hold")
        for o in bad:
            console.print(f"[bold red]FAILED[/] {o.example.id}: {o.why}")
            console.print(rules_table(o.doc, describe(o.doc)))
    return 1 if failures else 0


def _explain(args, console) -> int:
    from data_platform.config import load_rules
    from data_platform.rulecheck import describe, doc_from_run, rules_table, run_docs

    ruleset = load_rules(args.rules)
    if args.id:
        if not args.run:
            raise ValueError("--id needs --run, the filter output folder to look it up in")
        doc = doc_from_run(args.run, args.id)
    else:
        text = args.text if args.text is not None else args.file.read_text(encoding="utf-8")
        doc = {"id": "document", "text": text, "lang": args.lang, "source": args.source}
    out = run_docs(ruleset, [doc])[0]
    console.print(describe(out))
    if out["rules"]:
        console.print(rules_table(out, f"{args.rules}: rules in funnel order"))
    return 0


def _calibrate(args, console) -> int:
    from data_platform.calibrate import Policy, calibrate, summary_table, to_yaml
    from data_platform.config import load_rules
    from data_platform.report.calibration_page import render_page

    policy = Policy(args.quantile, args.min_docs, args.langs, args.enforced_only, args.never_tighten, dict(args.where),
                    args.declared_only)
    cal = calibrate(load_rules(args.rules), args.reference, args.junk, policy,
                    warn=lambda message: print(f"warning: {message}", file=sys.stderr))
    args.out.write_text(to_yaml(cal), encoding="utf-8")
    if args.html:
        args.html.write_text(render_page(cal), encoding="utf-8")
    console.print(summary_table(cal))
    console.print(f"wrote {args.out}" + (f" and {args.html}" if args.html else ""))
    return 0


COMMANDS = {"check": lambda args, console: _check(args.rules, console), "explain": _explain, "calibrate": _calibrate}


def main(argv: list[str] | None = None) -> int:
    from rich.console import Console

    from data_platform.cli import error
    from data_platform.yaml_lines import ConfigError

    args = _parser().parse_args(argv)
    console = Console(width=max(120, Console().width))
    try:
        return COMMANDS[args.command](args, console)
    except (ConfigError, LookupError, ValueError, OSError) as err:
        return error(err)


if __name__ == "__main__":
    sys.exit(main())
