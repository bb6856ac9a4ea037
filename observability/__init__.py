"""Logging with personal-data scrubbing, and (later) observers and metrics."""
