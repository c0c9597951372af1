"""The launcher: the composition root of the whole platform (like Loki's monolithic mode), and the operator CLI."""
