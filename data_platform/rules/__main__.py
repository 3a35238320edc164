"""python -m data_platform.rules check RULES.yaml [...] | explain RULES.yaml (--text T | --file F | --id ID --run DIR)

``check`` runs each rule file's examples through the funnel and exits 1 when one fails, printing the rule values
and thresholds that decided it. ``explain`` prints every rule's value, threshold and verdict for one document.
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
  dp-rules explain rules/default.yaml --id ID --run out/filter""")
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
    return p


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


def main(argv: list[str] | None = None) -> int:
    from rich.console import Console

    from data_platform.cli import error
    from data_platform.yaml_lines import ConfigError

    args = _parser().parse_args(argv)
    console = Console(width=max(120, Console().width))
    try:
        return _check(args.rules, console) if args.command == "check" else _explain(args, console)
    except (ConfigError, LookupError, ValueError, OSError) as err:
        return error(err)


if __name__ == "__main__":
    sys.exit(main())
