"""Throughput of the filter funnel against datatrove's heuristic filters, one core each.

Run from the repository root with the project's interpreter:

    .venv/bin/python bench/funnel.py            # writes bench/results/funnel.md and funnel.json

Method
------
1. Corpus (not timed). The 160 real Debian documentation pages of ``data/sample/pages.jsonl.gz`` (8 languages,
   20 pages each) are extracted ONCE with trafilatura through the project's own ``extract_html`` and the
   extraction settings of ``rules/default.yaml``, so both tools see exactly the text the funnel would produce from
   the HTML. Two corpora are built from these texts: ``en`` (the 20 English pages; datatrove's filters are
   configured for English) and ``all`` (all 160 pages). Each list is repeated whole (``[p1..pn, p1..pn, ...]``)
   until it holds at least ``--min-docs`` documents (default 3000), so the timing is steady state; copies get ids
   ``<id>#<copy>``. Each corpus is written to a temporary JSON-lines file that both sides read.
2. This project (timed in this process). ``data_platform.funnel.process_batch`` over Arrow record batches of 500
   text records (``schema.RAW_SCHEMA``, built before the clock starts), with ``rules/default.yaml``; pyarrow is
   limited to one CPU thread and one I/O thread and OMP/BLAS threads to one. One warm-up batch is run untimed,
   then every batch of the corpus is timed. No HTML extraction happens in the timed part (the records hold text).
3. datatrove (timed in a subprocess, ``bench/_datatrove_worker.py``, run with the datatrove venv's interpreter):
   GopherRepetitionFilter -> GopherQualityFilter -> C4QualityFilter -> FineWebQualityFilter, default parameters,
   document by document through ``filter(doc)``; a dropped document does not reach the next filter. Warm-up on
   the first 500 documents, then the whole corpus is timed.
4. Spark start-up, measured separately and not part of any docs/s figure: creating a ``local[1]`` session with
   ``data_platform.spark.build_session`` and stopping it, each time in a fresh Python process (a cold JVM; the
   pyspark import is included), median of ``--spark-runs`` (default 3).

docs/s and MB/s are wall-clock figures of a single process on a single thread ("per core"); MB = 10^6 bytes of
UTF-8 input text. CPU time of the process is recorded too, as a check that it stayed on one core.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import cProfile  # noqa: E402
import gzip  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import pstats  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from importlib.metadata import version  # noqa: E402
from pathlib import Path  # noqa: E402

import pyarrow as pa  # noqa: E402

pa.set_cpu_count(1)
pa.set_io_thread_count(1)

from _machine import git_state, hardware  # noqa: E402  (bench/ is the script folder)

from data_platform import schema as S  # noqa: E402
from data_platform.config import RuleSet, load_rules  # noqa: E402
from data_platform.extract import extract_html  # noqa: E402
from data_platform.funnel import process_batch  # noqa: E402
from data_platform.io.records import row, to_batch  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PAGES = ROOT / "data/sample/pages.jsonl.gz"
RULES = ROOT / "rules/default.yaml"
WORKER = ROOT / "bench/_datatrove_worker.py"
RESULTS = ROOT / "bench/results"
DATATROVE_PYTHON = "/work/bench-venv/bin/python"
BATCH_ROWS = 500
DATATROVE_CHAIN = "GopherRepetitionFilter -> GopherQualityFilter -> C4QualityFilter -> FineWebQualityFilter"


@dataclass(frozen=True)
class Corpus:
    """A replicated benchmark corpus written to ``path`` (JSON lines, in timing order)."""

    name: str
    label: str
    records: list[dict]
    unique: int
    copies: int
    path: Path

    @property
    def n_bytes(self) -> int:
        return sum(len(r["text"].encode("utf-8")) for r in self.records)


@dataclass
class Timing:
    """One tool on one corpus: best-of-repeats wall time, and what it kept."""

    tool: str
    docs: int
    n_bytes: int
    wall_s: float
    cpu_s: float
    kept: int
    drops: dict[str, int]
    all_wall_s: list[float]

    @property
    def docs_per_s(self) -> float:
        return self.docs / self.wall_s

    @property
    def mb_per_s(self) -> float:
        return self.n_bytes / 1e6 / self.wall_s


# ----------------------------------------------------------------------------------------------------- corpus


def extract_pages(ruleset: RuleSet) -> list[dict]:
    """Every sample page -> {id, text, lang, source}, extracted once with trafilatura (the project's settings)."""
    cfg, timeout = ruleset.config.extract, ruleset.config.limits.extract_timeout_s
    pages = []
    with gzip.open(PAGES, "rt", encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            got = extract_html(rec["html"], rec.get("url"), cfg, timeout)
            if got.text is None:
                print(f"  extraction failed for {rec['id']}: {got.error}", file=sys.stderr)
                continue
            pages.append({"id": rec["id"], "text": got.text, "lang": rec["lang"], "source": rec["source"]})
    return pages


def build_corpus(name: str, label: str, pages: list[dict], min_docs: int, folder: Path) -> Corpus:
    """Repeat the whole page list until it holds at least ``min_docs`` documents, and write it as JSON lines."""
    copies = max(1, math.ceil(min_docs / len(pages)))
    records = [{**p, "id": f"{p['id']}#{k}"} for k in range(copies) for p in pages]
    path = folder / f"{name}.jsonl"
    with open(path, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    return Corpus(name, label, records, len(pages), copies, path)


def to_batches(records: list[dict]) -> list[pa.RecordBatch]:
    """Text records -> RAW_SCHEMA record batches of ``BATCH_ROWS`` rows, as a reader would hand them over."""
    rows = [row(r["id"], text=r["text"], source=r["source"], lang=r["lang"]) for r in records]
    return [to_batch(rows[i : i + BATCH_ROWS]) for i in range(0, len(rows), BATCH_ROWS)]


# ----------------------------------------------------------------------------------------------------- timing


def time_ours(corpus: Corpus, ruleset: RuleSet, repeats: int) -> tuple[Timing, list[float]]:
    """process_batch over every batch of the corpus after one untimed warm-up batch; best of ``repeats`` passes.

    Also returns the docs/s of each full batch of the best pass (to show the rate is steady).
    """
    batches = to_batches(corpus.records)
    process_batch(batches[0], ruleset)  # warm-up
    passes = []
    for _ in range(repeats):
        outcomes: Counter = Counter()
        per_batch = []
        wall0, cpu0 = time.perf_counter(), time.process_time()
        for batch in batches:
            t0 = time.perf_counter()
            out = process_batch(batch, ruleset)
            # a short last batch would make the spread look wider than it is (kept when it is the only one)
            if batch.num_rows == BATCH_ROWS or len(batches) == 1:
                per_batch.append(batch.num_rows / (time.perf_counter() - t0))
            outcomes.update(out.column(S.DROP_REASON).to_pylist())
        passes.append((time.perf_counter() - wall0, time.process_time() - cpu0, outcomes, per_batch))
    wall, cpu, outcomes, per_batch = min(passes, key=lambda p: p[0])
    timing = Timing("data_platform funnel", len(corpus.records), corpus.n_bytes, wall, cpu, outcomes[None],
                    {k: v for k, v in outcomes.most_common() if k is not None}, [p[0] for p in passes])
    return timing, per_batch


def time_ours_per_language(pages: list[dict], ruleset: RuleSet) -> dict[str, dict[str, float]]:
    """One batch of ``BATCH_ROWS`` documents per language (its pages repeated), timed once with a warm funnel.

    Shows where the multilingual time goes; run after the main timing, so every language group is warm.
    """
    out = {}
    for lang in sorted({p["lang"] for p in pages}):
        own = [p for p in pages if p["lang"] == lang]
        records = [{**p, "id": f"{p['id']}#{k}"} for k in range(math.ceil(BATCH_ROWS / len(own))) for p in own]
        texts = [r["text"] for r in records[:BATCH_ROWS]]
        n_bytes = sum(len(t.encode("utf-8")) for t in texts)
        batch = to_batches(records[:BATCH_ROWS])[0]
        t0 = time.perf_counter()
        process_batch(batch, ruleset)
        wall = time.perf_counter() - t0
        out[lang] = {"docs": len(texts), "wall_s": wall, "docs_per_s": len(texts) / wall,
                     "mb_per_s": n_bytes / 1e6 / wall, "chars_per_doc": sum(map(len, texts)) / len(texts)}
    return out


def time_datatrove(corpora: list[Corpus], python: str, repeats: int) -> tuple[dict[str, Timing], dict, dict]:
    """Run the datatrove worker in its own venv over the same corpus files; one Timing per corpus."""
    cmd = [python, str(WORKER), *(f"{c.name}={c.path}" for c in corpora), "--warmup", str(BATCH_ROWS),
           "--repeats", str(repeats)]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    env.pop("PYTHONPATH", None)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tempfile.gettempdir())
    if proc.returncode != 0:
        sys.exit(f"datatrove worker failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    report = json.loads(proc.stdout)
    timings, per_filter = {}, {}
    for name, res in report["results"].items():
        best = min(res["passes"], key=lambda p: p["wall_s"])
        timings[name] = Timing("datatrove 0.10.1 chain", res["docs"], res["bytes"], best["wall_s"], best["cpu_s"],
                               res["kept"], res["drops"], [p["wall_s"] for p in res["passes"]])
        per_filter[name] = best["per_filter_s"]
    return timings, per_filter, report["versions"]


_SPARK_SNIPPET = """
import json, time
t0 = time.perf_counter()
from data_platform.spark import build_session
spark = build_session("bench", "local[1]")
t1 = time.perf_counter()
spark.stop()
print(json.dumps({"create_s": t1 - t0, "stop_s": time.perf_counter() - t1}))
"""


def time_spark_startup(runs: int) -> dict:
    """Cold start of a local[1] SparkSession with the project's builder (pyspark import + JVM launch), and its stop.

    Each run is a fresh Python process, so every run starts a new JVM; the median of ``runs`` is reported.
    """
    samples = []
    for _ in range(runs):
        proc = subprocess.run([sys.executable, "-c", _SPARK_SNIPPET], capture_output=True, text=True, cwd=ROOT)
        if proc.returncode != 0:
            sys.exit(f"Spark start-up failed:\n{proc.stderr[-4000:]}")
        samples.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    create = [s["create_s"] for s in samples]
    return {"create_s": statistics.median(create), "stop_s": statistics.median(s["stop_s"] for s in samples),
            "create_min_s": min(create), "create_max_s": max(create), "runs": runs, "samples": samples}


def profile_batch(batch: pa.RecordBatch, ruleset: RuleSet, top: int = 10, by: str = "cumulative") -> list[dict]:
    """cProfile one process_batch call; the ``top`` functions by ``cumulative`` or ``own`` time."""
    profiler = cProfile.Profile()
    profiler.runcall(process_batch, batch, ruleset)
    stats = pstats.Stats(profiler).stats  # {(file, line, func): (primitive calls, calls, tottime, cumtime, callers)}
    column = 3 if by == "cumulative" else 2
    rows = sorted(stats.items(), key=lambda kv: kv[1][column], reverse=True)[:top]
    out = []
    for (file, line, func), (_, ncalls, tottime, cumtime, _) in rows:
        where = file if file == "~" else _short_path(file)
        out.append({"function": f"{where}:{line}({func})" if where != "~" else func,
                    "ncalls": ncalls, "tottime_s": tottime, "cumtime_s": cumtime})
    return out


def _short_path(file: str) -> str:
    for marker in ("site-packages/", str(ROOT) + "/", "lib/python3.11/"):
        if marker in file:
            return file.split(marker, 1)[1]
    return file


# ----------------------------------------------------------------------------------------------------- report


def machine_info(dt_versions: dict, load_start: list[str], load_end: list[str], commit: str) -> dict:
    return {
        **hardware(),
        "pyarrow": pa.__version__,
        "pyspark": version("pyspark"),
        "trafilatura": version("trafilatura"),
        "commit": commit,
        "loadavg_start": load_start,
        "loadavg_end": load_end,
        "datatrove_venv": dt_versions,
    }


def disturbed(rows: list[tuple[Corpus, Timing, Timing]], threshold: float = 0.9) -> list[str]:
    """Timed parts whose process got less than ``threshold`` of a core (other load on the machine)."""
    return [f"{c.name}/{t.tool}: CPU {t.cpu_s:.1f} s of {t.wall_s:.1f} s" for c, *ts in rows for t in ts
            if t.cpu_s < threshold * t.wall_s]


def table(rows: list[tuple[Corpus, Timing, Timing]]) -> list[str]:
    """Markdown table: one line per tool and corpus, with the ratio on our line."""
    lines = ["| corpus | tool | docs | MB | seconds | docs/s per core | MB/s per core | CPU s | kept "
             "| ours/datatrove |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for corpus, ours, theirs in rows:
        ratio = ours.docs_per_s / theirs.docs_per_s
        for t, r in ((ours, f"**{ratio:.2f}x**"), (theirs, "")):
            lines.append(f"| {corpus.label} | {t.tool} | {t.docs:,} | {t.n_bytes / 1e6:.1f} | {t.wall_s:.2f} | "
                         f"{t.docs_per_s:,.1f} | {t.mb_per_s:.3f} | {t.cpu_s:.2f} | {t.kept:,} | {r} |")
    return lines


def rules_summary(ruleset: RuleSet) -> list[str]:
    """The funnel's enabled rules in priority order with their effective bounds for English Debian docs."""
    resolved = ruleset.resolve("en", "debian-doc/x")
    out = []
    for name, p in resolved.rules:
        bounds = ", ".join(f"{k} {v:g}" for k, v in (("min", p.min), ("max", p.max)) if v is not None)
        out.append(f"`{name}` ({bounds}, {p.mode})")
    return out


def funnel_stages_doc() -> str:
    """The "Order of work" paragraph of ``data_platform.funnel``'s docstring, so the report follows the code."""
    import data_platform.funnel as funnel

    paragraphs = (funnel.__doc__ or "").strip().split("\n\n")
    return " ".join(paragraphs[1].split()) if len(paragraphs) > 1 else paragraphs[0]


def segmentation_doc() -> str:
    """The first line of the segmentation function's docstring, so the report follows the code."""
    from data_platform.text import raw_tokens

    return (raw_tokens.__doc__ or "").strip().splitlines()[0].rstrip(".")


def drops_text(drops: dict[str, int], copies: int) -> str:
    if not drops:
        return "none"
    return ", ".join(f"{k} {v // copies}" for k, v in drops.items())


def write_markdown(path: Path, info: dict, rows: list[tuple[Corpus, Timing, Timing]], steady: dict,
                   per_filter: dict, per_lang: dict, spark: dict, ruleset: RuleSet, profiles: dict,
                   args: argparse.Namespace) -> None:
    dtv = info["datatrove_venv"]
    md = [
        "# Filter funnel throughput: data_platform vs datatrove",
        "",
        "Generated by `bench/funnel.py` (`.venv/bin/python bench/funnel.py`); the method is in that file's docstring.",
        "",
        "## Machine",
        "",
        f"- date: {info['date_utc']}; code measured: `{info['commit']}` (git state when the run started)",
        f"- CPU: {info['cpu']} ({info['cores']} logical cores, {info['cores_available']} available to the process); "
        f"RAM {info['ram_gib']} GiB; {info['os']}",
        f"- load average (1/5/15 min) at start {' '.join(info['loadavg_start'])}, "
        f"after the timed parts {' '.join(info['loadavg_end'])} (the timed parts keep one core busy)",
        f"- project venv: Python {info['python']}, pyarrow {info['pyarrow']}, pyspark {info['pyspark']}, "
        f"trafilatura {info['trafilatura']}; {info['java']}",
        f"- datatrove venv: Python {dtv['python']}, datatrove {dtv['datatrove']}, spacy {dtv['spacy']} "
        f"(blank `en` tokenizer, no model), pyarrow {dtv['pyarrow']}, numpy {dtv['numpy']}",
        "",
        "## Results",
        "",
        "One process, one thread each (pyarrow CPU and I/O pools set to 1, OMP/BLAS threads 1). docs/s and MB/s are "
        "wall-clock; MB = 10^6 bytes of UTF-8 input text; CPU s is the process CPU time of the timed part. "
        f"Best of {args.repeats} timed pass(es) after a warm-up of {BATCH_ROWS} documents. "
        "`kept` counts documents of the replicated corpus.",
        "",
        *table(rows),
        "",
    ]
    if bad := disturbed(rows):
        md += [f"**Warning: disturbed run**, other load took CPU from a timed part ({'; '.join(bad)}); "
               "rerun on an idle machine before quoting these numbers.", ""]
    for corpus, ours, theirs in rows:
        rates = steady[corpus.name]
        md += [
            f"**{corpus.label}**: {corpus.unique} distinct pages, the list repeated {corpus.copies} times "
            f"= {len(corpus.records):,} documents ({corpus.n_bytes / 1e6:.1f} MB). "
            f"Our per-batch rate over the {len(rates)} full batches of {BATCH_ROWS}: min {min(rates):.1f}, "
            f"median {statistics.median(rates):.1f}, max {max(rates):.1f} docs/s. "
            f"datatrove time per filter: "
            + ", ".join(f"{k} {v:.2f} s" for k, v in per_filter[corpus.name].items()) + ".",
            "",
            f"- kept, of the {corpus.unique} distinct pages: data_platform {ours.kept // corpus.copies}, "
            f"datatrove {theirs.kept // corpus.copies}",
            f"- data_platform drops (distinct pages): {drops_text(ours.drops, corpus.copies)}",
            f"- datatrove drops (distinct pages): {drops_text(theirs.drops, corpus.copies)}",
            "",
        ]
    total = sum(v["wall_s"] for v in per_lang.values())
    slow = min(per_lang, key=lambda lang: per_lang[lang]["docs_per_s"])
    others = [v for lang, v in per_lang.items() if lang != slow]
    rest = sum(v["docs"] for v in others) / sum(v["wall_s"] for v in others)
    md += [
        f"data_platform per language (one warm batch of {BATCH_ROWS} documents each, the language's 20 pages "
        "repeated; an equal number of documents per language, as in the `all` corpus):",
        "",
        "| lang | chars/doc | seconds | docs/s per core | MB/s per core | share of the time |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
        *(f"| {lang} | {v['chars_per_doc']:,.0f} | {v['wall_s']:.2f} | {v['docs_per_s']:.1f} | {v['mb_per_s']:.3f} | "
          f"{v['wall_s'] / total:.0%} |" for lang, v in per_lang.items()),
        "",
        f"The slowest language is {slow} ({per_lang[slow]['docs_per_s']:.1f} docs/s, "
        f"{per_lang[slow]['wall_s'] / total:.0%} of the time for {1 / len(per_lang):.0%} of the documents); the "
        f"other languages average {rest:.1f} docs/s.",
        "",
        "Spark start-up (not included in any figure above): creating a `local[1]` session with "
        f"`data_platform.spark.build_session('bench', 'local[1]')` in a fresh Python process (pyspark import and "
        f"JVM launch included) took {spark['create_s']:.2f} s, median of {spark['runs']} cold starts (range "
        f"{spark['create_min_s']:.2f}-{spark['create_max_s']:.2f} s); stopping it took {spark['stop_s']:.2f} s.",
        "",
        "## What each side computes",
        "",
        "**data_platform** (`data_platform.funnel.process_batch`, `rules/default.yaml`). From the funnel's "
        f"docstring: \"{funnel_stages_doc()}\" Stages the rule file disables are skipped (the rule file's "
        "`clean`, `decontamination` and `langid` settings); records here hold text, so there is no extraction. "
        "Word segmentation per language (`data_platform.text.raw_tokens`): "
        f"{segmentation_doc()}. **Every** enabled rule is computed on every document (no short-circuit: each rule's "
        "value, bounds and verdict is recorded in the output `rules` column, kept documents included); the first "
        "failing rule in `drop` mode, in priority order, is the `drop_reason`. Enabled rules for English Debian "
        "documentation, in priority order: " + "; ".join(rules_summary(ruleset)) + ". Other languages and "
        "sources use their own thresholds from the rule file. Input and output are Arrow record batches (the "
        "output batch carries the per-rule structs).",
        "",
        f"**datatrove 0.10.1**: {DATATROVE_CHAIN}, default parameters, which are English-configured (spaCy blank "
        "`en` word tokenizer, English stop words) and were applied unchanged to every language of the `all` "
        "corpus, so its verdicts on non-English pages are not meaningful; only the cost is. Each filter stops at "
        "its first failing check and a dropped document skips the remaining filters, so documents dropped early "
        "cost less. GopherRepetition: duplicate paragraph/line fractions, top 2-4-gram and duplicated 5-10-gram "
        "character fractions. GopherQuality: word count 50-100000, mean word length 3-10, # and ellipsis to word "
        "ratios, bullet/ellipsis line ratios, alphabetic-word ratio >= 0.8, >= 2 of 8 English stop words. "
        "C4Quality: line filtering (terminal punctuation, >= 3 words, javascript, policy phrases, citations) and "
        "document drops for lorem ipsum, `{` and fewer than 5 sentences (sentences counted with spaCy's "
        "sentencizer); it rewrites the text that FineWeb then sees. FineWebQuality: terminal-punctuation line "
        "ratio >= 0.12, short-line ratio <= 0.67, duplicated-line character ratio <= 0.01, newline/word ratio "
        "<= 0.3. datatrove is called through `filter(doc)` directly, so its pipeline bookkeeping "
        "(`run()`, stats per document) is not counted.",
        "",
        "The two sides apply different rule sets: the kept counts are reported, not compared.",
        "",
        "## Notes",
        "",
        "- The corpora are the 20 English / 160 multilingual sample pages repeated whole, to reach at least "
        f"{args.min_docs} documents; repetition is of the whole list (never one page several times in a row), so "
        "datatrove's `lru_cache(5)` on word splitting cannot serve a copy from an earlier one, and the funnel has "
        "no per-text cache.",
        "- Extraction (trafilatura) is done once before timing and is not part of either figure.",
        "- Both sides run in turn, not at the same time, on the same machine in the same run. CPU s close to "
        "seconds in the table means the process had its core for the whole timed part (a busy machine would show "
        "CPU s well below seconds).",
    ]
    if profiles:
        md += ["", "## Profile of one batch (data_platform)", ""]
        for name, top in profiles.items():
            md += [f"cProfile of one `process_batch` call on the first batch of the `{name}` corpus, top 10 by "
                   "cumulative time. The profiler's overhead inflates Python-heavy functions; word segmentation "
                   "(`DocBatch.words`, a cached property) is charged to the first rule that asks for it in the "
                   "funnel's priority order.", "",
                   "| function | calls | own s | cumulative s |", "| --- | ---: | ---: | ---: |"]
            md += [f"| `{r['function']}` | {r['ncalls']:,} | {r['tottime_s']:.3f} | {r['cumtime_s']:.3f} |"
                   for r in top]
            md.append("")
    path.write_text("\n".join(md).rstrip() + "\n", encoding="utf-8")


def print_report(rows: list[tuple[Corpus, Timing, Timing]], spark: dict, profiles: dict) -> None:
    header = f"{'corpus':<22} {'tool':<24} {'docs':>6} {'seconds':>8} {'docs/s/core':>12} {'MB/s/core':>10} {'kept':>6}"
    print("\n" + header + "\n" + "-" * len(header))
    for corpus, ours, theirs in rows:
        for t in (ours, theirs):
            print(f"{corpus.label:<22} {t.tool:<24} {t.docs:>6} {t.wall_s:>8.2f} {t.docs_per_s:>12.1f} "
                  f"{t.mb_per_s:>10.3f} {t.kept:>6}")
        ratio = ours.docs_per_s / theirs.docs_per_s
        print(f"{'':<22} ratio ours/datatrove: {ratio:.2f}x {'(goal >= 2x met)' if ratio >= 2 else '(BELOW 2x goal)'}")
    for line in disturbed(rows):
        print(f"WARNING: disturbed timing (other load on the machine): {line}")
    print(f"\nSpark local[1] cold start-up (median of {spark['runs']}): create {spark['create_s']:.2f} s "
          f"(range {spark['create_min_s']:.2f}-{spark['create_max_s']:.2f}) + stop {spark['stop_s']:.2f} s")
    for name, top in profiles.items():
        print(f"\ncProfile, one batch of '{name}', top 10 by cumulative time:")
        for r in top:
            print(f"  {r['cumtime_s']:8.3f} s cum {r['tottime_s']:8.3f} s own {r['ncalls']:>9} calls  {r['function']}")


# ------------------------------------------------------------------------------------------------------- main


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-docs", type=int, default=3000, help="replicate each corpus to at least this many docs")
    parser.add_argument("--repeats", type=int, default=1, help="timed passes per tool and corpus (best is reported)")
    parser.add_argument("--datatrove-python", default=DATATROVE_PYTHON, help="interpreter of the datatrove venv")
    parser.add_argument("--profile", choices=("auto", "always", "never"), default="always",
                        help="cProfile one batch of our funnel (auto: only when the ratio is below 2x)")
    parser.add_argument("--spark-runs", type=int, default=3, help="cold Spark start-ups to time (median reported)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for funnel.md and funnel.json")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    load_start = Path("/proc/loadavg").read_text().split()[:3]
    commit = git_state()  # at start: the library modules were imported just before
    ruleset = load_rules(RULES)
    with tempfile.TemporaryDirectory(prefix="funnel-bench-") as tmp:
        t0 = time.perf_counter()
        pages = extract_pages(ruleset)
        print(f"extracted {len(pages)} pages in {time.perf_counter() - t0:.1f} s (not timed)")
        corpora = [
            build_corpus("en", "English pages", [p for p in pages if p["lang"] == "en"], args.min_docs, Path(tmp)),
            build_corpus("all", "all 8 languages", pages, args.min_docs, Path(tmp)),
        ]
        ours: dict[str, Timing] = {}
        steady: dict[str, list[float]] = {}
        for corpus in corpora:
            print(f"timing data_platform on {corpus.name} ({len(corpus.records)} docs) ...", flush=True)
            ours[corpus.name], steady[corpus.name] = time_ours(corpus, ruleset, args.repeats)
        print("timing datatrove (subprocess) ...", flush=True)
        theirs, per_filter, dt_versions = time_datatrove(corpora, args.datatrove_python, args.repeats)
        print("timing data_platform per language ...", flush=True)
        per_lang = time_ours_per_language(pages, ruleset)
        load_end = Path("/proc/loadavg").read_text().split()[:3]
        rows = [(c, ours[c.name], theirs[c.name]) for c in corpora]
        profiles = {}
        for corpus, o, t in rows:
            if args.profile == "always" or (args.profile == "auto" and o.docs_per_s < 2 * t.docs_per_s):
                profiles[corpus.name] = profile_batch(to_batches(corpus.records[:BATCH_ROWS])[0], ruleset)
    print("timing Spark start-up ...", flush=True)
    spark = time_spark_startup(args.spark_runs)
    info = machine_info(dt_versions, load_start, load_end, commit)
    print_report(rows, spark, profiles)

    args.out.mkdir(parents=True, exist_ok=True)
    write_markdown(args.out / "funnel.md", info, rows, steady, per_filter, per_lang, spark, ruleset, profiles, args)
    summary = {
        "machine": info,
        "settings": {"min_docs": args.min_docs, "repeats": args.repeats, "batch_rows": BATCH_ROWS,
                     "rules": str(RULES.relative_to(ROOT)), "datatrove_chain": DATATROVE_CHAIN},
        "corpora": {c.name: {"unique_pages": c.unique, "copies": c.copies, "docs": len(c.records),
                             "bytes": c.n_bytes} for c in corpora},
        "results": {c.name: {"ours": vars(o) | {"docs_per_s": o.docs_per_s, "mb_per_s": o.mb_per_s,
                                                "per_batch_docs_per_s": steady[c.name]},
                             "datatrove": vars(t) | {"docs_per_s": t.docs_per_s, "mb_per_s": t.mb_per_s,
                                                     "per_filter_s": per_filter[c.name]},
                             "ratio_docs_per_s": o.docs_per_s / t.docs_per_s} for c, o, t in rows},
        "ours_per_language": per_lang,
        "spark_startup_s": spark,
        "profiles": profiles,
    }
    (args.out / "funnel.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {args.out / 'funnel.md'} and {args.out / 'funnel.json'}")


if __name__ == "__main__":
    main()
