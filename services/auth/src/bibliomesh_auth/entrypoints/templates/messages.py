"""The sign-in pages' words in English and Simplified Chinese (`meshkit.languages` chooses which)."""

from __future__ import annotations

import json
from pathlib import Path

MESSAGES: dict[str, dict[str, str]] = json.loads((Path(__file__).parent / "messages.json").read_text("utf-8"))
"""Keyed by language, then by message; translators edit the JSON file."""


