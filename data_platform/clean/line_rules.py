"""C4 / RefinedWeb-style line cleaning: remove boilerplate lines, keep code and verse, report what was removed.

The line rules, in the fixed order ``RULE_ORDER``; a removed line is attributed to the first rule matching it:

1. ``symbols_only``: the line has no letter in any script (numbers, separators, rows of symbols or emoji).
2. ``javascript``: the line mentions "javascript" ("Please enable JavaScript"), as in C4.
3. ``lorem_ipsum``: the line contains "lorem ipsum" (placeholder text).
4. ``policy``: a cookie / privacy / terms-of-use phrase ("privacy policy", "uses cookies", de
   "Cookies akzeptieren", zh "隐私政策" ...). A bare keyword that is also an ordinary word (de "Datenschutz",
   "Impressum", zh "Cookie") only counts in a short line (a footer link), not inside a sentence.
5. ``navigation``: a short line (at most ``short_line_max_words`` words) holding a navigation leftover
   ("Read more", "Back to top", "All rights reserved", de "Weiterlesen", zh "返回顶部" ...).
6. ``no_terminal_punct``: the line does not end in terminal punctuation, as in C4. Skipped for documents in
   ``terminal_punct_exempt_langs`` (CJK text often has none) and from ``exempt_sources`` (verse). With
   ``ellipsis_not_terminal`` a line ending in "..." or "…" counts as having no end mark (C4: a truncated teaser).
7. ``too_few_words``: the line has fewer than ``min_words`` words (C4: 3; 0, the default, turns the rule off).

With ``strip_citations``, Wikipedia-style citations (``[3]``, ``[]``, ``[edit]``, ``[citation needed]``, C4's
pattern) are first removed from every line, which is then judged and kept without them; a line that held nothing
else is removed. They are reported as ``citations``: (lines rewritten, characters removed).

Phrases are English plus the document's language (the declared one, else one guessed from the script) and are
matched case-insensitively with whitespace collapsed; at Latin/Cyrillic edges only whole words match, so "log in"
does not match "catalog in". Words are counted with ``text.words`` (jieba / MeCab for zh / ja; a token of symbols
or digits only, such as "=" or "16.1.", is no word) or, with ``word_tokens: surface``, as ``text.raw_tokens``
(whitespace tokens outside zh / ja, as C4 counts them).

Code is kept verbatim (``keep_code``, on by default): lines of fenced blocks (``` or ~~~, fence lines included; an
unclosed fence runs to the end of the text, as in CommonMark) and lines indented by 4+ spaces or a tab are never
removed by any rule. Indentation only survives when cleaning runs before normalization's ``collapse_spaces``.
C4 has no such exception: with ``keep_code: false`` every line is judged.

Characters are counted on stripped lines. Blank lines are kept as paragraph separators and never counted; blank
lines left leading, trailing or doubled by a removal are dropped, and a text with no removal is returned as is.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Literal

from pydantic import BaseModel, ConfigDict, Field

from data_platform import text as T

RULE_ORDER = ("symbols_only", "javascript", "lorem_ipsum", "policy", "navigation", "no_terminal_punct",
              "too_few_words")


class LineCleanConfig(BaseModel):
    """The ``lines`` cleaning stage: which line rules run and when a document has too little text left."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    enabled: bool = True
    symbols_only: bool = True
    javascript: bool = True
    lorem_ipsum: bool = True
    policy: bool = True
    navigation: bool = True
    no_terminal_punct: bool = True
    terminal_punct_exempt_langs: list[str] = Field(
        ["zh", "ja", "ko"], description="languages for which no_terminal_punct is skipped")
    exempt_sources: list[str] = Field(
        [], description="fnmatch patterns of sources (e.g. 'poetry/*') for which no_terminal_punct is skipped")
    min_words_no_punct: int = Field(
        0, ge=0, description="a line without terminal punctuation is kept when it has at least this many words; "
                             "0: every such line is removed (C4)")
    ellipsis_not_terminal: bool = Field(
        False, description="a line ending in '...' or '…' has no end mark for no_terminal_punct (C4)")
    keep_code: bool = Field(
        True, description="lines of fenced or indented (4+ spaces, tab) code blocks are never removed; "
                          "false: judged like any line (C4)")
    min_words: int = Field(0, ge=0, description="too_few_words removes lines with fewer words (C4: 3); 0: off")
    word_tokens: Literal["words", "surface"] = Field(
        "words", description="what min_words and min_words_no_punct count: words (text.words) or surface tokens "
                             "(text.raw_tokens: whitespace tokens outside zh/ja, symbols included, as in C4)")
    strip_citations: bool = Field(
        False, description="remove [3], [edit], [citation needed] from lines before judging them (C4)")
    short_line_max_words: int = Field(
        8, ge=1, description="navigation phrases and bare policy keywords only remove lines this short")
    min_remaining_chars: int = Field(200, ge=0, description="too_little when fewer characters remain")
    min_remaining_share: float = Field(0.2, ge=0, le=1, description="too_little when a smaller share remains")


@dataclass
class LineResult:
    """The cleaned text, what each rule removed (lines, characters) and whether too little text is left."""

    text: str
    removed: dict[str, tuple[int, int]]
    too_little: bool


@dataclass(frozen=True)
class _Doc:
    lang: str  # the language whose phrases and word segmentation apply
    cfg: LineCleanConfig


# Phrases matched anywhere in a line (lower case; "’" is folded to "'").
_POLICY: dict[str, tuple[str, ...]] = {
    "en": ("privacy policy", "cookie policy", "terms of use", "terms of service", "terms and conditions",
           "uses cookies", "use cookies", "use of cookies", "accept cookies", "accept all cookies",
           "cookie settings"),
    "de": ("datenschutzerklärung", "datenschutzhinweise", "datenschutzbestimmungen", "datenschutzrichtlinie",
           "cookie-richtlinie", "cookies akzeptieren", "verwendet cookies", "verwenden cookies",
           "nutzungsbedingungen"),
    "fr": ("politique de confidentialité", "conditions d'utilisation", "conditions générales d'utilisation",
           "politique de cookies", "politique relative aux cookies", "utilise des cookies",
           "utilisons des cookies", "accepter les cookies", "mentions légales"),
    "es": ("política de privacidad", "política de cookies", "términos de uso", "términos y condiciones",
           "condiciones de uso", "utiliza cookies", "utilizamos cookies", "usa cookies", "usamos cookies",
           "aceptar cookies", "aviso legal"),
    "it": ("informativa sulla privacy", "termini di utilizzo", "termini di servizio", "termini e condizioni",
           "condizioni d'uso", "utilizza i cookie", "utilizziamo i cookie", "utilizza cookie",
           "utilizziamo cookie", "accetta i cookie", "accetto i cookie"),
    "ru": ("политика конфиденциальности", "политикой конфиденциальности", "пользовательское соглашение",
           "условия использования", "файлы cookie", "файлов cookie"),
    "zh": ("隐私政策", "隱私政策", "隐私声明", "使用条款", "使用條款", "服务条款", "服務條款", "cookie政策",
           "使用cookie", "接受cookie", "cookie设置"),
    "ja": ("プライバシーポリシー", "利用規約", "個人情報保護方針", "クッキーポリシー", "cookieポリシー",
           "cookieを使用", "クッキーを使用"),
}
# Keywords that are also ordinary words: they only count in a short line (a footer link, a consent button).
_POLICY_SHORT: dict[str, tuple[str, ...]] = {"de": ("datenschutz", "impressum"), "zh": ("cookie",)}
_NAVIGATION: dict[str, tuple[str, ...]] = {
    "en": ("read more", "continue reading", "click here", "back to top", "share this", "next page",
           "previous page", "skip to content", "log in", "sign in", "sign up", "all rights reserved"),
    "de": ("weiterlesen", "mehr lesen", "hier klicken", "nach oben", "alle rechte vorbehalten"),
    "fr": ("lire la suite", "cliquez ici", "retour en haut", "page suivante", "page précédente",
           "tous droits réservés"),
    "es": ("leer más", "haga clic aquí", "haz clic aquí", "volver arriba", "página siguiente",
           "todos los derechos reservados"),
    "it": ("leggi tutto", "leggi di più", "clicca qui", "torna su", "tutti i diritti riservati"),
    "ru": ("читать далее", "подробнее", "нажмите здесь", "все права защищены"),
    "zh": ("阅读更多", "阅读全文", "返回顶部", "点击这里", "下一页", "上一页", "版权所有"),
    "ja": ("続きを読む", "ページトップへ", "トップへ戻る", "次のページ", "前のページ", "ここをクリック",
           "無断転載禁止"),
}
_TABLES = {"policy": _POLICY, "policy_short": _POLICY_SHORT, "navigation": _NAVIGATION}

_NON_CJK_WORD = f"[^\\W{T.CJK_CHARS}]"  # a word character of a space-separated script
_TERMINAL = frozenset(".!?\"'…”’»。！？」』．｡")
_CLOSERS = ")]）】"  # "(see above.)" ends in terminal punctuation inside the bracket
_ELLIPSES = ("...", "…")
_CITATIONS = "citations"
_CITATION = re.compile(r"\[\d*\]|\[edit\]|\[citation needed\]")  # C4's (TFDS c4_utils), case-sensitive as there
_FENCE = re.compile(r" {0,3}(`{3,}(?=[^`]*$)|~{3,})")  # a backtick fence's info string has no backtick


def clean_lines(text: str, lang: str | None, source: str, cfg: LineCleanConfig) -> LineResult:
    """Remove the lines the enabled rules match from ``text`` (a document in ``lang`` from ``source``)."""
    if not cfg.enabled:
        return LineResult(text, {}, False)
    doc = _Doc(T.word_lang(lang, text), cfg)
    checks = _active_checks(doc, source)
    original = text.split("\n")
    code = _code_mask(original) if cfg.keep_code else [False] * len(original)
    lines, cited = _strip_citations(original, code) if cfg.strip_citations else (original, {})
    verdicts = [_CITATIONS if i in cited and not line.strip()
                else None if is_code or not line.strip() else _first_match(line.strip(), checks, doc)
                for i, (line, is_code) in enumerate(zip(lines, code, strict=True))]
    removed = _tally(lines, verdicts, cited)
    return LineResult(_join_kept(lines, verdicts), removed, _too_little(original, removed, cfg))


def _active_checks(doc: _Doc, source: str) -> list[tuple[str, Callable[[str, _Doc], bool]]]:
    """The enabled rules in ``RULE_ORDER``, without no_terminal_punct for exempt languages and sources."""
    names = [n for n in RULE_ORDER if (doc.cfg.min_words > 0 if n == "too_few_words" else getattr(doc.cfg, n))]
    exempt = doc.lang in doc.cfg.terminal_punct_exempt_langs or any(
        fnmatch.fnmatchcase(source, pat) for pat in doc.cfg.exempt_sources)
    return [(n, _CHECKS[n]) for n in names if not (exempt and n == "no_terminal_punct")]


def _first_match(line: str, checks: list[tuple[str, Callable[[str, _Doc], bool]]], doc: _Doc) -> str | None:
    return next((name for name, check in checks if check(line, doc)), None)


def _code_mask(lines: list[str]) -> list[bool]:
    """True for the lines of fenced code blocks (fences included) and for lines indented by 4+ spaces or a tab."""
    mask, fence = [], None
    for line in lines:
        m = _FENCE.match(line)
        if fence is None:
            fence = m.group(1) if m else None
            mask.append(bool(m) or line.startswith(("    ", "\t")))
        else:
            mask.append(True)
            close = line.strip()
            if m and len(close) >= len(fence) and set(close) == {fence[0]}:
                fence = None
    return mask


def _strip_citations(lines: list[str], code: list[bool]) -> tuple[list[str], dict[int, int]]:
    """The lines without citations (code lines untouched), and the characters removed per rewritten line."""
    out, cited = [], {}
    for i, (line, is_code) in enumerate(zip(lines, code, strict=True)):
        new = line if is_code or "[" not in line else _CITATION.sub("", line)
        if new != line:
            cited[i] = len(line.strip()) - len(new.strip())
        out.append(new)
    return out, cited


def _tally(lines: list[str], verdicts: list[str | None], cited: dict[int, int]) -> dict[str, tuple[int, int]]:
    """(lines, stripped characters) removed per rule, for the rules that removed something, in rule order;
    first ``citations``: (lines rewritten, characters removed)."""
    counts = {name: [0, 0] for name in (_CITATIONS, *RULE_ORDER)}
    counts[_CITATIONS] = [len(cited), sum(cited.values())]
    for line, name in zip(lines, verdicts, strict=True):
        if name and name != _CITATIONS:
            counts[name][0] += 1
            counts[name][1] += len(line.strip())
    return {name: (n, chars) for name, (n, chars) in counts.items() if n}


def _join_kept(lines: list[str], verdicts: list[str | None]) -> str:
    """Kept lines joined by newlines; blank lines a removal left leading, trailing or doubled are dropped."""
    out: list[str] = []
    gap = False  # a line was removed since the last kept non-blank line
    for line, name in zip(lines, verdicts, strict=True):
        blank = not line.strip()
        if name:
            gap = True
        elif not (blank and gap and (not out or not out[-1].strip())):
            out.append(line)
            gap = gap and blank
    while gap and out and not out[-1].strip():
        out.pop()
    return "\n".join(out)


def _too_little(lines: list[str], removed: dict[str, tuple[int, int]], cfg: LineCleanConfig) -> bool:
    """Fewer than ``min_remaining_chars`` characters, or a smaller share than ``min_remaining_share``, remain."""
    total = sum(len(line.strip()) for line in lines)
    remaining = total - sum(chars for _, chars in removed.values())
    share = remaining / total if total else 0.0
    return remaining < cfg.min_remaining_chars or share < cfg.min_remaining_share


def _fold(line: str) -> str:
    """Lower case, typographic apostrophe as "'", whitespace runs as one space: the form phrases are matched in."""
    return " ".join(line.lower().replace("\u2019", "'").split())


def _phrase_regex(phrase: str) -> str:
    """The phrase as a regular expression that matches whole words at Latin/Cyrillic edges."""
    head = f"(?<!{_NON_CJK_WORD})" if re.match(_NON_CJK_WORD, phrase[0]) else ""
    tail = f"(?!{_NON_CJK_WORD})" if re.match(_NON_CJK_WORD, phrase[-1]) else ""
    return head + re.escape(phrase) + tail


@lru_cache(maxsize=None)
def _phrases(table: str, lang: str) -> tuple[str, ...]:
    """A phrase table's English and ``lang`` entries."""
    return tuple(sorted({p for code in ("en", lang) for p in _TABLES[table].get(code, ())}))


@lru_cache(maxsize=None)
def _matcher(table: str, lang: str) -> re.Pattern[str] | None:
    """One regular expression for a phrase table's English and ``lang`` entries; None when there are none."""
    phrases = _phrases(table, lang)
    return re.compile("|".join(map(_phrase_regex, phrases))) if phrases else None


def _mentions(table: str, line: str, doc: _Doc) -> bool:
    folded = _fold(line)
    # Plain substring tests first: far cheaper than the word-edge regex, which only confirms a candidate.
    if not any(p in folded for p in _phrases(table, doc.lang)):
        return False
    pattern = _matcher(table, doc.lang)
    return pattern is not None and pattern.search(folded) is not None


def _is_short(line: str, doc: _Doc) -> bool:
    return len(T.words(line, doc.lang)) <= doc.cfg.short_line_max_words


def _word_count(line: str, doc: _Doc) -> int:
    tokens = T.words if doc.cfg.word_tokens == "words" else T.raw_tokens
    return len(tokens(line, doc.lang))


def _too_few_words(line: str, doc: _Doc) -> bool:
    return _word_count(line, doc) < doc.cfg.min_words


def _symbols_only(line: str, doc: _Doc) -> bool:
    return not any(ch.isalpha() for ch in line)


def _javascript(line: str, doc: _Doc) -> bool:
    return "javascript" in line.lower()


def _lorem_ipsum(line: str, doc: _Doc) -> bool:
    return "lorem ipsum" in _fold(line)


def _policy(line: str, doc: _Doc) -> bool:
    return _mentions("policy", line, doc) or (_mentions("policy_short", line, doc) and _is_short(line, doc))


def _navigation(line: str, doc: _Doc) -> bool:
    return _mentions("navigation", line, doc) and _is_short(line, doc)


def _no_terminal_punct(line: str, doc: _Doc) -> bool:
    end = line.rstrip(_CLOSERS)
    if end and end[-1] in _TERMINAL and not (doc.cfg.ellipsis_not_terminal and end.endswith(_ELLIPSES)):
        return False
    min_words = doc.cfg.min_words_no_punct
    return not (min_words and _word_count(line, doc) >= min_words)


_CHECKS: dict[str, Callable[[str, _Doc], bool]] = {
    "symbols_only": _symbols_only,
    "javascript": _javascript,
    "lorem_ipsum": _lorem_ipsum,
    "policy": _policy,
    "navigation": _navigation,
    "no_terminal_punct": _no_terminal_punct,
    "too_few_words": _too_few_words,
}
