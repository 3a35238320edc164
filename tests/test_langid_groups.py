"""Groups of close languages in the langid rule: summed probability, top label kept, detail, allowed, overrides,
YAML errors. Rule-level tests inject predictions (``DocBatch.langid``); funnel tests use the bundled lid.176."""

from __future__ import annotations

import pyarrow as pa
import pytest

from data_platform.config import load_rules
from data_platform.funnel import process_batch
from data_platform.models.fasttext_langid import merge_labels
from data_platform.rules.base import DocBatch
from data_platform.rules.langid import LangidParams, langid, prediction_depth
from data_platform.yaml_lines import ConfigError
from tests.conftest import raw_batch

GROUPS = [["nb", "nn", "no", "da"], ["hr", "bs", "sr", "sh"]]
# lid.176 on these sentences (predict, k=6): Nynorsk no 0.55 da 0.39 sv 0.06; Bosnian hr 0.50 sr 0.17 bs 0.16
# sh 0.14; English above 0.9.
NYNORSK = "Kommunen har bestemt at skulen skal byggjast ut neste år, og foreldra er nøgde med planane."
BOSNIAN = "Općina je odlučila da će se škola proširiti naredne godine, a roditelji su zadovoljni planovima."
ENGLISH = "The weather was lovely yesterday, so we walked along the river until sunset."


def judge(preds: list[list[tuple[str, float]]], **params):
    batch = DocBatch(pa.array(["x"] * len(preds)), "und", langid=preds)
    return langid(batch, LangidParams(**params))


def rules_file(tmp_path, body: str):
    path = tmp_path / "r.yaml"
    path.write_text("version: 1\norder: [langid]\nrules:\n" + body)
    return path


def run(path, docs: list[dict]) -> list[dict]:
    return process_batch(raw_batch(docs), load_rules(path)).to_pylist()


def test_group_sum_is_the_value_and_detail_names_the_group():
    pred = [("no", 0.55), ("da", 0.39), ("sv", 0.06)]
    grouped, alone = judge([pred], groups=GROUPS), judge([pred])
    assert grouped.values == [pytest.approx(0.94)]  # 0.55 + 0.39; sv is outside the group
    assert alone.values == [0.55]
    assert grouped.details == ["no:0.55 da:0.39 sv:0.06; group nb/nn/no/da: 0.94 (no:0.55 da:0.39)"]
    assert grouped.failed == alone.failed == [False]


def test_members_beyond_top_k_are_summed_but_not_listed_in_the_top():
    pred = [("hr", 0.50), ("sr", 0.17), ("bs", 0.16), ("sh", 0.14), ("sl", 0.01)]
    scores = judge([pred], groups=GROUPS, top_k=2)
    assert scores.values == [pytest.approx(0.97)]  # 0.50 + 0.17 + 0.16 + 0.14
    assert scores.details == ["hr:0.50 sr:0.17; group hr/bs/sr/sh: 0.97 (hr:0.50 sr:0.17 bs:0.16 sh:0.14)"]


def test_language_outside_any_group_behaves_as_before():
    preds = [[("en", 0.6), ("da", 0.3), ("no", 0.1)], []]
    assert judge(preds, groups=GROUPS) == judge(preds)
    assert judge(preds, groups=GROUPS).values == [0.6, 0.0]  # no prediction: 'und', 0.0 as without groups


def test_allowed_matches_the_top_label_or_its_group():
    preds = [[("da", 0.6), ("no", 0.4)], [("en", 0.9)], [("no", 0.9)]]
    scores = judge(preds, groups=GROUPS, allowed=["nb"])  # nb is normalised to 'no', as model labels are
    assert scores.failed == [False, True, False]
    assert scores.details[1] == "en:0.90; 'en' not in allowed ['no']"
    assert judge(preds, allowed=["no"]).failed == [True, True, False]  # without groups Danish is off
    assert judge([[("sr", 0.9)]], groups=GROUPS, allowed=["de"]).details == \
        ["sr:0.90; group hr/bs/sr/sh: 0.90 (sr:0.90); 'sr' and its group not in allowed ['de']"]


def test_labels_normalising_to_one_code_are_merged():
    # lid.176 has both no and nn; both are 'no' (langcodes), so their probabilities add: 0.52 + 0.09 = 0.61
    pairs = [(0.52, "__label__no"), (0.38, "__label__da"), (0.09, "__label__nn"), (0.01, "__label__sv")]
    assert merge_labels(pairs) == [("no", pytest.approx(0.61)), ("da", 0.38), ("sv", 0.01)]


def test_prediction_depth_leaves_room_for_the_largest_group():
    assert prediction_depth(LangidParams(top_k=3)) == 3
    assert prediction_depth(LangidParams(top_k=3, groups=[["nb", "nn", "no", "da"]])) == 4  # {no, da}: 3 + 1
    assert prediction_depth(LangidParams(top_k=3, groups=GROUPS)) == 6  # {hr, bs, sr, sh}: 3 + 3


def test_funnel_passes_close_language_pages_and_keeps_the_top_label(tmp_path):
    grouped = rules_file(tmp_path, "  langid: {min: 0.75, groups: [[nb, nn, 'no', da], [hr, bs, sr, sh]]}\n")
    docs = [{"id": "nn", "text": NYNORSK}, {"id": "bs", "text": BOSNIAN}, {"id": "en", "text": ENGLISH}]
    nn, bs, en = run(grouped, docs)
    assert (nn["lang"], nn["drop_reason"]) == ("no", None) and nn["rules"][0]["value"] > 0.9
    assert "group nb/nn/no/da" in nn["rules"][0]["detail"]
    assert (bs["lang"], bs["drop_reason"]) == ("hr", None)  # the top label, not 'bs' nor the group
    assert "group hr/bs/sr/sh" in bs["rules"][0]["detail"] and " sh:" in bs["rules"][0]["detail"]  # 4th label
    plain = run(rules_file(tmp_path, "  langid: {min: 0.75}\n"), docs)
    assert [d["drop_reason"] for d in plain] == ["langid", "langid", None]  # the top alone is below 0.75
    assert [d["lang"] for d in plain] == ["no", "hr", "en"]
    assert plain[2]["rules"] == en["rules"]  # a language outside the groups: same value and detail


def test_per_language_min_and_source_allowed_apply_to_the_group_sum(tmp_path):
    path = rules_file(tmp_path, "  langid: {min: 0.75, groups: [[hr, bs, sr, sh]]}\n"
                                "languages:\n  hr:\n    langid: {min: 0.99}\n"
                                "sources:\n  'sr-only':\n    langid: {allowed: [sr], min: 0.9}\n")
    web, sr_only, en = run(path, [{"id": "web", "text": BOSNIAN, "source": "web"},
                                  {"id": "sr", "text": BOSNIAN, "source": "sr-only"},
                                  {"id": "en", "text": ENGLISH, "source": "sr-only"}])
    assert web["drop_reason"] == "langid" and web["rules"][0]["min"] == 0.99  # hr's own minimum, 0.97 < 0.99
    # the source's minimum comes after the language's; hr's group holds the allowed sr, so the page is kept
    assert sr_only["drop_reason"] is None and sr_only["rules"][0]["min"] == 0.9 and sr_only["lang"] == "hr"
    assert en["drop_reason"] == "langid" and "'en' not in allowed ['sr']" in en["drop_detail"]


@pytest.mark.parametrize("body, message", [
    ("  langid: {groups: [nb, da]}\n", r"r.yaml:4: rules.langid.groups\[0\]: Input should be a valid list"),
    ("  langid:\n    groups:\n      - [nb, da]\n      - [id, ms, 'no']\n",
     r"r.yaml:5: rules.langid.groups: Value error, 'no' is in groups\[0\] and groups\[1\]; a language belongs"),
    ("  langid: {groups: [[nb, nn, 'no']]}\n",
     r"r.yaml:4: rules.langid.groups\[0\]: Value error, a group needs two or more different languages"),
    ("  langid: {groups: [[da, no]]}\n", r"rules.langid.groups\[0\]: Value error, write Norwegian as 'no' in quotes"),
    ("  langid: {groups: [[hr, '']]}\n", r"rules.langid.groups\[0\]: Value error, '' is not a language code"),
    ("  langid: {min: 0.5}\nlanguages:\n  hr:\n    langid: {groups: [[hr, bs]]}\n",
     r"r.yaml:7: languages.hr.langid.groups: langid.groups can only be set under rules:"),
])
def test_bad_groups_are_one_line_errors_with_the_key_path(tmp_path, body, message):
    with pytest.raises(ConfigError, match=message) as err:
        load_rules(rules_file(tmp_path, body))
    assert "\n" not in str(err.value)
