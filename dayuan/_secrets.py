"""How weak a secret is: one pure function, used by the production settings check and
`dayuan broker config`. Never returns or logs the value itself.

A good secret: `python -c 'import secrets; print(secrets.token_urlsafe(32))'` (~256 bits).
"""

from __future__ import annotations

import math
import string

# Substrings that mark a value somebody forgot to replace (compared case-insensitively).
PLACEHOLDERS = (
    "change-me",
    "changeme",
    "change_me",
    "example",
    "placeholder",
    "secret",
    "password",
    "xxx",
    "todo",
)
# Machine secrets (token, device, backend) need this much estimated entropy: 32 bytes.
MACHINE_SECRET_BITS = 256
# Each distinct character counts for at most this many positions: a 64-digit hex secret
# (`openssl rand -hex 32`, 16 distinct) stays whole, "aaaa..." or "abab..." is worth little.
REPEATS_COUNTED = 4
# A person's password (the first administrator's) is typed, not generated: a floor of
# length and the placeholder check, with a lighter entropy bar.
ADMIN_PASSWORD_MIN_LENGTH = 12
ADMIN_PASSWORD_BITS = 60


def _alphabet_size(value: str) -> int:
    size = 0
    if any(c in string.ascii_lowercase for c in value):
        size += 26
    if any(c in string.ascii_uppercase for c in value):
        size += 26
    if any(c in string.digits for c in value):
        size += 10
    if any(c not in string.ascii_letters + string.digits for c in value):
        size += 33  # punctuation and anything else: counted as one printable class
    return size


def estimated_bits(value: str) -> float:
    """Conservative: length x log2(alphabet of the classes used), capped by distinct
    characters: each distinct character counts for at most REPEATS_COUNTED positions (a
    value of one repeated character is weak; token_urlsafe(32) still passes)."""
    if not value:
        return 0.0
    per_char = math.log2(_alphabet_size(value))
    return min(len(value), REPEATS_COUNTED * len(set(value))) * per_char


def weakness(value: str, *, min_bits: int, forbidden: tuple[str, ...] = ()) -> str | None:
    """Why `value` is too weak, or None. `forbidden`: exact values refused as well
    (development defaults)."""
    lowered = value.lower()
    if value in forbidden:
        return "is a development default"
    for marker in PLACEHOLDERS:
        if marker in lowered:
            return f"looks like a placeholder (contains {marker!r})"
    bits = estimated_bits(value)
    if bits < min_bits:
        return f"has too little entropy (~{int(bits)} bits, needs {min_bits})"
    return None
