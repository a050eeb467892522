"""The HTTP API for staff and responders (FastAPI): not built yet - see the API issue."""
