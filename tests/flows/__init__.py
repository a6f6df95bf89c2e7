"""Tests of the real Prefect flows and the command line."""
