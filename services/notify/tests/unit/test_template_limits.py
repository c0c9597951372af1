"""An institution's own template renders within bounded size, structure, work and time; breaking a limit is an
error naming it, and at send time the built-in template takes over."""

import logging
import time

import pytest

from bibliomesh_notify.service_layer.rendering import render_email, render_in_app, render_in_app_or_default
from bibliomesh_notify.service_layer.samples import sample_context
from bibliomesh_notify.service_layer.template_limits import Budget, TemplateLimitError

KIND = "patron.shipped"


def in_app(body: str, title: str = "x") -> str:
    return f"{{% block title %}}{title}{{% endblock %}}{{% block body %}}{body}{{% endblock %}}"


def render(body: str, title: str = "x") -> str:
    return render_in_app(KIND, "en", sample_context(KIND, "en"), in_app(body, title)).body


@pytest.mark.parametrize(("body", "limit"), [
    # what QA stored: 70 MB in one notification
    ('{{ "a" * 20000000 }}', "65,536 characters"),
    ("{{ title * 1000000 }}", "65,536 characters"),
    # doubling, which no single operator shows
    ('{% set a = "x" * 1000 %}' + "{% set a = a ~ a %}" * 18 + "{{ a|length }}", "65,536 characters"),
    ('{% set ns = namespace(s="x") %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}',
     "65,536 characters"),
    ('{% set a = ["x" * 60000] %}' + "{% set a = a + a %}" * 18 + "{{ a|length }}", "65,536 characters"),
    # the same long text many times over, printed or joined
    ('{% set s = "x" * 60000 %}{{ [s, s, s, s]|join }}', "65,536 characters"),
    ('{% set s = "x" * 60000 %}{{ [s, s, s, s] }}', "65,536 characters"),
    ('{{ range(1000)|map("string")|join("y" * 600) }}', "65,536 characters"),
    # padding and replacing
    ('{{ "a"|center(999999999) }}', "65,536 characters"),
    ('{{ ("a\n" * 30000)|indent(1000) }}', "65,536 characters"),
    ('{{ ("a" * 60000)|replace("", "b" * 600) }}', "65,536 characters"),
    ('{{ "%999999999s" % 1 }}', "1,000 characters"),
    ('{{ "%*s"|format(999999999, 1) }}', "1,000 characters"),
    ('{{ [1]|batch(1000000000, fill_with="x")|list }}', "10,000 items"),
    ("{{ 7 ** 100000000 }}", "4,096 bits"),
    # work: QA's 2 s loops, and loops within the range limit that still do too much
    ("{% for i in range(30000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}", "1,000 numbers"),
    ("{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}", "100,000 steps|0.1 s"),
    ("{% for i in range(1000) %}" + "{% if i %}{% endif %}" * 100 + "{% endfor %}", "100,000 steps"),
    # writing: captured text counts as much as output
    ("{% set s %}{% for i in range(1000) %}{% for j in range(100) %}" + "y" * 1000
     + "{% endfor %}{% endfor %}{% endset %}{{ s|length }}", "262,144 characters"),
    ("{% for i in range(1000) %}{% for j in range(100) %}{{ i }}{% endfor %}{% endfor %}", "8,000 characters"),
])
def test_a_template_that_would_make_too_much_is_stopped_naming_the_limit(body: str, limit: str) -> None:
    started = time.perf_counter()
    with pytest.raises(TemplateLimitError, match=limit):
        render(body)
    assert time.perf_counter() - started < 5  # stopped, not finished (unbounded, some would take minutes)


@pytest.mark.parametrize(("source", "refused"), [
    ("{% for i in range(2) %}{% for j in range(2) %}{% for k in range(2) %}{% endfor %}{% endfor %}{% endfor %}",
     "nest at most 2"),
    ("{% for i in [[1]] recursive %}{{ loop(i) }}{% endfor %}", "recursive"),
    ('{% include "layout.html" %}', "include"),
    ('{% import "layout.html" as page %}', "import"),
    ('{% extends "layout.html" %}', "extends"),
    ("{% macro again() %}{{ again() }}{% endmacro %}{{ again() }}", "macro"),
    ("{{ _concat }}", "reserved"),
    ("{% set _loop_turns = range %}", "reserved"),
])
def test_a_template_outside_the_allowed_structure_is_refused_before_it_runs(source: str, refused: str) -> None:
    with pytest.raises(TemplateLimitError, match=refused):
        render(source)


@pytest.mark.parametrize("body", ['{{ "a".ljust(1000000000) }}', '{{ "{:>999999999}".format(1) }}',
                                  '{{ "a".replace("", "bb") }}', '{{ (1).to_bytes(1000000000, "big") }}'])
def test_methods_that_pad_or_repeat_are_not_offered(body: str) -> None:
    with pytest.raises(Exception, match="unsafe"):
        render(body)


def test_the_source_has_a_size_limit() -> None:
    with pytest.raises(TemplateLimitError, match="20,000 characters"):
        render("x" * 20_001)


def test_an_email_block_over_its_limit_is_named() -> None:
    source = ('{% block subject %}{{ "s" * 1001 }}{% endblock %}{% block text %}x{% endblock %}'
              "{% block html %}x{% endblock %}")
    with pytest.raises(TemplateLimitError, match="`subject` block renders more than 1,000"):
        render_email(KIND, "en", sample_context(KIND, "en"), source)


def test_a_template_past_its_time_is_stopped() -> None:
    with pytest.raises(TemplateLimitError, match=r"longer than 0\.1 s"):
        Budget(deadline=time.thread_time() - 1).charge(1, 0)


def test_ordinary_templates_render_as_before() -> None:
    body = ("{{ lender|upper }} sent “{{ title|truncate(20) }}” ({{ title.split()|length }} words){% if rush %}, "
            "rush{% endif %}. {{ '%-5s|'|format('ab') }} {{ [1, 2, 3]|join(', ') }} "
            "{% for i in range(3) %}{% for c in 'ab' %}{{ loop.index }}{{ c }}{% endfor %};{% endfor %}"
            "{{ 'x' * 3 ~ '!' }} {{ 2 ** 10 }} {{ dict(a=1).items()|list }} "
            "{% for c in 'ab' %}{% for d in range(2) %}{{ c ~ d }}{% endfor %}{% endfor %}")
    assert render(body) == ("DALIAN PUBLIC LIBRARY sent “The Dream of the...” (8 words), rush. ab   | 1, 2, 3 "
                            "1a2b;1a2b;1a2b;xxx! 1024 [('a', 1)] a0a1b0b1")
    source = ('{% block subject %}{{ "<b>" ~ title }}{% endblock %}{% block text %}{{ "<b>" ~ title }}{% endblock %}'
              '{% block html %}<p>{{ "<b>" ~ title }}</p><p>{{ "<b>"|safe ~ title }}</p>{% endblock %}')
    mail = render_email(KIND, "en", sample_context(KIND, "en"), source)
    assert "<p>&lt;b&gt;The Dream of the Red Chamber &lt;vol. 1&gt;</p>" in mail.html  # `~` still escapes
    assert "<p><b>The Dream of the Red Chamber &lt;vol. 1&gt;</p>" in mail.html
    assert mail.text == "<b>The Dream of the Red Chamber <vol. 1>\n"


def test_a_large_input_is_no_reason_to_refuse_what_does_not_print_it() -> None:
    items = [{"title": f"Message {n}", "body": "b" * 200} for n in range(1_000)]  # a busy day's digest: 200 KB
    context = {**sample_context("digest", "en"), "items": items}
    source = ("{% block subject %}{{ items|length }} messages, the first “{{ (items|first).title }}”{% endblock %}"
              "{% block text %}{% for item in items|reverse|list %}{% if loop.index <= 2 %}* {{ item.title }}\n"
              "{% endif %}{% endfor %}{% endblock %}{% block html %}{{ items|map(attribute='title')|first }}"
              "{% endblock %}")
    mail = render_email("digest", "en", context, source)
    assert (mail.subject, mail.text) == ("1000 messages, the first “Message 0”", "* Message 999\n* Message 998\n")
    with pytest.raises(TemplateLimitError, match="`string` filter's input"):
        render_email("digest", "en", context, source.replace("{{ items|length }}", "{{ items|string }}"))


def test_at_send_time_an_own_template_that_breaks_a_limit_gives_way_to_the_built_in_one(
        caplog: pytest.LogCaptureFixture) -> None:
    context = {**sample_context(KIND, "en"), "title": "E" * 900}
    own = in_app("{{ title * 10 }}", "{{ title }}")
    with caplog.at_level(logging.WARNING):
        shown = render_in_app_or_default(KIND, "en", context, own, "CN-U1")
    assert shown == render_in_app(KIND, "en", context)
    assert len(shown.body) < 2_000
    warned = [r for r in caplog.records if "built-in" in r.getMessage()]
    assert warned and warned[0].institution == "CN-U1" and "8,000 characters" in warned[0].error  # type: ignore[attr-defined]
