"""The gateway's copy of the registry, refreshed in the background.

Looked up once per message, so it is a plain dict read. It reloads every
`refresh_s`, and sooner (at most every `MIN_REFRESH_S`) when an unknown device shows
up, so a device registered a moment ago is recognised within seconds. A failing
reload keeps the previous copy: a database blip must not make every device unknown.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping

from gateway._intake import KnownDevice

log = logging.getLogger(__name__)

# At most one extra reload per 2 s however many unknown devices are knocking.
MIN_REFRESH_S = 2.0


class DeviceDirectory:
    def __init__(
        self,
        loader: Callable[[], Mapping[str, KnownDevice]],
        *,
        refresh_s: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._loader = loader
        self._refresh_s = refresh_s
        self._monotonic = monotonic
        self._devices: Mapping[str, KnownDevice] = {}
        self._loaded_at = float("-inf")
        self._wanted = threading.Event()

    def get(self, device_id: str) -> KnownDevice | None:
        found = self._devices.get(device_id)
        if found is None and self._monotonic() - self._loaded_at >= MIN_REFRESH_S:
            self._wanted.set()
        return found

    def reload(self) -> bool:
        try:
            devices = self._loader()
        except Exception as exc:  # any loader failure: keep serving the last good copy
            log.warning(
                "registry reload failed, keeping %d known devices: %s", len(self._devices), exc
            )
            return False
        self._devices = devices
        self._loaded_at = self._monotonic()
        return True

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self._wanted.wait(self._refresh_s)
            if stop.is_set():
                return
            self._wanted.clear()
            self.reload()

    def wake(self) -> None:
        self._wanted.set()
