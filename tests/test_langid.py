"""Language identification with the bundled fastText model, code normalisation, the langid rule in the funnel."""

from __future__ import annotations

import pytest

from data_platform.config import load_rules
from data_platform.funnel import process_batch
from data_platform.langcodes import normalize_lang
from data_platform.models import fasttext_langid as L
from tests.conftest import raw_batch

SENTENCES = {
    "en": "The weather was lovely yesterday, so we walked along the river until sunset.",
    "de": "Gestern war das Wetter herrlich, also sind wir bis zum Sonnenuntergang am Fluss spazieren gegangen.",
    "fr": "Hier, il faisait très beau, alors nous nous sommes promenés le long de la rivière jusqu'au coucher du "
          "soleil.",
    "es": "Ayer hizo un tiempo estupendo, así que paseamos por la orilla del río hasta la puesta de sol.",
    "it": "Ieri il tempo era bellissimo, così abbiamo passeggiato lungo il fiume fino al tramonto.",
    "ru": "Вчера была прекрасная погода, поэтому мы гуляли вдоль реки до самого заката.",
    "zh": "昨天天气很好，所以我们沿着河边散步，一直走到太阳落山。这是一个非常愉快的下午。",
    "ja": "昨日はとても良い天気だったので、私たちは夕日が沈むまで川沿いを散歩しました。",
    "ar": "كان الطقس جميلاً أمس، لذلك مشينا على طول النهر حتى غروب الشمس.",
    "pt": "Ontem o tempo estava ótimo, então caminhamos ao longo do rio até o pôr do sol.",
    "ko": "어제는 날씨가 아주 좋아서 우리는 해가 질 때까지 강을 따라 산책했습니다.",
    "nl": "Gisteren was het prachtig weer, dus we wandelden langs de rivier tot zonsondergang.",
}


@pytest.fixture(scope="module")
def model_path() -> str:
    return str(L.resolve_model_path(L.BUNDLED))


def test_bundled_model_identifies_twelve_languages(model_path):
    preds = L.predict(list(SENTENCES.values()), model_path, k=3)
    for (lang, _), pred in zip(SENTENCES.items(), preds, strict=True):
        assert pred[0][0] == lang, (lang, pred)
        assert pred[0][1] > 0.5 and len(pred) == 3
        assert pred[0][1] > pred[1][1] >= pred[2][1]  # real per-label probabilities, not the top one repeated


def test_newlines_do_not_break_prediction(model_path):
    text = "Das ist ein Satz.\nUnd hier kommt noch einer,\nüber mehrere Zeilen verteilt."
    assert L.predict([text], model_path, k=1)[0][0][0] == "de"


def test_language_codes_are_normalised_once():
    assert [normalize_lang(c) for c in ("zh-CN", "zh_TW", "__label__nb", "nn", "EN-us", "iw", "", None)] == \
        ["zh", "zh", "no", "no", "en", "he", None, None]


def test_missing_model_is_a_clear_config_error(tmp_path):
    from data_platform.yaml_lines import ConfigError

    path = tmp_path / "r.yaml"
    path.write_text("version: 1\norder: [langid]\nrules:\n  langid: {min: 0.5, model: nowhere/lid.bin}\n")
    with pytest.raises(ConfigError, match="fastText model .*nowhere/lid.bin does not exist"):
        load_rules(path)


def test_model_parameters_cannot_be_overridden_per_language(tmp_path):
    from data_platform.yaml_lines import ConfigError

    path = tmp_path / "r.yaml"
    path.write_text("version: 1\norder: [langid]\nrules:\n  langid: {min: 0.5}\n"
                    "languages:\n  en:\n    langid: {top_k: 5}\n")
    with pytest.raises(ConfigError, match=r"r.yaml:7: languages.en.langid.top_k: langid.top_k can only be set"):
        load_rules(path)


def test_funnel_assigns_lang_and_checks_allowed_languages(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("version: 1\norder: [langid, word_count]\n"
                    "rules:\n  langid: {min: 0.75}\n  word_count: {min: 1}\n"
                    "languages:\n  de:\n    word_count: {min: 100}\n"
                    "sources:\n  'en-only':\n    langid: {allowed: [en]}\n")
    out = process_batch(raw_batch([
        {"id": "de", "text": SENTENCES["de"], "lang": "en", "source": "web"},
        {"id": "fr", "text": SENTENCES["fr"], "source": "en-only"},
        {"id": "mix", "text": "ok ok 123 zz", "source": "web"},
    ]), load_rules(path)).to_pylist()
    de, fr, mix = out
    # detected German replaces the declared "en" (kept in meta) and German thresholds apply
    assert de["lang"] == "de" and dict(de["meta"])["lang_declared"] == "en"
    assert de["drop_reason"] == "word_count" and de["rules"][1]["min"] == 100
    assert fr["drop_reason"] == "langid" and "'fr' not in allowed ['en']" in fr["drop_detail"]
    assert mix["drop_reason"] == "langid" and mix["rules"][0]["value"] < 0.75


def test_training_command_beats_chance_on_held_out_pages(tmp_path):
    import gzip
    import json

    from data_platform.config import ExtractConfig
    from data_platform.extract import extract_html
    from data_platform.models.langid_train import main
    from tests.conftest import SAMPLE

    with gzip.open(SAMPLE / "pages.jsonl.gz", "rt", encoding="utf-8") as f:
        pages = [json.loads(line) for line in f]
    docs = [{"text": extract_html(p["html"], None, ExtractConfig(), 30).text, "lang": p["lang"]} for p in pages]
    labelled = tmp_path / "labelled.jsonl"
    labelled.write_text("\n".join(json.dumps(d, ensure_ascii=False) for d in docs if d["text"]), encoding="utf-8")
    model = tmp_path / "lid.bin"
    assert main(["--input", str(labelled), "--output", str(model), "--epoch", "10"]) == 0
    import fasttext

    from data_platform.models.langid_train import evaluate, examples, read_labelled, split

    _, held = split(read_labelled(labelled), 0.2, 0)
    report = evaluate(fasttext.load_model(str(model)), [e for d in held for e in examples(d, 40)])
    assert report["accuracy"] > 0.7  # chance is 1/8; held-out lines include shell commands
    assert set(report["per_language"]) == {"zh", "en", "de", "fr", "ja", "ru", "es", "it"}
