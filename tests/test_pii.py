"""PII redaction: known inputs to known outputs and counts, false-positive traps left untouched, configuration."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from data_platform.clean.pii import PiiConfig, redact

CN_ID = r"(?<!\d)\d{17}[\dXx](?![\dXx])"
DEFAULT = PiiConfig()


@pytest.mark.parametrize("text, expected, counts", [
    ("mail jane.doe+news@example.co.uk now", "mail <EMAIL> now", {"email": 1}),
    ("Write to a_b-c@mail.example.org.", "Write to <EMAIL>.", {"email": 1}),
    ("联系邮箱zhang.san@163.com谢谢", "联系邮箱<EMAIL>谢谢", {"email": 1}),
    ("clone git@github.com:org/repo.git", "clone <EMAIL>:org/repo.git", {"email": 1}),
    ("two: a@x.io, b@y.io", "two: <EMAIL>, <EMAIL>", {"email": 2}),
])
def test_emails(text, expected, counts):
    assert redact(text, DEFAULT) == (expected, counts)


@pytest.mark.parametrize("text", [
    "ssh user@localhost",
    "npm i left-pad@1.3.0",
    '<img srcset="logo@2x.png 2x">',
    "@mention someone",
])
def test_email_look_alikes_kept(text):
    assert redact(text, DEFAULT) == (text, {})


@pytest.mark.parametrize("text, expected, counts", [
    ("from 192.168.0.1 and 8.8.8.8.", "from <IP> and <IP>.", {"ip": 2}),
    ("host 255.255.255.255:8080/x", "host <IP>:8080/x", {"ip": 1}),
    ("服务器10.0.0.1已重启", "服务器<IP>已重启", {"ip": 1}),
    ("v6 2001:0db8:85a3:0000:0000:8a2e:0370:7334 up", "v6 <IP> up", {"ip": 1}),
    ("v6 2001:db8::8a2e:370:7334, fe80::1:2:3", "v6 <IP>, <IP>", {"ip": 2}),
    ("http://[2001:db8::1]:443/", "http://[<IP>]:443/", {"ip": 1}),
    ("mapped ::ffff:192.0.2.128 here", "mapped <IP> here", {"ip": 1}),
])
def test_ips(text, expected, counts):
    assert redact(text, DEFAULT) == (expected, counts)


@pytest.mark.parametrize("text", [
    "999.1.1.1",
    "256.0.0.1 and 010.1.1.1",
    "1.2.3.4.5",
    "version 1.2.3.4",
    "Version: 2.0.1.3",
    "ver. 10.0.0.1",
    "release 4.3.2.1",
    "v 1.2.3.4, v1.2.3.4",
    "at 12:30:45",
    "MAC 00:1A:2B:3C:4D:5E",
    "x[1::2] and Face::add and ::1",
])
def test_ip_look_alikes_kept(text):
    assert redact(text, DEFAULT) == (text, {})


@pytest.mark.parametrize("text, expected", [
    ("call +44 20 7946 0958 today", "call <PHONE> today"),
    ("call +1-202-555-0143.", "call <PHONE>."),
    ("手机：+86 138 0013 8000", "手机：<PHONE>"),
    ("Tel.+44 (0)20 7946 0958", "Tel.<PHONE>"),
    ("+8613800138000", "<PHONE>"),
    ("office (202) 555-0143", "office <PHONE>"),
    ("office 202-555-0143, fax 202.555.0144", "office <PHONE>, fax <PHONE>"),
    ("toll free 1-800-555-0199", "toll free <PHONE>"),
    ("电话13800138000或138-0013-8000", "电话<PHONE>或<PHONE>"),
    ("北京 010-62345678", "北京 <PHONE>"),
])
def test_phones(text, expected):
    assert redact(text, DEFAULT) == (expected, {"phone": expected.count("<PHONE>")})


@pytest.mark.parametrize("text", [
    "released 2024-01-15, 15/01/2024 or 2024.01.15",
    "at 2024-01-15T10:20:30Z and 12:30:45",
    "ts 1700000000 and 1700000000123",
    "price $1,299.99 or € 1.299,00 or 1 299,00 €",
    "in 1999 there were 12345 users",
    "in 2023 1500000 people",
    "1. 2. 3. done",
    "ISBN 978-0-306-40615-7 and 0-306-40615-2",
    "pi 3.14159265358979",
    "order 123-456-7890 (area code starts with 1)",
    "营收13800000000元",
    "+12 345 678 €",
    "+12345",
    "+1 202 555 0143 0000 0000 0000",
    "202-555-01435",
    "UTC+08:00",
])
def test_phone_look_alikes_kept(text):
    assert redact(text, DEFAULT) == (text, {})


@pytest.mark.parametrize("text", [
    "version 1.2.3.4, v2.10.0, Python 3.11.7",
    "released 2024-01-15 at 2024-01-15T10:20:30Z, 12:30:45, 15/01/2024",
    "costs $1,299.99 or € 1.299,00",
    "in 1999 there were 12345 users: 1. 2. 3.",
    "999.1.1.1",
])
def test_traps_untouched_with_everything_on(text):
    cfg = PiiConfig(id_patterns={"cn_id": CN_ID})
    assert redact(text, cfg) == (text, {})


def test_id_pattern_default_placeholder_and_order():
    cfg = PiiConfig(id_patterns={"cn_id": CN_ID})
    text = "身份证号11010519491231002X，另一个 110105194912310021; phone 13800138000"
    assert redact(text, cfg) == ("身份证号<CN_ID>，另一个 <CN_ID>; phone <PHONE>", {"cn_id": 2, "phone": 1})


def test_ids_run_before_phones():
    text = "customer ID 13800138000"
    assert redact(text, DEFAULT) == ("customer ID <PHONE>", {"phone": 1})
    cfg = PiiConfig(id_patterns={"customer": r"ID \d{11}"}, placeholders={"customer": "ID <CUSTOMER>"})
    assert redact(text, cfg) == ("customer ID <CUSTOMER>", {"customer": 1})


def test_mixed_kinds_and_placeholders():
    cfg = PiiConfig(id_patterns={"staff": r"\bEMP-\d{6}\b"}, placeholders={"staff": "[STAFF]", "ip": "[IP]"})
    text = "EMP-123456 (emp-123456@corp.example.com) logged in from 10.1.2.3, call +1 202 555 0143"
    assert redact(text, cfg) == ("[STAFF] (<EMAIL>) logged in from [IP], call <PHONE>",
                                 {"staff": 1, "email": 1, "ip": 1, "phone": 1})


def test_email_digits_are_not_phones():
    assert redact("13800138000@qq.com", DEFAULT) == ("<EMAIL>", {"email": 1})


def test_kinds_switch_off():
    text = "a@b.com 10.0.0.1 +44 20 7946 0958"
    assert redact(text, PiiConfig(enabled=False)) == (text, {})
    assert redact(text, PiiConfig(email=False, phone=False)) == ("a@b.com <IP> +44 20 7946 0958", {"ip": 1})
    assert redact(text, PiiConfig(ip=False)) == ("<EMAIL> 10.0.0.1 <PHONE>", {"email": 1, "phone": 1})


def test_empty_id_matches_are_skipped():
    assert redact("ab 12", PiiConfig(id_patterns={"n": r"\d*"})) == ("ab <N>", {"n": 1})


def test_config_validation():
    with pytest.raises(ValidationError, match=r"cn_id.*not a valid regular expression"):
        PiiConfig(id_patterns={"cn_id": r"\d{17}[\dX"})
    with pytest.raises(ValidationError, match="must be an identifier"):
        PiiConfig(id_patterns={"email": r"x"})
    with pytest.raises(ValidationError, match="unknown kinds"):
        PiiConfig(placeholders={"emial": "<E>"})
    with pytest.raises(ValidationError, match="extra"):
        PiiConfig(emails=True)
    cfg = PiiConfig(placeholders={"email": "[E]"})
    assert cfg.placeholders == {"email": "[E]", "phone": "<PHONE>", "ip": "<IP>"}
    with pytest.raises(ValidationError):
        cfg.email = False  # frozen


def _corpus_cases() -> list[tuple[str, str, str]]:
    import yaml

    from tests.conftest import REPO

    sections = yaml.safe_load((REPO / "tests/data/pii_cases.yaml").read_text())
    return [(name, text, expected) for name, section in sections.items() for text, expected in section["cases"]]


@pytest.mark.parametrize("section, text, expected", _corpus_cases())
def test_pii_corpus(section, text, expected):
    assert redact(text, DEFAULT)[0] == expected
