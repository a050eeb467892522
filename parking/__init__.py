"""Parking and vehicles ("user pays", 享用者付费): stays paired from the barriers'
plate reads (missed entries and exits handled), each compound's tariff and the fee of
each stay, the lot's occupancy beside the barriers' own count, and the retention of
stays. The vehicle registry itself (residents' plates, visitors' windows) is the
registry's (`registry.add_vehicle`, `registry.known_plates`): the rules, below this
package, read it there. No MQTT, no HTTP.
"""

from parking._errors import (
    InvalidPeriod,
    InvalidTariff,
    ParkingError,
    ParkingStoreError,
    UnknownCompound,
)
from parking._stays import (
    BATCH,
    BEFORE_RECORDS,
    MAX_PERIOD,
    PARKING_KEEP,
    REPEAT_WINDOW,
    SETTLE,
    FeeTotal,
    Occupancy,
    Stay,
    SweepResult,
    fee_total,
    occupancy,
    purge,
    stays,
    sweep,
)
from parking._tariff import (
    DEFAULT_TARIFF,
    MAX_FLAT_FEN,
    MAX_FREE_MINUTES,
    MAX_HOURLY_FEN,
    Tariff,
    fee,
    missed_fee,
    set_tariff,
    tariff_of,
    tariffs,
)

__all__ = [
    "BATCH",
    "BEFORE_RECORDS",
    "DEFAULT_TARIFF",
    "MAX_FLAT_FEN",
    "MAX_FREE_MINUTES",
    "MAX_HOURLY_FEN",
    "MAX_PERIOD",
    "PARKING_KEEP",
    "REPEAT_WINDOW",
    "SETTLE",
    "FeeTotal",
    "InvalidPeriod",
    "InvalidTariff",
    "Occupancy",
    "ParkingError",
    "ParkingStoreError",
    "Stay",
    "SweepResult",
    "Tariff",
    "UnknownCompound",
    "fee",
    "fee_total",
    "missed_fee",
    "occupancy",
    "purge",
    "set_tariff",
    "stays",
    "sweep",
    "tariff_of",
    "tariffs",
]
