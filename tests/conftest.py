"""Test plugins: real PostgreSQL databases and a real Mosquitto, private to each run."""

from collections.abc import Iterator

import pytest
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from api import security

pytest_plugins = ["tests.fix_db", "tests.fix_mqtt", "tests.fix_gateway", "tests.fix_rabbitmq"]

# argon2id at the cost production keeps (pwdlib's recommended: 64 MiB, 3 passes) takes
# about half a second per hash or check on the loaded 2-core test machine, and the API
# and dashboard tests create and log in several users each. Inside the test process the
# same algorithm runs at a cheap cost: what the tests prove is who gets in, not how
# hard a stolen hash is to crack. Production code is untouched (processes a test starts,
# such as `dayuan up`, keep the real cost), and a hash of either cost verifies in both.
CHEAP_ARGON2 = Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(autouse=True, scope="session")
def cheap_password_hashing() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        hasher = PasswordHash((CHEAP_ARGON2,))
        patch.setattr(security, "_hasher", hasher)
        patch.setattr(security, "_DUMMY_HASH", hasher.hash("dayuan-no-such-user"))
        yield
