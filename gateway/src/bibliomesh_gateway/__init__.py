"""Bibliomesh gateway."""
