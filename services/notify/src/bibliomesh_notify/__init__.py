"""Bibliomesh notifications."""
