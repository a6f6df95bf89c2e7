"""Unit tests: plain functions, generated fixtures, no Prefect server."""
