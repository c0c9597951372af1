"""What an institution code looks like: the directory (auth) accepts no other, so a code of another shape names no
institution and is refused before anything is looked up or stored."""

from __future__ import annotations

# The same as auth's CODE_PATTERN (services/auth/.../domain/institutions.py): two capital letters, a hyphen, up to
# 60 letters, digits, colons or hyphens (ISIL style), or the platform operator's PLATFORM.
CODE_PATTERN = r"^[A-Z]{2}-[A-Za-z0-9:\-]{1,60}$|^PLATFORM$"
