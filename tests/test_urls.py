"""URL block lists: domain suffix matching done right, patterns, priorities, bad entries, the shipped lists."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import pytest

from data_platform.clean.urls import UrlFilter, UrlFilterConfig, UrlMatch, canonical_host
from data_platform.yaml_lines import ConfigError

REPO = Path(__file__).resolve().parents[1]


def make_filter(tmp_path: Path, **lists: str) -> UrlFilter:
    """A filter over list files written from ``category=content`` keyword arguments."""
    for category, content in lists.items():
        (tmp_path / f"{category}.txt").write_text(content, encoding="utf-8")
    cfg = UrlFilterConfig(lists={c: f"{c}.txt" for c in lists})
    return UrlFilter.load(cfg, tmp_path)


@pytest.fixture
def flt(tmp_path) -> UrlFilter:
    return make_filter(
        tmp_path,
        spam="# comment\n\nexample.com\nbücher.example\nxn--mnchen-3ya.de\nxxx\n*/wp-login.php*\n",
        gambling="re:^https?://[^/]+/casino/\nexample.com\n",
    )


@pytest.mark.parametrize("url", [
    "https://example.com/",
    "http://www.example.com/page?x=1",
    "https://a.b.example.com/deep/path",
    "https://user:secret@www.example.com:8443/x",
    "https://WWW.EXAMPLE.COM./",
    "www.example.com/path",
    "example.com",
    "  https://example.com/with-spaces  ",
    "//example.com/protocol-relative",
])
def test_domain_and_subdomains_match(flt, url):
    assert flt.match(url) == UrlMatch("spam", "spam.txt", "example.com")


@pytest.mark.parametrize("url", [
    "https://notexample.com/",
    "https://example.com.evil.org/",
    "https://example.co/",
    "https://example.org/example.com",
    "https://evil.org/?next=https://example.com/",
])
def test_lookalikes_do_not_match(flt, url):
    assert flt.match(url) is None


@pytest.mark.parametrize("url, entry", [
    ("https://xn--bcher-kva.example/", "bücher.example"),
    ("https://www.BÜCHER.example/katalog", "bücher.example"),
    ("https://münchen.de/", "xn--mnchen-3ya.de"),
    ("münchen.de/stadt", "xn--mnchen-3ya.de"),
])
def test_idna_forms_match_each_other(flt, url, entry):
    assert flt.match(url).entry == entry


def test_single_label_blocks_a_top_level_domain(flt):
    assert flt.match("http://anything.xxx/").entry == "xxx"
    assert flt.match("http://xxx.example.org/") is None


def test_wildcard_pattern_matches_the_whole_url_ignoring_case(flt):
    assert flt.match("https://blog.org/wp-login.php?redirect_to=x") == UrlMatch("spam", "spam.txt", "*/wp-login.php*")
    assert flt.match("HTTPS://BLOG.ORG/WP-LOGIN.PHP").entry == "*/wp-login.php*"
    assert flt.match("https://blog.org/login.php") is None


def test_regex_pattern_and_its_category(flt):
    assert flt.match("https://news.org/casino/bonus") == UrlMatch(
        "gambling", "gambling.txt", "re:^https?://[^/]+/casino/")
    assert flt.match("https://news.org/casinos-history") is None


def test_domain_on_two_lists_belongs_to_the_first_category(flt):
    assert flt.match("https://example.com/casino/x").category == "spam"  # domains before patterns, too


def test_most_specific_listed_suffix_wins(tmp_path):
    f = make_filter(tmp_path, spam="example.com\n", adult="adult.example.com\n")
    assert f.match("https://www.adult.example.com/").category == "adult"
    assert f.match("https://www.example.com/").category == "spam"


@pytest.mark.parametrize("url", [
    None, "", "   ", "http://", "http://[::1", "::::", "\x00\x01", "https://a..b/", "http:///path",
    "https://" + "x" * 70 + ".ü.com/", "mailto:", "javascript:void(0)",
])
def test_missing_or_garbage_urls_return_none(flt, url):
    assert flt.match(url) is None


def test_canonical_host():
    assert canonical_host("https://user@Sub.Example.COM.:80/x") == "sub.example.com"
    assert canonical_host("www.example.com/path") == "www.example.com"
    assert canonical_host("https://bücher.example/") == "xn--bcher-kva.example"
    assert canonical_host("http://[::1") is None


def test_filter_is_picklable(flt):
    clone = pickle.loads(pickle.dumps(flt))
    assert clone == flt
    assert clone.match("https://news.org/casino/x").category == "gambling"


def test_disabled_or_empty_config_matches_nothing(tmp_path):
    assert make_filter(tmp_path).match("https://example.com/") is None
    (tmp_path / "spam.txt").write_text("example.com\n", encoding="utf-8")
    off = UrlFilter.load(UrlFilterConfig(enabled=False, lists={"spam": "spam.txt"}), tmp_path)
    assert off.match("https://example.com/") is None


@pytest.mark.parametrize("content, message", [
    ("ok.com\nre:([unclosed\n", "spam.txt:2: 're:([unclosed': not a valid regular expression"),
    ("*.example.com\n", "spam.txt:1: '*.example.com': write 'example.com'"),
    ("https://example.com\n", "spam.txt:1: 'https://example.com': neither a domain"),
    ("exa mple.com\n", "spam.txt:1: 'exa mple.com': neither a domain"),
])
def test_bad_entries_name_file_and_line(tmp_path, content, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        make_filter(tmp_path, spam=content)


def test_missing_list_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        UrlFilter.load(UrlFilterConfig(lists={"spam": "nope.txt"}), tmp_path)


def test_config_is_strict():
    with pytest.raises(ValueError):
        UrlFilterConfig(lists={}, unknown=1)


def test_shipped_lists():
    cfg = UrlFilterConfig(lists={c: f"urls/{c}.txt" for c in ("adult", "gambling", "spam")})
    f = UrlFilter.load(cfg, REPO / "rules")
    assert f.match("https://www.pornhub.com/view").category == "adult"
    assert f.match("https://sports.bet365.com/").category == "gambling"
    assert f.match("https://myblog.example/wp-login.php").category == "spam"
    assert f.match("https://www.essex.ac.uk/") is None
    assert f.match("https://en.wikipedia.org/wiki/Casino") is None
