"""flagged_word_ratio: matching, per-category bounds, the detail's priority, ROOTS' definition, the shipped lists
and their build script. Plain Python on known inputs; no Spark."""

from __future__ import annotations

import pickle
import string
import sys
import unicodedata
from functools import lru_cache
from pathlib import Path

import pyarrow as pa
import pytest
import yaml

from data_platform.rules import REGISTRY, DocBatch
from data_platform.rules.flagged_match import FLAGGED_PRIORITY, FlaggedMatcher
from data_platform.rules.wordlists import FlaggedParams, flagged_lists

REPO = Path(__file__).resolve().parents[1]
LISTS = REPO / "rules" / "wordlists" / "flagged"
SUPPORTED = ("zh en de fr ja ru es it pt nl pl sv da no cs ro hr tr vi id ar fa ko el ca uk").split()
sys.path.insert(0, str(REPO / "scripts"))
import build_flagged  # noqa: E402  (scripts/ is not a package)

HISTORY = ("The massacre of Glencoe took place in the early morning of 13 February 1692, in the aftermath of the "
           "Jacobite rising. Soldiers who had been quartered with the MacDonalds for twelve days turned on their "
           "hosts, and thirty-eight men were killed; others died of exposure after their homes were burned. The "
           "slaughter was long remembered as an act of betrayal, and an inquiry by the Scottish Parliament later "
           "judged it to be murder.")
PORN = ("Our new site has thousands of porn clips and we add more every single day, so come and see them all "
        "before the weekend because the best porn is free for members who join this week.")


def run(texts: list[str], lang: str, lists: dict, **params) -> tuple[list, list, list]:
    rule = REGISTRY["flagged_word_ratio"]
    p = FlaggedParams(**params)
    res = {"flagged_word_ratio": {p.wordlists: lists}}
    scores = rule.compute(DocBatch(pa.array(texts, pa.string()), lang, res), p)
    return list(scores.values), list(scores.details or []), list(scores.failed or [])


@lru_cache(maxsize=1)
def shipped() -> tuple[FlaggedParams, dict]:
    """The rule's parameters in rules/default.yaml (global entry) and the matchers of the shipped lists."""
    entry = yaml.safe_load((REPO / "rules/default.yaml").read_text(encoding="utf-8"))["rules"]["flagged_word_ratio"]
    params = FlaggedParams.model_validate(entry)
    return params, flagged_lists([params], REPO / "rules")[params.wordlists]


def test_latin_entries_match_whole_words_inside_chinese_and_japanese():
    lists = {"zh": {"porn": frozenset({"anal", "色情"})}, "ja": {"porn": frozenset({"anal", "ポルノ"})}}
    zh, _, _ = run(["我们用analyze分析数据", "这是anal内容", "色情网站"], "zh", lists)
    assert zh[0] == 0.0  # "analyze" is one word: "anal" inside it does not count
    assert zh[1] > 0 and zh[2] > 0  # a Latin word between Han characters, a Han entry as a substring
    ja, details, _ = run(["データをanalyzeする", "これはanalです", "ポルノ動画"], "ja", lists)
    assert ja[0] == 0.0 and ja[1] > 0 and "ポルノ×1" in details[2]


def test_cjk_entries_count_longest_match_once_and_multiword_entries_as_word_runs():
    m = FlaggedMatcher({"vulgar": {"他妈的", "妈的"}, "gambling": {"online casino", "casino"}})
    assert m.hits("他妈的", ["他妈的"]) == {("vulgar", "他妈的"): 1}  # not also 妈的 inside it
    words = "the online casino and another casino".split()
    # ROOTS counts the word and the word pair: casino x2 and "online casino" x1.
    assert m.hits("", words) == {("gambling", "casino"): 2, ("gambling", "online casino"): 1}
    assert pickle.loads(pickle.dumps(m)).hits("他妈的", ["他妈的"]) == m.hits("他妈的", ["他妈的"])


def test_history_paragraph_kept_by_the_shipped_bounds():
    params, matchers = shipped()
    values, details, failed = run([HISTORY], "en", matchers, **params.model_dump())
    # 73 tokens less "13" and "1692" (digits are ROOTS special characters, stripped) = 71 words; massacre and
    # slaughter are violence: 2/71 = 0.0282 <= violence 0.05.
    assert values == [pytest.approx(2 / 71)]
    assert failed == [False]
    assert details[0] == "category=violence; massacre×1, slaughter×1"


def test_porn_paragraph_dropped_by_its_category_bound():
    params, matchers = shipped()
    values, details, failed = run([PORN], "en", matchers, **params.model_dump())
    # 36 words, "porn" twice: 2/36 = 0.0556 > porn 0.005 (the total, 0.0556, is under max 0.2).
    assert values == [pytest.approx(2 / 36)] and failed == [True]
    assert details[0] == "category=porn; porn×2; porn 0.0556 > 0.005"


def test_category_bounds_and_the_detail_follow_the_priority_order():
    lists = {"en": {"vulgar": frozenset({"damn"}), "gambling": frozenset({"casino"}),
                    "political": frozenset({"propaganda"})}}
    text = "damn damn casino propaganda " + "word " * 96  # 100 words
    bounds = {"vulgar": 0.01, "gambling": 0.05, "political": 0.05}
    _, details, failed = run([text], "en", lists, max_by_category=bounds)
    # vulgar 2/100 = 0.02 > 0.01 fails; political 0.01 is hit first in priority but passes: vulgar is named.
    assert failed == [True]
    assert details[0] == "category=vulgar; damn×2, propaganda×1, casino×1; vulgar 0.0200 > 0.01"
    _, details, failed = run([text], "en", lists, max_by_category={**bounds, "vulgar": 0.05})
    assert failed == [False] and details[0].startswith("category=political; propaganda×1")
    values, _, failed = run([text], "en", lists, categories=["gambling"], max_by_category=bounds)
    assert values == [pytest.approx(1 / 100)] and failed == [False]  # only the selected categories count


def roots_flagged_ratio(text: str, flagged: set[str], group_sizes: tuple[int, ...] = (2, 3)) -> float:
    """ROOTS' definition (bigscience data-preparation, filtering.py), written from its description: words are the
    whitespace tokens, lower-cased and stripped of special characters (punctuation and digits among them), empty
    ones dropped; the flagged words among
    the words plus their joined runs of ``group_sizes`` words (word augmentation), over the number of words."""
    words = [w for w in (t.strip(string.punctuation + string.digits).lower() for t in text.split()) if w]
    runs = [" ".join(words[i:i + n]) for n in group_sizes for i in range(len(words) - n + 1)]
    return min(1.0, sum(w in flagged for w in words + runs) / len(words)) if words else 0.0


@pytest.mark.parametrize("text, expected", [
    ("Casino, casino and more CASINO!", 3 / 5),                     # 5 words, casino x3
    ("Free spins at the online casino tonight.", 3 / 7),          # free spins, online casino, casino
    ("Nothing flagged here at all, 2024.", 0.0),
    ("A damn long day at the casino, damn it.", 4 / 9),           # damn x2, casino, "damn it"
])
def test_value_equals_roots_definition(text, expected):
    flagged = {"casino", "free spins", "online casino", "damn", "damn it"}
    lists = {"en": {"gambling": frozenset(flagged - {"damn", "damn it"}), "vulgar": frozenset({"damn", "damn it"})}}
    assert roots_flagged_ratio(text, flagged) == pytest.approx(expected)
    assert run([text], "en", lists)[0] == [pytest.approx(expected)]


def list_files() -> list[Path]:
    return sorted(LISTS.glob("*/*.txt"))


def entries(path: Path) -> list[str]:
    return [ln for ln in path.read_text(encoding="utf-8").splitlines() if not ln.startswith("#")]


def test_shipped_lists_are_clean():
    assert list_files(), "no shipped flagged-word lists"
    for path in list_files():
        text = path.read_text(encoding="utf-8")
        assert "Built by scripts/build_flagged.py" in text and path.stem in FLAGGED_PRIORITY, path
        words = entries(path)
        assert words and all(w.strip() for w in words), f"{path}: empty entry"
        assert len(words) == len(set(words)), f"{path}: duplicate entries"
        for w in words:
            assert w == " ".join(unicodedata.normalize("NFC", w).lower().split()), f"{path}: {w!r} not normalised"
    for lang_dir in sorted(p for p in LISTS.iterdir() if p.is_dir()):
        seen: dict[str, str] = {}
        for path in sorted(lang_dir.glob("*.txt")):
            for w in entries(path):
                assert w not in seen, f"{lang_dir.name}: {w!r} in {seen.get(w)} and {path.stem}"
                seen[w] = path.stem


def test_shipped_lists_cover_the_supported_languages():
    sizes = {lang: sum(len(entries(p)) for p in (LISTS / lang).glob("*.txt")) for lang in SUPPORTED}
    assert min(sizes.values()) >= 50, sizes
    assert sizes["en"] >= 200 and sizes["zh"] >= 200, sizes
    assert {p.stem for p in (LISTS / "en").glob("*.txt")} == set(FLAGGED_PRIORITY)


def test_build_categorises_cleans_and_lets_the_project_terms_win():
    cfg = {
        "priority": list(FLAGGED_PRIORITY),
        "hygiene": {"max_zipf": 9.0, "min_latin_chars": 3},
        "porn_stems": {"*": ["porn"], "xx": []},
        "better_profanity_stems": [],
        "assign": {"xx": {"bad plan": "violence"}},
        "exclude": {"xx": ["anatomy"]},
        "keep": {},
        "terms": {"*": {"gambling": ["casino"]}, "xx": {"drugs": ["Heroin", "pornweed"], "porn": ["屄"]}},
    }
    ldnoobw = {"xx": ["PornStar", "darn", "Anatomy", "ab", "bad plan", "pornweed", "幹"]}
    result, dropped = build_flagged.build(cfg, ldnoobw, [])
    assert result["xx"] == {"porn": ["pornstar"], "violence": ["bad plan"], "drugs": ["heroin", "pornweed"],
                            "gambling": ["casino"], "vulgar": ["darn"]}
    # anatomy excluded; "ab" and the single characters 屄 / 幹 too short.
    assert dropped == {"excluded": 1, "too short": 3}


def test_build_drops_frequent_imported_words_unless_kept():
    assert build_flagged.too_common("the", "en", 4.5) and not build_flagged.too_common("blowjob", "en", 4.5)


def test_build_names_a_non_string_entry(tmp_path):
    bad = tmp_path / "terms.yaml"
    bad.write_text("terms:\n  zh:\n    porn: [13., ok]\n", encoding="utf-8")
    with pytest.raises(SystemExit, match=r"terms.yaml: terms.zh.porn: entry 13.0 is not a string"):
        build_flagged.load_terms(bad)
