"""The ablation runner on two tiny data versions made from the sample pages: comparison, exclusion of the
evaluation documents, skipping and resuming runs, config errors, the verdict rule and the notebook."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import lxml.html
import nbformat
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from nbclient import NotebookClient

from data_platform.yaml_lines import ConfigError
from tests.conftest import REPO, SAMPLE
from trainer import compare
from trainer.ablate import main
from trainer.ablation_config import load_ablation
from trainer.data import TokenData
from trainer.tokenizer import load

TINY = REPO / "trainer" / "configs" / "tiny.yaml"
NOTEBOOK = REPO / "notebooks" / "ablation.ipynb"
STEPS = 12  # token_budget / (32 x 4 x 1)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _write_versions(root):
    """'raw': every page's visible text plus a junk copy of each; 'cleaned': the pages, trimmed, as pipeline
    shards per source with a manifest.json in the pipeline's format."""
    pages = pd.read_json(SAMPLE / "pages.jsonl.gz", lines=True)
    pages["text"] = [lxml.html.fromstring(h.encode()).text_content()[:1500] for h in pages["html"]]
    docs = pages[["id", "text", "source", "lang"]]
    junk = docs.assign(id=docs["id"] + "-junk", text=[("menu | login | " * 40)[:600]] * len(docs))
    (root / "raw").mkdir()
    pq.write_table(pa.Table.from_pandas(pd.concat([docs, junk]), preserve_index=False), root / "raw" / "p.parquet")
    shards = []
    for i, (source, group) in enumerate(docs.groupby("source")):
        path = f"shards/part-{i:05d}.parquet"
        (root / "cleaned" / "shards").mkdir(parents=True, exist_ok=True)
        group = group.assign(text=group["text"].str.split().str.join(" "))
        pq.write_table(pa.Table.from_pandas(group, preserve_index=False), root / "cleaned" / path)
        shards.append({"path": path, "source": source, "lang": None, "documents": len(group),
                       "characters": int(group["text"].str.len().sum()), "bytes": 0, "sha256": ""})
    manifest = {"version": {"id": "cleaned0123456789"}, "shards": shards, "totals": {}, "by_source": {},
                "by_lang": {}}
    (root / "cleaned" / "manifest.json").write_text(json.dumps(manifest))
    return docs


def _ablation_yaml(root, out, name="ablation", **changes) -> str:
    cfg = {"out": str(out),
           "versions": [{"name": "raw", "inputs": [str(root / "raw")]},
                        {"name": "cleaned", "inputs": [str(root / "cleaned" / "manifest.json")]}],
           "training": {"config": str(TINY), "overrides": [
               "data.channel=source", "data.seq_len=32", "data.micro_batch=4", "data.grad_accum=1",
               "data.workers=1", "checkpoint.every=4", "checkpoint.keep=3", "log.progress=false", "log.every=4"]},
           "tokenizer": {"train_on": [str(root / "raw")], "vocab_size": 300},
           "eval": {"inputs": [str(root / "cleaned" / "manifest.json")], "separate": False, "docs_per_channel": 2,
                    "points": 3, "max_sequences": 12},
           "token_budget": 32 * 4 * STEPS, "seeds": [0, 1], **changes}
    path = root / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return str(path)


@pytest.fixture(scope="module")
def ablation(tmp_path_factory):
    root = tmp_path_factory.mktemp("ablation")
    docs = _write_versions(root)
    config = _ablation_yaml(root, root / "out")
    assert main(["--config", config]) == 0
    return {"root": root, "out": root / "out", "config": config, "docs": docs}


def test_comparison_has_every_version_source_and_seed(ablation):
    out = ablation["out"]
    result = json.loads((out / "comparison.json").read_text())
    assert result["baseline"] == "raw" and list(result["versions"]) == ["raw", "cleaned"]
    assert result["steps"] == STEPS and result["tokens_per_run"] == 32 * 4 * STEPS and result["channel"] == "source"
    sources = set(ablation["docs"]["source"])
    for name, v in result["versions"].items():
        assert v["seeds"] == 2 and len(v["overall"]["loss"]["values"]) == 2 and v["overall"]["loss"]["std"] > 0
        assert set(v["channels"]) == sources
        assert result["curves"][name]["tokens"] == [4 * 128, 8 * 128, 12 * 128]
        curve = result["curves"][name]
        assert all(lo <= m <= hi for lo, m, hi in zip(curve["min"], curve["mean"], curve["max"], strict=True))
        assert curve["mean"][-1] == pytest.approx(v["overall"]["loss"]["mean"])
    assert result["versions"]["cleaned"]["data_version"] == "cleaned0123456789"
    assert result["versions"]["raw"]["data_version"] is None
    delta = result["deltas"]["cleaned"]
    assert set(delta["channels"]) == sources
    assert delta["overall"]["verdict"] in {compare.BETTER, compare.WORSE, compare.NOISE}
    losses = {name: v["overall"]["loss"]["mean"] for name, v in result["versions"].items()}
    assert delta["overall"]["delta"] == pytest.approx(losses["cleaned"] - losses["raw"])
    md = (out / "comparison.md").read_text()
    assert "| raw | - | 2 |" in md and "| cleaned | cleaned0123456789 | 2 |" in md and "## Per source" in md
    assert (out / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _flat(tree: dict, prefix: str = "") -> dict:
    return {k: v for key, value in tree.items() for k, v in (
        _flat(value, f"{prefix}{key}.").items() if isinstance(value, dict) else [(f"{prefix}{key}", value)])}


def test_runs_differ_only_in_data_seed_and_folders(ablation):
    runs = ablation["out"] / "runs"
    configs = {(v, s): _flat(json.loads((runs / v / f"seed{s}" / "config.json").read_text()))
               for v in ("raw", "cleaned") for s in (0, 1)}
    base = configs["raw", 0]
    differing = {k for c in configs.values() for k in base if c[k] != base[k]}
    assert differing == {"data.inputs", "data.tokens", "data.seed", "run.seed", "run.out"}
    assert base["data.exclude"] == [str(ablation["out"] / "eval" / "heldout.parquet")]
    assert base["eval.tokens"] == str(ablation["out"] / "tokens" / "eval") and base["data.heldout_docs"] == 0


def test_version_weights_reach_its_runs(ablation):
    from trainer.ablate import run_overrides
    from trainer.config import load_config

    cfg = load_ablation(ablation["config"])
    version = cfg.versions[1].model_copy(update={"weights": {"debian-doc/debian-faq": 3.0}})
    train_cfg = load_config(cfg.training.config, run_overrides(cfg, version, 7, 5, 1, 4))
    assert train_cfg.data.weights == {"debian-doc/debian-faq": 3.0} and train_cfg.run.seed == 7
    assert train_cfg.run.steps == 5 and train_cfg.data.seq_len == 32  # the ablation's overrides stay


def test_eval_documents_never_reach_training(ablation):
    out, docs = ablation["out"], ablation["docs"]
    heldout = pq.read_table(out / "eval" / "heldout.parquet").to_pandas()
    assert len(heldout) == 2 * docs["source"].nunique()
    tok = load(out / "tokenizer" / "tokenizer.json")
    for version, rows in (("raw", 2 * len(docs)), ("cleaned", len(docs))):
        data = TokenData(out / "tokens" / version)
        assert data.index["rows"] == rows and data.index["excluded"] == len(heldout)
        trained = sum(c["train"]["docs"] for c in data.index["channels"].values())
        assert trained == rows - len(heldout)
        for text, source in heldout[["text", "source"]].itertuples(index=False):
            ids = np.array(tok.encode(text, add_special_tokens=False).ids + [1], np.uint16).tobytes()
            stream = data.stream(source, "train")
            assert ids not in stream.tokens(0, stream.n_tokens).astype(np.uint16).tobytes()
    evaluated = TokenData(out / "tokens" / "eval")
    assert evaluated.index["rows"] == len(heldout) and evaluated.index["excluded"] == 0


def test_rerun_skips_complete_runs_and_resumes_an_interrupted_one(ablation):
    out = ablation["out"]
    runs = sorted(out.glob("runs/*/seed*"))
    assert len(runs) == 4 and all((r / "_COMPLETE").exists() for r in runs)
    before = {r: (r / "final.json").stat().st_mtime_ns for r in runs}
    fixed = [out / "eval" / "heldout.parquet", out / "tokens" / "raw" / "index.json"]
    fixed_before = [p.stat().st_mtime_ns for p in fixed]
    cut = out / "runs" / "cleaned" / "seed1"
    curve = compare.eval_curve(cut / "metrics.jsonl", 128)
    (cut / "_COMPLETE").unlink()
    shutil.rmtree(cut / "checkpoints" / "step_00000012")  # interrupted after the checkpoint at step 8
    first = json.loads((out / "comparison.json").read_text())
    assert main(["--config", ablation["config"]]) == 0
    assert all((r / "final.json").stat().st_mtime_ns == before[r] for r in runs if r != cut)
    assert [p.stat().st_mtime_ns for p in fixed] == fixed_before  # evaluation set and tokens reused
    assert (cut / "final.json").stat().st_mtime_ns != before[cut] and (cut / "_COMPLETE").exists()
    assert compare.eval_curve(cut / "metrics.jsonl", 128) == curve  # resumed at step 8, same curve
    assert json.loads((out / "comparison.json").read_text())["versions"] == first["versions"]


@pytest.mark.e2e
def test_two_processes_run_the_same_loop(ablation, tmp_path):
    """Under a launcher (torchrun, gloo on CPU) every process runs every run; steps follow the world size."""
    config = _ablation_yaml(ablation["root"], tmp_path / "ddp", "ddp", seeds=[0], token_budget=32 * 4 * 4)
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "-m",
                           "trainer.ablate", "--config", config], cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads((tmp_path / "ddp" / "comparison.json").read_text())
    assert result["steps"] == 2 and result["tokens_per_run"] == 2 * 2 * 32 * 4
    assert result["deltas"]["cleaned"]["overall"]["verdict"] == compare.ONE_SEED
    assert done.stdout.count("# Ablation comparison") == 1  # printed by rank 0 only


def test_a_folder_with_other_settings_is_refused(ablation, capsys):
    changed = _ablation_yaml(ablation["root"], ablation["out"], "changed", token_budget=32 * 4 * 6)
    assert main(["--config", changed]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "another configuration" in err and err.count("\n") == 1


def test_config_errors_name_file_line_and_key(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("out: x\nversions:\n  - name: a\n    inputs: [p]\n  - name: a b\n    inputs: [q]\n"
                   "training: {config: c}\ntokenizer: {path: t}\neval: {inputs: [e]}\ntoken_budget: 10\nseeds: [0]\n")
    with pytest.raises(ConfigError, match=r"bad.yaml:5: versions\[1\]\.name: String should match"):
        load_ablation(bad)
    bad.write_text(bad.read_text().replace("tokenizer: {path: t}", "tokenizer: {path: t, train_on: [x]}")
                   .replace("a b", "b"))
    with pytest.raises(ConfigError, match="bad.yaml:8: tokenizer: Value error, give either 'path' or 'train_on'"):
        load_ablation(bad)
    assert main(["--config", str(tmp_path / "missing.yaml")]) == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_verdict_on_known_numbers():
    base, better, close = [3.0, 3.1, 2.9], [2.5, 2.6, 2.4], [2.95, 3.05, 2.85]
    v = compare.verdict(base, better)
    assert v["delta"] == pytest.approx(-0.5) and v["pooled_std"] == pytest.approx(0.1)
    assert v["threshold"] == pytest.approx(0.2) and v["verdict"] == compare.BETTER
    assert compare.verdict(better, base)["verdict"] == compare.WORSE
    assert compare.verdict(base, close)["verdict"] == compare.NOISE  # gap 0.05 < 2 x 0.1
    assert compare.verdict(base, close, factor=0.4)["verdict"] == compare.BETTER  # 0.05 > 0.04
    one = compare.verdict([3.0], [2.0])
    assert one["verdict"] == compare.ONE_SEED and one["delta"] == -1.0 and one["pooled_std"] is None
    assert compare.summarize([1.0, 3.0]) == {"mean": 2.0, "std": pytest.approx(2 ** 0.5), "n": 2,
                                             "values": [1.0, 3.0]}


def test_ablation_notebook_runs(ablation, monkeypatch):
    monkeypatch.setenv("ABLATION_DIR", str(ablation["out"]))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs)
    table = next(c for c in nb.cells if "table" in c.metadata.get("tags", []))
    shown = "".join(o.get("data", {}).get("text/plain", "") for o in table.outputs)
    assert "raw" in shown and "cleaned" in shown and "loss" in shown


def _train_tokens(folder) -> int:
    return sum(c["train"]["tokens"] for c in TokenData(folder).index["channels"].values())


def test_comparison_reports_unique_tokens_and_epochs(ablation):
    out = ablation["out"]
    result = json.loads((out / "comparison.json").read_text())
    heldout = pq.read_table(out / "eval" / "heldout.parquet").num_rows
    md = (out / "comparison.md").read_text()
    assert result["token_budget"] == result["tokens_per_run"] == 32 * 4 * STEPS and not result["allow_repeat"]
    for name, v in result["versions"].items():
        unique = _train_tokens(out / "tokens" / name)
        assert v["unique_tokens"] == unique and v["epochs"] == pytest.approx(32 * 4 * STEPS / unique)
        assert v["eval_docs_excluded"] == heldout and set(v["channel_epochs"]) == set(ablation["docs"]["source"])
        read = [json.loads((out / "runs" / name / f"seed{s}" / "final.json").read_text())["epochs"] for s in (0, 1)]
        assert v["epochs_read"] == max(e for r in read for e in r.values())
        assert f"| {name} | {unique:,} | {v['epochs']:.3f} |" in md
    assert "## Token budget and epochs" in md and "repeats refused" in md


def test_epochs_and_the_refusal_on_known_token_counts():
    from trainer.ablate import AblationError, check_repeats, epochs_at, one_epoch_tokens

    weighted = {"unique_tokens": 1000, "sizes": {"a": 10, "b": 5}, "probs": {"a": 0.5, "b": 0.5}, "excluded": 0}
    v = epochs_at(weighted, 640, 32)
    assert v["epochs"] == pytest.approx(0.64) and v["channel_epochs"] == {"a": 1.0, "b": 2.0}
    assert one_epoch_tokens(weighted, 32) == 320  # channel b: 5 sequences x 32 tokens at probability 0.5
    with pytest.raises(AblationError, match=r"version 'w' .* would read channel b 2\.00 times"):
        check_repeats({"token_budget": 640, "tokens_per_run": 640, "versions": {"w": v}}, allow_repeat=False)
    by_size = {"unique_tokens": 1000, "sizes": {"a": 20, "b": 12}, "probs": {"a": 0.625, "b": 0.375}, "excluded": 0}
    assert one_epoch_tokens(by_size, 32) == 1000  # 1024 sequence slots, 1000 unique tokens
    plan = {"token_budget": 1200, "tokens_per_run": 1280, "versions": {"s": epochs_at(by_size, 1280, 32)}}
    with pytest.raises(AblationError, match=r"^version 's' has 1,000 unique training tokens; token_budget 1,200 "
                                            r"\(1,280 tokens per run\) would need 1\.28 epochs: lower token_budget"):
        check_repeats(plan, allow_repeat=False)
    check_repeats(plan, allow_repeat=True)
    check_repeats({**plan, "tokens_per_run": 1000, "versions": {"s": epochs_at(by_size, 1000, 32)}}, False)


def test_budget_above_a_versions_unique_tokens_is_refused(ablation, capsys):
    root, out = ablation["root"], ablation["out"]
    unique = _train_tokens(out / "tokens" / "cleaned")
    assert _train_tokens(out / "tokens" / "raw") > unique
    before = sorted(out.glob("runs/*/seed*"))
    config = _ablation_yaml(root, out, "repeat", token_budget=unique + 1)
    assert main(["--config", config]) == 2
    err = capsys.readouterr().err
    tokens = -(-(unique + 1) // 128) * 128
    assert err.startswith(f"error: version 'cleaned' has {unique:,} unique training tokens; token_budget "
                          f"{unique + 1:,} ({tokens:,} tokens per run) would need {tokens / unique:.2f} epochs")
    assert "allow_repeat: true" in err and err.count("\n") == 1
    assert sorted(out.glob("runs/*/seed*")) == before


def test_separate_eval_input_shared_with_a_version_is_refused(ablation, tmp_path, capsys):
    root = ablation["root"]
    for shared, version in ((root / "cleaned" / "manifest.json", "cleaned"), (root / "raw" / "p.parquet", "raw")):
        config = _ablation_yaml(root, tmp_path / "sep", "sep", eval={"inputs": [str(shared)], "points": 2})
        assert main(["--config", config]) == 2
        err = capsys.readouterr().err
        assert f"is also an input of version '{version}'" in err and "eval.separate: false" in err
        assert err.count("\n") == 1
    assert not (tmp_path / "sep").exists()  # refused before anything is written


def _small_yaml(ablation, out, name, **changes) -> str:
    """Versions 'a' (6 FAQ pages) and 'b' (its first 3); the evaluation set is a file of its own holding 3 other
    FAQ pages and a's last one."""
    root, docs = ablation["root"], ablation["docs"]
    faq = docs[docs["source"] == "debian-doc/debian-faq"].sort_values("id").head(9)
    for part, rows in (("a", faq.iloc[:6]), ("b", faq.iloc[:3]), ("heldout", faq.iloc[5:])):
        (root / "small" / part).mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pandas(rows, preserve_index=False), root / "small" / part / "part.parquet")
    return _ablation_yaml(
        root, out, name, versions=[{"name": v, "inputs": [str(root / "small" / v)]} for v in ("a", "b")],
        tokenizer={"path": str(ablation["out"] / "tokenizer" / "tokenizer.json")},
        eval={"inputs": [str(root / "small" / "heldout")], "points": 2, "max_sequences": 4}, seeds=[0], **changes)


def test_auto_budget_reads_the_smallest_version_once_with_a_separate_eval_set(ablation, tmp_path):
    assert main(["--config", _small_yaml(ablation, tmp_path / "auto", "auto", token_budget="auto")]) == 0
    result = json.loads((tmp_path / "auto" / "comparison.json").read_text())
    a, b = result["versions"]["a"], result["versions"]["b"]
    assert b["unique_tokens"] == _train_tokens(tmp_path / "auto" / "tokens" / "b") < a["unique_tokens"]
    assert result["token_budget"] == result["tokens_per_run"] == result["steps"] * 128
    assert b["unique_tokens"] - 128 < result["tokens_per_run"] <= b["unique_tokens"]  # whole steps, one epoch
    assert 1 - 128 / b["unique_tokens"] < b["epochs"] <= 1 and a["epochs"] < b["epochs"]
    assert a["eval_docs_excluded"] == 1 and b["eval_docs_excluded"] == 0  # a's page in the eval set is left out
    assert result["eval_separate"] and "token_budget auto" in (tmp_path / "auto" / "comparison.md").read_text()


def test_allow_repeat_runs_a_repeating_budget(ablation, tmp_path, capsys):
    budget = 32 * 4 * 40
    config = _small_yaml(ablation, tmp_path / "rep", "rep", token_budget=budget)
    assert main(["--config", config]) == 2
    assert capsys.readouterr().err.startswith("error: version 'b' has ")
    unique = _train_tokens(tmp_path / "rep" / "tokens" / "b")
    assert unique < budget < _train_tokens(tmp_path / "rep" / "tokens" / "a")  # b repeats, a does not
    config = _small_yaml(ablation, tmp_path / "rep", "rep", token_budget=budget, allow_repeat=True)
    assert main(["--config", config]) == 0
    result = json.loads((tmp_path / "rep" / "comparison.json").read_text())
    b = result["versions"]["b"]
    assert result["allow_repeat"] and b["epochs"] == pytest.approx(budget / unique) and b["epochs_read"] > 1
    assert "repeats allowed" in (tmp_path / "rep" / "comparison.md").read_text()
