"""Mutated FIT, GPX and TCX files through every decoder road: each must decode into activities that
normalize, or be refused with kindpace's own error naming the file and the reason, within 10 s and 1 GB
(tests/fuzz/harness.py). Hypothesis draws the seed, the mutations and the road; the CI budget is
KINDPACE_FUZZ_EXAMPLES (default 3,000 examples, under a minute on 2 cores), `make fuzz` runs a long one. What a
run finds is kept below as (seed, operations, road), regenerated from the seed by REGRESSIONS' test."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import SAMPLES, corpus_root
from tests.fuzz.harness import ROADS, Finding, Sandbox, apply, budget, fuzzing_long, seeds
from tests.reliability.common import tally

SEEDS = seeds(str(corpus_root()), str(SAMPLES))
NAMES = sorted(SEEDS)

_where = st.floats(0, 1, allow_nan=False)
OPERATION = st.one_of(
    st.tuples(st.just("flip"), _where, st.integers(0, 7)),
    st.tuples(st.just("set"), _where, st.integers(0, 255)),
    st.tuples(st.just("truncate"), _where),
    st.tuples(st.just("insert"), _where, st.binary(min_size=1, max_size=64)),
    st.tuples(st.just("delete"), _where, st.integers(1, 256)),
    st.tuples(st.just("splice"), _where, _where, st.integers(1, 512)),
    st.tuples(st.just("huge_size")),
    st.tuples(st.just("wide_fields"), _where),
)

# Inputs fuzzing found, kept: (seed, operations, road, what it did before the fix).
REGRESSIONS: list[tuple[str, tuple[tuple, ...], str, str]] = [
    ("gpsbabel__fitlocations-sample.fit", (("truncate", 0.04377024524424766),), "fitvec",
     "cut inside its header: fitvec's framing popped a message from an empty list (IndexError)"),
    ("runalyze__time-jump.fit", (("flip", 0.6196501120388102, 6), ("set", 0.4466137573033937, 142),
                                 ("insert", 0.5628695665866691, b"\x8cooA \x89\xb7\xa3]@+\xbc\xadx\xb7\x1e=\xd0"),
                                 ("flip", 0.5210547678372777, 5), ("crc",)), "fitvec",
     "damaged, so salvaged by fitdecode, whose reader checks a message's size with assert (AssertionError)"),
    ("gcheetah__Move_2020_01_15_19_27_16_Running.fit", (("insert", 0.6840837250516286, b"{\xd6$p\x94!"),),
     "fitparse", "fitparse could not read it and fitdecode's assert stopped the salvage (AssertionError)"),
    ("fitparse__2013-02-06-12-11-14.fit", (("flip", 0.0, 0),), "fitvec",
     "a 15-byte header: fitdecode's reader raised struct.error"),
    ("runalyze__moxy-float.fit", (("flip", 0.08448996106047015, 0), ("crc",)), "fitvec",
     "a damaged field_description with a field's name where its base type belongs: fitvec's int() (ValueError)"),
    ("garminsdk__HrmPluginTestActivity.fit", (("wide_fields", 0.0), ("splice", 0.0, 0.510136666399872, 92), ("crc",)),
     "fitvec", "a definition naming field 0 of size 0 twice: two columns of one name in fitvec's dtype (ValueError)"),
]


@pytest.fixture(scope="module")
def sandbox():
    box = Sandbox()
    yield box
    box.close()
    tally(inputs_fuzzed=box.runs)


def _check(sandbox: Sandbox, name: str, ops: tuple[tuple, ...], road: str) -> None:
    outcome, detail = sandbox.run(apply(SEEDS[name], list(ops)), f"fuzz/{name}", road)
    assert outcome in ("ok", "refused"), Finding(name, ops, road, outcome, detail)


# The tests' budget draws the same examples every run (a finding must not make CI fail at random: it is
# found by `make fuzz` or `make reliability`, which draw new ones each run, and kept in REGRESSIONS).
@settings(max_examples=budget(3000), deadline=None, suppress_health_check=[HealthCheck.too_slow],
          derandomize=not fuzzing_long())
@given(name=st.sampled_from(NAMES), ops=st.lists(OPERATION, min_size=1, max_size=4), crc=st.booleans(),
       pick=st.integers(0, 1))
def test_a_mutated_file_decodes_or_is_refused_with_its_reason(sandbox, name, ops, crc, pick):
    suffix = Path(name).suffix.lower()
    roads = ROADS[suffix]
    if crc and suffix == ".fit":
        ops = [*ops, ("crc",)]  # past the file CRC, into the decoder's own checks
    _check(sandbox, name, tuple(ops), roads[pick % len(roads)])


@pytest.mark.parametrize(("name", "ops", "road", "found"), REGRESSIONS)
def test_what_fuzzing_found_stays_fixed(sandbox, name, ops, road, found):
    if name not in SEEDS:
        pytest.skip(f"seed {name} is in the corpus, which is not here")
    _check(sandbox, name, ops, road)
