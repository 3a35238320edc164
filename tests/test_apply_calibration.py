"""scripts/apply_calibration.py: calibrated lines stripped and rewritten, hand-set lines kept."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import apply_calibration as ac  # noqa: E402  (scripts/ is not a package)

FILE = """rules:
  langid: {min: 0.75}
languages:
  en:   # ROOTS en; calibrated, on its reference: drops 9.0% (9 of 100), catches 50.0% (5 of 10) junk
    perplexity: {max: 400}
    langid: {min: 0.45}
    stopword_ratio: {min: 0.13}   # hand-set: the reason
    char_repetition: {max: 0.4, n: 3}
  'no':   # no published entry
    langid: {min: 0.5}

sources: {}
"""
ENFORCED = {"en": {"langid", "stopword_ratio", "char_repetition"}, "no": {"langid"}}
CALIBRATION = """languages:
  en:
    # all bounds below together: drop 2.0% (4 of 200) of reference, catch 80.0% (8 of 10) of junk
    langid: {min: 0.6}
    stopword_ratio: {min: 0.1}
    char_repetition: {max: 0.3}
    word_count: {min: 12}
  'no':
    # all bounds below together: drop 1.0% (1 of 100) of reference, catch 90.0% (9 of 10) of junk
    langid: {min: 0.75}
  da:
    # all bounds below together: drop 3.0% (3 of 100) of reference, catch 70.0% (7 of 10) of junk
    langid: {min: 0.7}
"""
BASE = {"en": {"langid": {"min": 0.75}, "word_count": {"min": 20}}, "no": {"langid": {"min": 0.75}},
        "da": {"langid": {"min": 0.75}}}


def test_strip_keeps_hand_set_and_tag_mode_lines():
    out = ac.strip(FILE, ENFORCED)
    assert "langid: {min: 0.45}" not in out and "  'no': {}   # no published entry" in out
    assert "perplexity: {max: 400}" in out and "# hand-set: the reason" in out and "char_repetition: {n: 3}" in out


def test_apply_writes_changed_bounds_and_summaries_and_keeps_the_rest():
    out = ac.apply(ac.strip(FILE, ENFORCED), BASE, CALIBRATION)
    en = out.split("  'no'")[0]
    assert "  en:   # ROOTS en; calibrated, on its reference: drops 2.0% (4 of 200), catches 80.0% (8 of 10) junk" in en
    assert "    langid: {min: 0.6}" in en and "    word_count: {min: 12}" in en
    assert "stopword_ratio: {min: 0.13}   # hand-set: the reason" in en and "min: 0.1}" not in en
    assert "    char_repetition: {max: 0.3, n: 3}" in en and "perplexity: {max: 400}" in en
    assert "  'no': {}   # no published entry; calibrated, on its reference: drops 1.0% (1 of 100)" in out
    assert "langid: {min: 0.75}" not in out.split("rules:")[1].split("languages:")[1]  # equal to the base: left out
    assert "  da:   # no published entry; calibrated, on its reference: drops 3.0%" in out and "{min: 0.7}" in out
    assert out.endswith("\nsources: {}\n")
