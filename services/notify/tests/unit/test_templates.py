"""Every template, for every message kind, channel and language, renders with StrictUndefined."""

import pytest
from jinja2 import UndefinedError

from bibliomesh_notify.domain.messages import DIGEST, LANGUAGES, MESSAGE_KINDS
from bibliomesh_notify.service_layer.rendering import TEMPLATES, render_email, render_in_app
from bibliomesh_notify.service_layer.samples import sample_context

CASES = [(kind, directory, template) for kind in [*MESSAGE_KINDS, DIGEST]
         for directory, template in LANGUAGES.items()]


@pytest.mark.parametrize(("kind", "language", "template_language"), CASES)
def test_email_renders_subject_text_and_html(kind: str, language: str, template_language: str) -> None:
    mail = render_email(kind, template_language, sample_context(kind, language))
    assert mail.subject and "\n" not in mail.subject and "{" not in mail.subject
    assert mail.text.strip() and "{{" not in mail.text and "{%" not in mail.text
    assert f'<html lang="{template_language}">' in mail.html and "{{" not in mail.html
    assert "<script" not in mail.html
    if kind.startswith(("patron.", "lender.", "borrower.")):
        # titles are shown as written in text, escaped in HTML
        assert "The Dream of the Red Chamber <vol. 1>" in mail.subject + mail.text
        assert "&lt;vol. 1&gt;" in mail.html and "<vol. 1>" not in mail.html
    if template_language == "zh-CN":
        assert any("\u4e00" <= ch <= "\u9fff" for ch in mail.subject), mail.subject


@pytest.mark.parametrize(("kind", "language", "template_language"),
                         [case for case in CASES if case[0] != DIGEST])
def test_in_app_renders_title_and_body(kind: str, language: str, template_language: str) -> None:
    shown = render_in_app(kind, template_language, sample_context(kind, language))
    assert shown.title and shown.body and "{{" not in shown.body


@pytest.mark.parametrize("kind", [*MESSAGE_KINDS])
def test_a_missing_variable_fails_instead_of_rendering_empty(kind: str) -> None:
    context = sample_context(kind, "en")
    used = "title" if "title" in context else "institution_name"
    del context[used]
    with pytest.raises(UndefinedError):
        render_email(kind, "en", context)


def test_there_is_a_template_for_each_kind_channel_and_language_and_nothing_else() -> None:
    expected = {f"{language}/{channel}/{kind}.j2" for language in LANGUAGES.values()
                for channel in ("email", "in_app") for kind in MESSAGE_KINDS}
    expected |= {f"{language}/email/{DIGEST}.j2" for language in LANGUAGES.values()}
    found = {str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*.j2")}
    assert found == expected


def test_an_override_is_sandboxed() -> None:
    hostile = "{% block subject %}{{ ''.__class__.__mro__[1].__subclasses__() }}{% endblock %}" \
              "{% block text %}x{% endblock %}{% block html %}x{% endblock %}"
    with pytest.raises(Exception, match=r"unsafe|not safely|access"):
        render_email("patron.shipped", "en", sample_context("patron.shipped", "en"), hostile)
