"""Bibliomesh web front end."""
