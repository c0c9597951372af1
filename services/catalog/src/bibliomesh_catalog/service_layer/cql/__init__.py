"""CQL for SRU: the parser, its translation into the catalogue's search tree, and SRU diagnostics."""

from bibliomesh_catalog.service_layer.cql.diagnostics import Diagnostic
from bibliomesh_catalog.service_layer.cql.parser import CqlQuery, CqlSyntaxError, parse
from bibliomesh_catalog.service_layer.cql.translate import Translation, translate

__all__ = ["CqlQuery", "CqlSyntaxError", "Diagnostic", "Translation", "parse", "translate"]
