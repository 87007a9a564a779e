"""Alertmanager's matcher syntax: parsing, quoting, anchored regexes, the API form."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigil_alerter.config.matchers import (
    Matcher,
    MatcherError,
    matchers_match,
    matchers_string,
    parse_matcher,
    parse_matchers,
    sort_matchers,
)

_names = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,10}", fullmatch=True)
_values = st.text(st.characters(exclude_categories=["Cs"]), max_size=20)
_ops = st.sampled_from(["=", "!=", "=~", "!~"])


@pytest.mark.parametrize(
    ("text", "name", "op", "value"),
    [
        ("a=b", "a", "=", "b"),
        ('a="b"', "a", "=", "b"),
        (' severity = "critical" ', "severity", "=", "critical"),
        ('camera_id=~"lot-.*"', "camera_id", "=~", "lot-.*"),
        ("x!~y", "x", "!~", "y"),
        ("x!=", "x", "!=", ""),
        ('q="She said: \\"Hi\\""', "q", "=", 'She said: "Hi"'),
        ('nl="a\\nb"', "nl", "=", "a\nb"),
        ('bs="a\\\\b"', "bs", "=", "a\\b"),
        ('spurious="a\\db"', "spurious", "=", "a\\db"),
        ("trailing=a\\", "trailing", "=", "a\\"),
        ("a==", "a", "=", "="),
    ],
)
def test_parse_matcher(text: str, name: str, op: str, value: str) -> None:
    matcher = parse_matcher(text)
    assert (matcher.name, matcher.op, matcher.value) == (name, op, value)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "bad matcher format"),
        ("1abc=x", "bad matcher format"),
        ('a="b', "unescaped double quote"),
        ('a="b"c"', "unescaped double quote"),
        ("a=~(", "invalid regular expression"),
        ("a~b", "bad matcher format"),
    ],
)
def test_parse_matcher_errors(text: str, reason: str) -> None:
    with pytest.raises(MatcherError, match=reason):
        parse_matcher(text)


def test_parse_matchers_list_forms() -> None:
    expected = [Matcher("foo", "=", "bar"), Matcher("dings", "!=", "bums")]
    assert parse_matchers('{foo = "bar", dings != "bums", }') == expected
    assert parse_matchers("foo=bar,dings!=bums") == expected
    assert parse_matchers('{a="x, y", b=~"1|2"}') == [
        Matcher("a", "=", "x, y"),
        Matcher("b", "=~", "1|2"),
    ]
    assert parse_matchers("{}") == []
    assert parse_matchers("") == []
    with pytest.raises(MatcherError):
        parse_matchers("a=1,,b=2")


def test_regex_is_anchored_and_missing_label_is_empty() -> None:
    matcher = parse_matcher('camera=~"lot-.*"')
    assert matcher.matches({"camera": "lot-1"})
    assert not matcher.matches({"camera": "xlot-1"})
    assert not matcher.matches({"camera": "lot-1\n"})
    assert not matcher.matches({})
    assert parse_matcher('camera=~".*"').matches({})
    assert parse_matcher('camera=""').matches({})
    assert parse_matcher('camera!=""').matches({"camera": "a"})
    assert not parse_matcher('camera!~"lot-.*"').matches({"camera": "lot-9"})
    assert parse_matcher("a=~b|c").matches({"a": "c"})
    assert not parse_matcher("a=~b|c").matches({"a": "bc"})


def test_matchers_match_needs_all() -> None:
    matchers = parse_matchers('a="1", b=~"2|3"')
    assert matchers_match(matchers, {"a": "1", "b": "3", "c": "x"})
    assert not matchers_match(matchers, {"a": "1", "b": "4"})
    assert matchers_match([], {"anything": "goes"})


def test_string_forms_and_sorting() -> None:
    matchers = sort_matchers(parse_matchers('z="1", a=~"x", a="x", a!="x", a="w"'))
    assert matchers_string(matchers) == '{a="w",a="x",a!="x",a=~"x",z="1"}'
    assert str(Matcher("q", "=", 'say "hi"\n\\')) == 'q="say \\"hi\\"\\n\\\\"'


def test_api_form() -> None:
    cases = {
        "=": {"isRegex": False, "isEqual": True},
        "!=": {"isRegex": False, "isEqual": False},
        "=~": {"isRegex": True, "isEqual": True},
        "!~": {"isRegex": True, "isEqual": False},
    }
    for op, flags in cases.items():
        matcher = Matcher("severity", op, "crit.*" if "~" in op else "critical")  # type: ignore[arg-type]
        assert matcher.to_api() == {"name": "severity", "value": matcher.value, **flags}
        assert Matcher.from_api(matcher.to_api()) == matcher
    assert Matcher.from_api({"name": "a", "value": "b", "isRegex": False}).op == "="
    with pytest.raises(MatcherError):
        Matcher.from_api({"name": "a", "value": "(", "isRegex": True, "isEqual": True})
    with pytest.raises(MatcherError):
        Matcher.from_api({"name": "bad-name", "value": "b", "isRegex": False})
    with pytest.raises(MatcherError):
        Matcher.from_api({"value": "b"})


@given(_names, _ops, _values)
def test_string_form_parses_back(name: str, op: str, value: str) -> None:
    if "~" in op:
        value = re.escape(value)
    matcher = Matcher(name, op, value)  # type: ignore[arg-type]
    assert parse_matcher(str(matcher)) == matcher
    assert parse_matchers(matchers_string([matcher, matcher])) == [matcher, matcher]


@given(_names, _values, _values)
def test_escaped_regex_matches_only_its_literal(name: str, value: str, other: str) -> None:
    matcher = Matcher(name, "=~", re.escape(value))
    assert matcher.matches({name: value})
    assert matcher.matches({name: other}) == (other == value)
    assert Matcher(name, "!~", re.escape(value)).matches({name: other}) == (other != value)


@given(_names, _values, _values)
def test_regex_never_matches_a_mere_substring(name: str, value: str, extra: str) -> None:
    matcher = Matcher(name, "=~", re.escape(value))
    if extra:
        assert not matcher.matches({name: value + extra})
        assert not matcher.matches({name: extra + value})
