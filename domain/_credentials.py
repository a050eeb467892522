"""Per-device MQTT credentials, derived from one secret.

A device's password is an HMAC of its id under the deployment's device secret, so
the broker's password file, the provisioning sheet and the simulator all agree
without a table of plaintext passwords anywhere.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

PASSWORD_BYTES = 24  # 192 bits: far beyond guessing, still short enough to type in a config UI


def device_password(secret: str, device_id: str) -> str:
    digest = hmac.new(secret.encode(), f"dayuan-device:{device_id}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()[:PASSWORD_BYTES]).decode().rstrip("=")
