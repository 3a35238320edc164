"""Tools for people who edit rule files: regression examples (``check``) and one-document explanations.

A rule file may carry ``examples`` (inline) or ``examples_file`` (a YAML list next to it). Each example states
what the funnel must do with it: ``kept``, ``dropped`` by ``rule``, or ``not_dropped_by`` ``rule`` (that rule
must pass, whatever else happens). The check runs the real funnel (``process_batch``) without Spark.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from data_platform.config import Example, RuleSet
from data_platform.funnel import process_batch
from data_platform.io import records as R
from data_platform.yaml_lines import ConfigError, load_with_lines


@dataclass
class Outcome:
    example: Example
    doc: dict
    ok: bool
    why: str


def load_examples(ruleset: RuleSet) -> list[Example]:
    """Inline examples plus those of ``examples_file`` (relative to the rule file)."""
    examples = list(ruleset.config.examples)
    if ruleset.config.examples_file:
        path = Path(ruleset.path).parent / ruleset.config.examples_file
        data, _ = load_with_lines(path)
        if not isinstance(data, list):
            raise ConfigError(f"{path}:1: an examples file is a YAML list of examples")
        for i, item in enumerate(data):
            try:
                examples.append(Example.model_validate(item))
            except ValueError as err:
                raise ConfigError(f"{path}: example [{i}]: {str(err).splitlines()[-1].strip()}") from None
    return examples


def run_docs(ruleset: RuleSet, docs: list[dict]) -> list[dict]:
    """The funnel's output rows for documents given as ``{id, text, lang, source}``."""
    rows = [R.row(d["id"], text=d["text"], lang=d.get("lang"), source=d.get("source") or "examples") for d in docs]
    return process_batch(R.to_batch(rows), ruleset).to_pylist()


def doc_from_run(run: Path, doc_id: str) -> dict:
    """A document of a filter run's output, as the funnel's input: its text (before normalization when the run
    kept it), declared language and source."""
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    for part in ("kept", "dropped"):
        table = ds.dataset(str(run / part), format="parquet").to_table(filter=pc.field("id") == doc_id)
        if table.num_rows:
            found = table.to_pylist()[0]
            return {"id": found["id"], "text": found.get("text_before_normalize") or found["text"],
                    "lang": dict(found["meta"] or []).get("lang_declared", found["lang"]), "source": found["source"]}
    raise LookupError(f"no document {doc_id!r} in {run}/kept or {run}/dropped")


def judge(example: Example, doc: dict) -> Outcome:
    """Whether the funnel did what the example expects."""
    reason = doc["drop_reason"]
    if example.expect == "kept":
        return Outcome(example, doc, reason is None, f"expected kept, was dropped by {reason}")
    if example.expect == "dropped":
        was = "kept" if reason is None else f"dropped by {reason}"
        return Outcome(example, doc, reason == example.rule, f"expected dropped by {example.rule}, was {was}")
    result = next((r for r in doc["rules"] if r["name"] == example.rule), None)
    ok = result is None or result["passed"] or not result["enforced"]
    return Outcome(example, doc, ok, f"expected {example.rule} not to drop it, but it fails that rule")


def check(ruleset: RuleSet) -> list[Outcome]:
    """Run every example of the rule file through the funnel."""
    examples = load_examples(ruleset)
    docs = run_docs(ruleset, [e.model_dump() for e in examples])
    return [judge(e, d) for e, d in zip(examples, docs, strict=True)]


def rules_table(doc: dict, title: str):
    """Every rule's value, bounds and verdict for one document, in funnel order (a rich Table)."""
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for col in ("rule", "value", "min", "max", "verdict", "detail"):
        table.add_column(col, justify="right" if col in ("value", "min", "max") else "left")
    decided = False
    for r in doc["rules"]:
        verdict = "pass" if r["passed"] else ("FAIL" if r["enforced"] else "fail (tag only)")
        if not r["passed"] and r["enforced"] and not decided:
            verdict, decided = "FAIL → drop_reason", True
        table.add_row(r["name"], _num(r["value"]), _num(r["min"]), _num(r["max"]), verdict, r["detail"] or "")
    return table


def _num(v: float | None) -> str:
    return "" if v is None else f"{v:.6g}"


def describe(doc: dict) -> str:
    reason = doc["drop_reason"]
    head = "KEPT" if reason is None else f"DROPPED by {reason}: {doc['drop_detail']}"
    return f"{doc['id']} (lang {doc['lang']}, source {doc['source']}): {head}"
