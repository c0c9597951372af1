"""Bibliomesh auth: who the member institutions are, and the tokens every other service checks."""
