"""The Arrow schemas of every stored table, versioned, in one place.

Every column carries its unit and meaning as field metadata; `docs/schema.md` is generated from
these objects (`python -m schemas.docgen`), so the documentation cannot drift from the data.

Conventions for every table: SI units (metres, seconds, metres per second, watts, degrees Celsius;
positions in WGS84 degrees), instants as UTC timestamps, and the local clock as `utc_offset_s`, the
offset in seconds that was in force at the activity's start (local = UTC + offset).
"""

from __future__ import annotations

import pyarrow as pa

# Bump the minor version for added columns, the major version for changed or removed ones.
SCHEMA_VERSION = "1.0.0"

UTC_MS = pa.timestamp("ms", tz="UTC")


def col(name: str, type_: pa.DataType, unit: str, doc: str, nullable: bool = True) -> pa.Field:
    return pa.field(name, type_, nullable=nullable, metadata={"unit": unit, "doc": doc})


# Columns every table starts with.
_KEYS = [
    col("athlete_id", pa.string(), "", "Who ran it; `me` unless a store keeps several runners.", False),
    col("activity_id", pa.string(), "", "Stable id of the activity: first 20 hex digits of the sha256 of "
        "the file that first supplied it, a dash, and the session index in that file.", False),
]

# What a connector decodes per sample, decoder-independent and already in SI units.
RECORD_FIELDS = [
    col("timestamp", UTC_MS, "UTC", "Instant of the sample.", False),
    col("latitude_deg", pa.float64(), "degree", "WGS84 latitude (FIT semicircles converted)."),
    col("longitude_deg", pa.float64(), "degree", "WGS84 longitude (FIT semicircles converted)."),
    col("altitude_m", pa.float64(), "m", "Altitude above sea level; FIT enhanced_altitude preferred."),
    col("heart_rate_bpm", pa.int16(), "1/min", "Heart rate in beats per minute."),
    col("cadence_rpm", pa.float64(), "1/min", "Cadence in cycles per minute as the device counts them "
        "(running: strides per minute, one stride = two steps; cycling: crank revolutions), "
        "fractional cadence added."),
    col("speed_m_s", pa.float64(), "m/s", "Speed; FIT enhanced_speed preferred."),
    col("distance_m", pa.float64(), "m", "Cumulative distance the device recorded."),
    col("power_w", pa.float64(), "W", "Power."),
    col("temperature_c", pa.float64(), "degC", "Ambient or device temperature."),
]
RECORD_SCHEMA = pa.schema(RECORD_FIELDS)

LAP_FIELDS = [
    col("start_time", UTC_MS, "UTC", "Instant the lap started."),
    col("end_time", UTC_MS, "UTC", "Instant the lap message was written (its end)."),
    col("elapsed_time_s", pa.float64(), "s", "Lap elapsed time (device)."),
    col("timer_time_s", pa.float64(), "s", "Lap timer time, pauses excluded (device)."),
    col("distance_m", pa.float64(), "m", "Lap distance (device)."),
    col("avg_speed_m_s", pa.float64(), "m/s", "Lap average speed; enhanced preferred (device)."),
    col("avg_heart_rate_bpm", pa.int16(), "1/min", "Lap average heart rate (device)."),
    col("max_heart_rate_bpm", pa.int16(), "1/min", "Lap maximum heart rate (device)."),
    col("ascent_m", pa.float64(), "m", "Lap total ascent (device)."),
    col("descent_m", pa.float64(), "m", "Lap total descent (device)."),
    col("trigger", pa.string(), "", "What ended the lap (manual, distance, time, session_end, ...)."),
    col("intensity", pa.string(), "", "Lap intensity the device wrote (active, rest, warmup, ...)."),
]
LAP_SCHEMA = pa.schema(LAP_FIELDS)

DEVELOPER_FIELD_FIELDS = [
    col("message", pa.string(), "", "FIT message the value belongs to (record, lap, session, ...)."),
    col("timestamp", UTC_MS, "UTC", "Timestamp of that message, where it has one."),
    col("developer_data_index", pa.int16(), "", "FIT developer data index (which app wrote it)."),
    col("field_number", pa.int16(), "", "FIT developer field number."),
    col("name", pa.string(), "", "Field name as the app declared it."),
    col("units", pa.string(), "", "Units as the app declared them (not converted)."),
    col("value", pa.float64(), "", "Numeric value, where the value is a number."),
    col("value_text", pa.string(), "", "Text value, or the element list of an array value, as text."),
]
DEVELOPER_FIELD_SCHEMA = pa.schema(DEVELOPER_FIELD_FIELDS)

_OFFSET = col("utc_offset_s", pa.int32(), "s", "Local UTC offset at the activity's start "
              "(local time = UTC + offset); null when it cannot be known.")

# --- stored tables --------------------------------------------------------------------------------

RECORDS = pa.schema(
    _KEYS
    + RECORD_FIELDS[:1]
    + [
        _OFFSET,
        col("elapsed_s", pa.float64(), "s", "Seconds since the activity's start_time."),
        col("timer_running", pa.bool_(), "", "False while the timer was stopped (a pause)."),
    ]
    + RECORD_FIELDS[1:]
)

LAPS = pa.schema(
    _KEYS + [col("lap_index", pa.int32(), "", "0-based lap number within the activity.", False)]
    + LAP_FIELDS[:1] + [_OFFSET] + LAP_FIELDS[1:]
)

DEVELOPER_FIELDS = pa.schema(_KEYS + DEVELOPER_FIELD_FIELDS[:2] + [_OFFSET] + DEVELOPER_FIELD_FIELDS[2:])

ACTIVITIES = pa.schema(
    _KEYS
    + [
        col("start_time", UTC_MS, "UTC", "Session start the device wrote, when it precedes the first sample "
            "by at most 10 minutes; else the first sample.", False),
        _OFFSET,
        col("utc_offset_source", pa.string(), "", "Where the offset came from: `file` (FIT activity "
            "local_timestamp), `position` (time zone of the first position), or null."),
        col("timezone", pa.string(), "", "IANA time zone of the first position, where it could be derived."),
        col("start_time_local", pa.timestamp("ms"), "local", "Wall-clock start (UTC + offset), no zone."),
        col("sport", pa.string(), "", "One vocabulary: running, trail_running, treadmill_running, "
            "track_running, walking, hiking, cycling, indoor_cycling, swimming, other."),
        col("source_sport", pa.string(), "", "Sport and sub-sport as the file wrote them."),
        col("indoor", pa.bool_(), "", "True for treadmill or indoor activities, or when no position was "
            "recorded."),
        col("elapsed_time_s", pa.float64(), "s", "From start_time to the last sample."),
        col("timer_time_s", pa.float64(), "s", "Elapsed time less pauses (timer stops, recording gaps)."),
        col("moving_time_s", pa.float64(), "s", "Timer time while moving faster than the stop threshold."),
        col("distance_m", pa.float64(), "m", "Distance from the records (device distance, else from positions)."),
        col("ascent_m", pa.float64(), "m", "Total ascent from the altitude samples (hysteresis filtered)."),
        col("descent_m", pa.float64(), "m", "Total descent from the altitude samples (hysteresis filtered)."),
        col("avg_heart_rate_bpm", pa.float64(), "1/min", "Time-weighted mean heart rate while the timer ran."),
        col("max_heart_rate_bpm", pa.int16(), "1/min", "Highest heart rate sample."),
        col("avg_speed_m_s", pa.float64(), "m/s", "distance_m / moving_time_s."),
        col("record_count", pa.int32(), "", "Samples stored in `records`.", False),
        col("has_position", pa.bool_(), "", "At least one sample has a position.", False),
        col("has_heart_rate", pa.bool_(), "", "At least one sample has a heart rate.", False),
        col("has_power", pa.bool_(), "", "At least one sample has power.", False),
        col("sensors", pa.list_(pa.string()), "", "Sensors the device reported (FIT device_info) as "
            "type/source: heart_rate/antplus is a chest strap, wrist_heart_rate/local the watch's optical "
            "sensor, stride_speed_distance/antplus a foot pod."),
        col("device_distance_m", pa.float64(), "m", "total_distance the device wrote in the session."),
        col("device_timer_time_s", pa.float64(), "s", "total_timer_time the device wrote in the session."),
        col("device_elapsed_time_s", pa.float64(), "s", "total_elapsed_time the device wrote in the session."),
        col("device_ascent_m", pa.float64(), "m", "total_ascent the device wrote in the session."),
        col("device_descent_m", pa.float64(), "m", "total_descent the device wrote in the session."),
        col("device_avg_heart_rate_bpm", pa.int16(), "1/min", "avg_heart_rate the device wrote."),
        col("device_max_heart_rate_bpm", pa.int16(), "1/min", "max_heart_rate the device wrote."),
        col("workout_feel", pa.int16(), "0-100", "How the run felt, as the runner told the watch "
            "(Garmin session field 192: 0 very weak, 25 weak, 50 normal, 75 strong, 100 very strong)."),
        col("workout_rpe", pa.int16(), "0-100", "Perceived exertion the runner told the watch "
            "(Garmin session field 193, 10 x the 1-10 scale)."),
        col("name", pa.string(), "", "Name the file gave the activity (GPX name), if any."),
        col("manufacturer", pa.string(), "", "Device manufacturer (FIT file_id) or GPX creator."),
        col("product", pa.string(), "", "Device product name or number."),
        col("device_serial", pa.string(), "", "Device serial number."),
        col("source_format", pa.string(), "", "fit or gpx.", False),
        col("decoder", pa.string(), "", "Library that decoded the file (fitparse, fitdecode, gpxpy).", False),
        col("source_sha256", pa.string(), "", "sha256 of the file kept as originals/<sha256>.", False),
        col("source_path", pa.string(), "", "Path the file was imported from.", False),
        col("session_index", pa.int32(), "", "Session number within the file (multisport).", False),
        col("partial", pa.bool_(), "", "True when the file was damaged and only part of it decoded.", False),
        col("partial_reason", pa.string(), "", "Why the activity is partial."),
        col("duplicate_sources", pa.list_(pa.string()), "", "sha256 of other files that held the same run "
            "and were recorded as its duplicates."),
        col("imported_at", UTC_MS, "UTC", "When this row was written.", False),
        col("schema_version", pa.string(), "", "SCHEMA_VERSION of the writer.", False),
    ]
)

IMPORTS = pa.schema(
    [
        col("sha256", pa.string(), "", "sha256 of the input file's bytes (the ledger key).", False),
        col("athlete_id", pa.string(), "", "Whose import it was.", False),
        col("path", pa.string(), "", "Path of the input file as given (ARCHIVE!member for archive members).", False),
        col("size_bytes", pa.int64(), "B", "Size of the input file.", False),
        col("outcome", pa.string(), "", "imported, duplicate, not_activity, skipped or quarantined.", False),
        col("reason", pa.string(), "", "Why, for every outcome but a clean import."),
        col("warnings", pa.list_(pa.string()), "", "Warnings raised while importing (salvaged parts, ...)."),
        col("activity_ids", pa.list_(pa.string()), "", "Activities the file supplied or duplicates."),
        col("imported_at", UTC_MS, "UTC", "When the file was handled.", False),
        _OFFSET,
        col("schema_version", pa.string(), "", "SCHEMA_VERSION of the writer.", False),
    ]
)

TABLES: dict[str, pa.Schema] = {
    "activities": ACTIVITIES,
    "laps": LAPS,
    "records": RECORDS,
    "developer_fields": DEVELOPER_FIELDS,
    "imports": IMPORTS,
}

TABLE_DOCS = {
    "activities": "One row per activity (a multisport file gives one per session). Keyed by activity_id.",
    "laps": "One row per lap the device wrote. Keyed by activity_id and lap_index.",
    "records": "One row per sample. Keyed by activity_id and timestamp.",
    "developer_fields": "Connect IQ / developer fields, long format: one row per value.",
    "imports": "The ledger: one row per input file ever seen, keyed by sha256.",
}
