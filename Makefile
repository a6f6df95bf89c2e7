# Two commands for a fresh machine (see README): `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_STORE := .kindpace/demo-store

.PHONY: demo test test-fast lint docs bench fuzz reliability

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,dev]"
	touch $@

# Import the bundled sample runs into a local store with the sample runner's profile, then print each
# run's verdict with its main reason (kindpace explain ID tells the rest).
demo: $(BIN)/.installed
	$(BIN)/kindpace import samples/activities --store $(DEMO_STORE) --config samples/kindpace.toml
	$(BIN)/kindpace runs --store $(DEMO_STORE) --config samples/kindpace.toml

# Every test, the whole-corpus ones included (they skip, saying why, where ../shared/corpus is absent).
# Two workers, one test file each at a time: the corpus import and the FIT reference run side by side.
test: $(BIN)/.installed
	$(BIN)/python -m pytest -n 2 --dist loadfile

test-fast: $(BIN)/.installed
	$(BIN)/python -m pytest -m "not slow"

# The fuzzer for longer than the tests give it (tests/fuzz: 3,000 examples there; 100,000 here, about
# half an hour on 2 cores). Findings print as (seed, operations, road): add them to REGRESSIONS.
fuzz: $(BIN)/.installed
	KINDPACE_FUZZ_EXAMPLES=100000 $(BIN)/python -m pytest tests/fuzz -x

# Everything that checks "nothing lost, nothing let in" (issue 7), with a longer fuzz and more kills than
# the tests give them, then a table of what was done and found (README, "Reliability report"). About 5
# minutes on 2 cores; RELIABILITY_FUZZ and RELIABILITY_KILLS change the budget.
RELIABILITY_FUZZ ?= 20000
RELIABILITY_KILLS ?= 10
reliability: $(BIN)/.installed
	@mkdir -p .kindpace && rm -f .kindpace/reliability.jsonl
	KINDPACE_RELIABILITY_REPORT=$(CURDIR)/.kindpace/reliability.jsonl KINDPACE_FUZZ_EXAMPLES=$(RELIABILITY_FUZZ) \
	KINDPACE_KILLS=$(RELIABILITY_KILLS) $(BIN)/python -m pytest -n 2 --dist loadfile tests/fuzz tests/reliability \
	  tests/unit/test_hostile_files.py tests/unit/test_archive.py tests/unit/test_store_commit.py; \
	$(BIN)/python -m tests.reliability.report .kindpace/reliability.jsonl $$?

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/mypy connectors pipeline schemas flows kindpace

docs: $(BIN)/.installed
	$(BIN)/python -m schemas.docgen > docs/schema.md

# On demand, never in CI (about 15 minutes on 2 cores: the peers are slow): decode throughput against
# fitparse, fitdecode, the FIT SDK and fitfast on the corpus; kindpace import of a generated history with
# fitvec and with fitparse; a 10,000-file no-op re-import; reading 1,000 activities back; the read-only
# commands. Prints a table of ratios, writes bench/results.json.
bench: $(BIN)/.installed
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	$(BIN)/python bench/bench.py --json bench/results.json
