"""How weak a secret is: one pure function, used by the production settings check and
`dayuan broker config`. Never returns or logs the value itself.

A good secret: `python -c 'import secrets; print(secrets.token_urlsafe(32))'` (~256 bits).
"""

from __future__ import annotations

import math
import re
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
# Machine secrets (token, device, backend) need this much estimated entropy. 32 random
# bytes in base64 (`token_urlsafe(32)`, 43 characters) estimate 245 to 282 bits here,
# depending on which character classes one draw happens to use (one in ~3,000 draws has
# no digit and no `-`/`_`): the bar sits below the lowest, far above any typed phrase.
MACHINE_SECRET_BITS = 240
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
        # A word of its own ("my-secret-value", "CHANGE-ME"), not three letters a random
        # token happens to contain (~1 in 1,000 draws of token_urlsafe(32) holds "xxx",
        # "todo" or "secret" somewhere).
        if re.search(rf"(?<![a-z0-9]){re.escape(marker)}(?![a-z0-9])", lowered):
            return f"looks like a placeholder (contains {marker!r})"
    bits = estimated_bits(value)
    if bits < min_bits:
        return f"has too little entropy (~{int(bits)} bits, needs {min_bits})"
    return None
