"""kindpace tests: unit, flow and whole-corpus."""
