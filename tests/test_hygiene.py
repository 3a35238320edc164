"""The cleaning stages inside the funnel: URL block lists, line rules, PII, decontamination — configured in YAML,
recorded per document, accounted for."""

from __future__ import annotations

import json
import textwrap

import pytest

from data_platform.config import load_rules
from data_platform.funnel import process_batch
from tests.conftest import REPO, raw_batch

PROSE = ("The committee met on Tuesday to discuss the budget for the new library, and after a long debate the "
         "members agreed that the reading room should open in the spring of next year with longer hours.")


@pytest.fixture()
def rules(tmp_path):
    (tmp_path / "evals").mkdir()
    (tmp_path / "evals" / "trivia.jsonl").write_text(json.dumps(
        {"id": "q7", "question": "Which river flows through the city of Vienna and empties into the Black Sea?",
         "answer": "The Danube"}) + "\n")
    (tmp_path / "urls").symlink_to(REPO / "rules" / "urls")
    path = tmp_path / "r.yaml"
    path.write_text(textwrap.dedent("""\
        version: 1
        order: [word_count]
        rules: {word_count: {min: 5}}
        clean:
          urls: {lists: {adult: urls/adult.txt, gambling: urls/gambling.txt, spam: urls/spam.txt}}
          lines: {no_terminal_punct: true, min_remaining_chars: 50}
          pii: {id_patterns: {cn_id: '\\b\\d{17}[\\dXx]\\b'}}
        decontamination: {enabled: true, eval_dir: evals, ngram: 13, action: drop}
        """))
    return load_rules(path)


def run(rules, *docs):
    return {d["id"]: d for d in process_batch(raw_batch(list(docs)), rules).to_pylist()}


def test_blocked_url_names_the_list(rules):
    out = run(rules, {"id": "u", "text": PROSE, "url": "https://www.bet365.com/offers"},
              {"id": "ok", "text": PROSE, "url": "https://library.example.org/news"})
    assert out["u"]["drop_reason"] == "url_blocked" and "category=gambling" in out["u"]["drop_detail"]
    assert "list=gambling.txt" in out["u"]["drop_detail"] and out["u"]["text"] == PROSE
    assert out["ok"]["drop_reason"] is None


def test_line_rules_record_what_they_removed(rules):
    text = "\n".join([PROSE, "Please enable JavaScript to view this page.", "Read more", "12 | 34 | 56", PROSE])
    doc = run(rules, {"id": "l", "text": text})["l"]
    assert doc["drop_reason"] is None and doc["text"] == f"{PROSE}\n{PROSE}"
    removed = json.loads(dict(doc["meta"])["lines_removed"])
    assert removed == {"symbols_only": [1, 12], "javascript": [1, 43], "navigation": [1, 9]}


def test_too_little_text_after_cleaning_is_dropped(rules):
    doc = run(rules, {"id": "t", "text": "Home\nLogin\nPlease enable JavaScript.\nShort one."})["t"]
    assert doc["drop_reason"] == "too_little_text"


def test_pii_is_redacted_and_counted(rules):
    text = (f"{PROSE} Write to jane.doe@example.org or call +44 20 7946 0958 from 192.168.1.20; "
            "id 11010519491231002X. Version 1.2.3.4 shipped on 2024-01-15.")
    doc = run(rules, {"id": "p", "text": text})["p"]
    assert "<EMAIL>" in doc["text"] and "<PHONE>" in doc["text"] and "<IP>" in doc["text"]
    assert "<CN_ID>" in doc["text"] and "1.2.3.4" in doc["text"] and "2024-01-15" in doc["text"]
    assert json.loads(dict(doc["meta"])["pii_redacted"]) == {"cn_id": 1, "email": 1, "ip": 1, "phone": 1}


def test_planted_evaluation_item_is_found_inside_a_longer_document(rules):
    planted = (f"{PROSE} Quiz of the day: which river flows through the city of Vienna and empties into the "
               f"Black Sea? Answers tomorrow. {PROSE}")
    out = run(rules, {"id": "c", "text": planted}, {"id": "clean", "text": PROSE})
    assert out["c"]["drop_reason"] == "contaminated" and "trivia/q7" in out["c"]["drop_detail"]
    assert dict(out["c"]["meta"])["contamination"] == "trivia/q7"
    assert out["clean"]["drop_reason"] is None and "contamination" not in dict(out["clean"]["meta"])


def test_flag_mode_keeps_the_document(rules, tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(path.read_text().replace("action: drop", "action: flag"))
    planted = f"{PROSE} Which river flows through the city of Vienna and empties into the Black Sea?"
    doc = run(load_rules(path), {"id": "c", "text": planted})["c"]
    assert doc["drop_reason"] is None and dict(doc["meta"])["contamination"] == "trivia/q7"


def test_missing_eval_folder_is_a_config_error(tmp_path):
    from data_platform.yaml_lines import ConfigError

    path = tmp_path / "r.yaml"
    path.write_text("version: 1\norder: [word_count]\nrules: {word_count: {min: 1}}\n"
                    "decontamination: {enabled: true, eval_dir: nowhere}\n")
    with pytest.raises(ConfigError, match="evaluation folder .*nowhere does not exist"):
        load_rules(path)


def test_job_reports_what_cleaning_changed(spark, rules, tmp_path):
    from data_platform.filter_run import FilterRun, run_filter

    docs = [
        {"id": "quiz", "text": f"{PROSE} Which river flows through the city of Vienna and empties into the Black Sea?"},
        {"id": "mail", "text": f"{PROSE} Contact jane.doe@example.org for details.\nRead more"},
        {"id": "blocked", "text": PROSE, "url": "https://pokerstars.com/x"},
    ]
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(json.dumps(d) for d in docs))
    stats = run_filter(spark, FilterRun([str(src)], str(tmp_path / "out"), rules))
    cleaning = stats["cleaning"]
    assert cleaning["contamination"] == {"trivia/q7": {"documents": 1, "examples": ["quiz"]}}
    assert cleaning["pii_redacted"]["email"] == {"documents": 1, "replaced": 1}
    assert cleaning["lines_removed"]["navigation"]["lines"] == 1
    reasons = {s["reason"]: s["documents_dropped"] for s in stats["funnel"]}
    assert reasons["url_blocked"] == 1 and reasons["contaminated"] == 1 and stats["accounting"]["ok"]
    page = (tmp_path / "out" / "report.html").read_text()
    assert 'id="cleaning"' in page and "trivia/q7" in page


def test_perplexity_without_a_model_is_dropped_or_recorded_never_silently_passed(tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    (models / "en.binary").symlink_to(REPO / "models" / "kenlm" / "en.binary")
    base = ("version: 1\norder: [perplexity]\n"
            "rules: {{perplexity: {{max: 100000, models: models, missing_model: {mode}}}}}\n")
    for mode, reason in (("drop", "perplexity"), ("keep", None)):
        path = tmp_path / f"{mode}.yaml"
        path.write_text(base.format(mode=mode))
        out = run(load_rules(path), {"id": "de", "text": "Ein ganz normaler deutscher Satz.", "lang": "de"},
                  {"id": "en", "text": PROSE, "lang": "en"})
        assert out["de"]["drop_reason"] == reason
        result = out["de"]["rules"][0]
        assert result["value"] is None and "no KenLM model for language 'de'" in result["detail"]
        assert out["en"]["drop_reason"] is None and out["en"]["rules"][0]["value"] > 0
