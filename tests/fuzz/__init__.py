"""Fuzzing: mutated watch files through every decoder road (issue 7)."""
