"""Test plugins: real PostgreSQL databases and a real Mosquitto, private to each run."""

pytest_plugins = ["tests.fix_db", "tests.fix_mqtt", "tests.fix_gateway", "tests.fix_rabbitmq"]
