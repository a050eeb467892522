"""Entry points and wiring: settings, the `dayuan` CLI, embedded servers, broker config."""
