"""Bibliomesh interlibrary-loan broker."""
