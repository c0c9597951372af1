"""The official schemas, loaded once from the package's own copy and used to check every outgoing message."""

from __future__ import annotations

import threading
from functools import cache
from importlib import resources

from lxml import etree

from bibliomesh_ill.iso18626.codes import Version

SCHEMA_FILES = {Version.V1_2: "ISO-18626-v1_2.xsd", Version.V2021: "ISO-18626-2021-2.xsd"}

# lxml validators keep their error log on the object: one validation at a time.
_lock = threading.Lock()


@cache
def schema(version: Version) -> etree.XMLSchema:
    source = resources.files("bibliomesh_ill.iso18626").joinpath("schemas", SCHEMA_FILES[version])
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    with source.open("rb") as xsd:
        return etree.XMLSchema(etree.parse(xsd, parser))


def schema_problems(document: etree._Element, version: Version) -> list[str]:
    """Why `document` is not valid against `version`'s schema (empty when it is)."""
    checker = schema(version)
    with _lock:
        if checker.validate(document):
            return []
        return [f"line {error.line}: {error.message}" for error in checker.error_log]
