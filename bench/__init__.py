"""kindpace benchmarks (run on demand: make bench), importable so tests can check the generated histories."""
