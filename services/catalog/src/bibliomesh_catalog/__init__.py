"""Bibliomesh union catalogue."""
