"""Reliability: crash safety under SIGKILL, and (next) concurrency and resource faults (issue 7)."""
