"""Facts the FIT connector keeps beyond the records, each checked against fitdecode on real files."""

from __future__ import annotations

import warnings
from pathlib import Path

import fitdecode
import pytest

from connectors.fit import decode_fit

pytestmark = pytest.mark.slow


def _fitdecode_messages(path: Path, name: str) -> list[fitdecode.FitDataMessage]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with fitdecode.FitReader(str(path), check_crc=fitdecode.CrcCheck.WARN) as reader:
            return [f for f in reader if isinstance(f, fitdecode.FitDataMessage) and f.name == name]


def _field(mesg: fitdecode.FitDataMessage, number: int):
    return next((fd.value for fd in mesg.fields if fd.def_num == number and fd.field_def is not None), None)


@pytest.mark.parametrize("name", [
    "fitparserjs__garmin-stamina.fit",
    "gcheetah__2024-10-20-104352-Pool_Swim-BingiWatch.fit",
    "gcheetah__Fr955v19.28andStryd.fit",
    "gcheetah__Indoor_Cycling2smO2sensors.fit",
])
def test_the_runners_own_feel_and_rpe_are_kept(corpus: Path, name: str):
    """Garmin session fields 192 (workout feel) and 193 (workout RPE): the labels for the verdicts."""
    path = corpus / "fit" / name
    sessions = _fitdecode_messages(path, "session")
    acts = decode_fit(path.read_bytes(), str(path))
    assert [(a.meta.workout_feel, a.meta.workout_rpe) for a in acts] == [
        (_field(s, 192), _field(s, 193)) for s in sessions
    ]


def test_sensors_name_a_chest_strap_and_the_optical_sensor(corpus: Path):
    path = corpus / "fit" / "gcheetah__Fr955v19.28andStryd.fit"
    antplus = {fd.value for m in _fitdecode_messages(path, "device_info") for fd in m.fields
               if fd.name == "antplus_device_type" and fd.value is not None}
    assert antplus == {"heart_rate", "stride_speed_distance"}
    (act,) = decode_fit(path.read_bytes(), str(path))
    assert {f"{kind}/antplus" for kind in antplus} <= set(act.meta.sensors)


@pytest.mark.parametrize("name", ["fitparse__developer-types-sample.fit", "runalyze__swim-via-iq.fit"])
def test_developer_fields_are_kept_as_a_long_table(corpus: Path, name: str):
    path = corpus / "fit" / name
    expected = sum(
        1 for m in _fitdecode_messages_all(path) for fd in m.fields
        if type(fd.field_def).__name__ == "DevFieldDefinition" and fd.value is not None
    )
    acts = decode_fit(path.read_bytes(), str(path))
    kept = sum(a.developer_fields.num_rows for a in acts)
    assert kept == expected > 0
    if name == "runalyze__swim-via-iq.fit":
        # a Connect IQ field called "distance" must not replace the native record distance
        names = {n.lower() for a in acts for n in a.developer_fields["name"].to_pylist()}
        assert "distance" in names
        assert all(a.records["distance_m"].null_count < a.records.num_rows for a in acts if a.records.num_rows)


def _fitdecode_messages_all(path: Path) -> list[fitdecode.FitDataMessage]:
    with fitdecode.FitReader(str(path), check_crc=fitdecode.CrcCheck.WARN) as reader:
        return [f for f in reader if isinstance(f, fitdecode.FitDataMessage)]


def test_a_multisport_file_is_one_activity_per_session(corpus: Path):
    path = corpus / "fit" / "fitparse__activity-large-fenxi2-multisport.fit"
    sessions = _fitdecode_messages(path, "session")
    acts = decode_fit(path.read_bytes(), str(path))
    assert [a.meta.sport for a in acts] == [str(_field(s, 5)) for s in sessions]
    assert [a.meta.total_distance_m for a in acts] == [_field(s, 9) for s in sessions]


def test_timer_stops_become_pauses(corpus: Path):
    path = corpus / "fit" / "fitparse__event_timestamp.fit"
    events = [m for m in _fitdecode_messages(path, "event") if m.get_value("event") == "timer"]
    stops = sum(1 for e in events if e.get_value("event_type") in ("stop", "stop_all"))
    starts_after_stop = sum(1 for e in events if e.get_value("event_type") == "start") - 1  # the first starts the run
    acts = decode_fit(path.read_bytes(), str(path))
    assert sum(len(a.pauses) for a in acts) == min(stops, starts_after_stop) > 0


def test_power_on_relative_times_are_mapped_through_timestamp_correlation(corpus: Path):
    path = corpus / "fit" / "gpsbabel__garmin-virb-ultra-30.fit"
    (corr,) = _fitdecode_messages(path, "timestamp_correlation")[:1]
    (act,) = decode_fit(path.read_bytes(), str(path))
    first_system = _fitdecode_messages(path, "record")[0].get_value("timestamp")  # an int: seconds since power-on
    expected = corr.get_value("timestamp").timestamp() - corr.get_value("system_timestamp") + first_system
    assert act.records["timestamp"][0].as_py().timestamp() == expected


def test_feel_and_rpe_survive_when_the_file_carrying_them_is_the_duplicate(corpus: Path, tmp_path: Path):
    """Two files of one Forerunner 955 run: the "-saved" copy has no self-report, the other has feel 25
    and RPE 50 (fitdecode above). Whichever is kept, the activity keeps the runner's labels."""
    from pipeline.importer import run_batches
    from pipeline.store import Store

    files = [str(corpus / "fit" / f"gcheetah__Fr955v19.28andStryd{suffix}.fit") for suffix in ("-saved", "")]
    store = Store(tmp_path / "store")
    report = run_batches(store, files, "me")
    assert [f["outcome"] for f in report["files"]] == ["imported", "duplicate"]
    (row,) = store.read("activities").to_pylist()
    assert (row["workout_feel"], row["workout_rpe"]) == (25, 50)
