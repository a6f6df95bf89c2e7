"""Whole-corpus tests (marked slow), read from ../shared/corpus or KINDPACE_CORPUS."""
