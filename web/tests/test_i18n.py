"""Both languages say everything: the catalogues have the same keys and the same placeholders, and every key a
template or page asks for exists."""

from __future__ import annotations

import re
import string
from pathlib import Path
from typing import get_args

from bibliomesh_catalog.domain.matching import STRENGTH
from bibliomesh_catalog.domain.records import HoldingStatus
from bibliomesh_catalog.entrypoints.api.routes.harvest import HarvestRun, HarvestSource
from bibliomesh_contracts.events.directory.institution import Iso18626Peer
from bibliomesh_notify.domain.messages import MESSAGE_KINDS
from bibliomesh_web.i18n import Translator, catalogue
from bibliomesh_web.peer_form import SCHEMA_VERSIONS
from meshkit.languages import choose_language

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "bibliomesh_web"


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_english_and_chinese_have_the_same_keys_and_placeholders() -> None:
    english, chinese = catalogue("en"), catalogue("zh")
    assert english.keys() == chinese.keys()
    assert {k for k in english if _placeholders(english[k]) != _placeholders(chinese[k])} == set()


def test_every_literal_key_used_exists() -> None:
    used: set[str] = set()
    for path in [*PACKAGE.glob("templates/*.html"), *PACKAGE.glob("pages/*.py"), *PACKAGE.glob("*.py")]:
        text = path.read_text("utf-8")
        used |= set(re.findall(r"""\bt\(["']([a-z_]+\.[A-Za-z_.:]+)["']\s*[,)]""", text))
        used |= set(re.findall(r"""flash\("(?:ok|error)", "([a-z_]+\.[a-z_]+)\"""", text))
    missing = {key for key in used if key not in catalogue("en")}
    assert not missing


def test_every_item_status_and_matching_key_of_the_catalogue_has_a_label() -> None:
    # The record page shows them through `t.label`, which would quietly fall back to the code.
    wanted = {f"item.{status}" for status in get_args(HoldingStatus)} | {f"joined.{kind}" for kind in STRENGTH}
    assert wanted - catalogue("en").keys() == set() and wanted - catalogue("zh").keys() == set()


def test_every_harvest_run_status_and_trigger_of_the_catalogue_has_a_label() -> None:
    # The harvesting page shows them through `t.label`, which would quietly fall back to the code.
    statuses = {*get_args(HarvestRun.model_fields["status"].annotation),
                *get_args(get_args(HarvestSource.model_fields["last_status"].annotation)[0])}
    wanted = {f"harvest_status.{status}" for status in statuses}
    wanted |= {f"harvest_trigger.{trigger}" for trigger in get_args(HarvestRun.model_fields["trigger"].annotation)}
    assert len(wanted) >= 6
    assert wanted - catalogue("en").keys() == set() and wanted - catalogue("zh").keys() == set()


def test_every_iso18626_edition_of_the_directory_is_offered_and_has_a_label() -> None:
    # The peers pages offer the editions the directory takes and show them through `t.label`, which would quietly
    # fall back to the code.
    editions = set(get_args(Iso18626Peer.model_fields["schema_version"].annotation))
    assert set(SCHEMA_VERSIONS) == editions and len(editions) >= 2
    wanted = {f"peer_schema.{edition}" for edition in editions}
    assert wanted - catalogue("en").keys() == set() and wanted - catalogue("zh").keys() == set()


def test_every_message_kind_of_notify_has_a_name_and_an_explanation() -> None:
    # The notification settings pages show them through `t.label`, which would quietly fall back to the code.
    wanted = {f"{part}.{kind}" for kind in MESSAGE_KINDS for part in ("notice", "notice_when")}
    wanted |= {f"notice_group.{kind.split('.', 1)[0]}" for kind in MESSAGE_KINDS}
    assert wanted - catalogue("en").keys() == set() and wanted - catalogue("zh").keys() == set()


def test_language_comes_from_the_choice_then_the_browser_then_english() -> None:
    assert choose_language("zh", "en-GB,en") == "zh"
    assert choose_language(None, "zh-CN,zh;q=0.9,en;q=0.8") == "zh"
    assert choose_language(None, "fr-FR, en;q=0.5, zh;q=0.7") == "zh"
    assert choose_language("de", "de-DE") == "en"
    assert choose_language(None, None) == "en"


def test_labels_fall_back_to_readable_codes() -> None:
    t = Translator("zh")
    assert t.label("state", "shipped") == "已寄出"
    assert t.label("state", "some_new_state") == "some new state"
    assert t("search.count", count=3) == "共 3 条结果"
