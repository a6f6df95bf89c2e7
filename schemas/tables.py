"""The Arrow schemas of every stored table, versioned, in one place.

Every column carries its unit and meaning as field metadata; `docs/schema.md` is generated from
these objects (`python -m schemas.docgen`), so the documentation cannot drift from the data.

Conventions for every table: SI units (metres, seconds, metres per second, watts, degrees Celsius;
positions in WGS84 degrees), instants as UTC timestamps, and the local clock as `utc_offset_s`, the
offset in seconds that was in force at the activity's start (local = UTC + offset).
"""

from __future__ import annotations

import pyarrow as pa

# Bump the minor version for added columns, the major version for changed or removed ones, the patch
# version for a new value of an existing column (1.2.1: sync_seen's outcome `waiting`). 2.0.0: the same
# columns, every table partitioned by athlete (STORE/<table>/athlete=ID/): readers' paths change. 2.1.0: the
# same columns, floats written in Parquet's BYTE_STREAM_SPLIT encoding (smaller, quicker to write; read by
# pyarrow, DuckDB >= 0.10, polars, Spark >= 3.2; an older reader needs the new encoding). 2.2.0: the same
# columns, a run's records and developer fields LZ4-compressed (Parquet's LZ4_RAW: pyarrow, DuckDB, polars,
# Spark >= 3.3), min/max statistics in them only for the timestamp.
SCHEMA_VERSION = "2.2.0"

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
            "local_timestamp), `position` (time zone of the first position), `runner` (kindpace activity "
            "set-timezone), or null."),
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
            "(Garmin session field 193, 10 x the 1-10 scale), or Strava's perceived exertion x 10."),
        col("workout_name", pa.string(), "", "Name of the structured workout the device followed (FIT workout "
            "message), if any: a race or interval workout marks the run as planned harder."),
        col("name", pa.string(), "", "Name of the activity: the one the runner gave it in Strava (activities.csv "
            "of a bulk export), else the file's (GPX name), if any."),
        col("manufacturer", pa.string(), "", "Device manufacturer (FIT file_id) or GPX creator."),
        col("product", pa.string(), "", "Device product name or number."),
        col("device_serial", pa.string(), "", "Device serial number."),
        col("source_format", pa.string(), "", "fit, gpx or tcx.", False),
        col("decoder", pa.string(), "", "What decoded the file: fitvec (kindpace's FIT decoder), fitparse, "
            "fitdecode, gpxpy or xml.etree (TCX).", False),
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

_RUN_KEYS = _KEYS + [
    col("start_time", UTC_MS, "UTC", "The activity's start (as in `activities`).", False),
    _OFFSET,
]

GENTLENESS = pa.schema(
    _RUN_KEYS
    + [
        col("sport", pa.string(), "", "The activity's sport (as in `activities`).", False),
        col("category", pa.string(), "", "gentle, borderline, too_hard, planned_hard (the runner meant it to be "
            "harder: never flagged) or not_assessed (`reasons` says why).", False),
        col("score", pa.int16(), "0-100", "Gentleness score: 100 all calm; gentle >= 75, borderline >= 45. Null "
            "when not assessed."),
        col("confidence", pa.string(), "", "high, medium or low: how far the verdict can be trusted (ceiling "
            "source, sensor, data quality)."),
        col("basis", pa.string(), "", "What judged: hr, pace, self_report, or none."),
        col("sensor_category", pa.string(), "", "The category the sensors alone gave, before the runner's own "
            "report or intent was taken into account."),
        col("headline", pa.string(), "", "Kind headline: Gentle run, Mostly gentle with a harder stretch, A "
            "harder run than your easy plan, Planned harder run, Not assessed.", False),
        col("message", pa.string(), "", "The explanation in plain, kind words.", False),
        col("reasons", pa.list_(pa.string()), "", "Reason codes, most important first (all_calm, edge, "
            "sustained_above, hill, surge, late_drift, heat, walk_breaks, sensor_gaps, estimated_ceiling, "
            "self_report_easier, self_report_harder, planned_hard, not_a_run, no_heart_rate, ...).", False),
        col("ceiling_bpm", pa.float64(), "1/min", "Easy heart-rate ceiling C used (heart-rate basis)."),
        col("hard_line_bpm", pa.float64(), "1/min", "Hard line H used (heart-rate basis)."),
        col("ceiling_speed_m_s", pa.float64(), "m/s", "Conversational speed ceiling used (pace basis)."),
        col("hard_line_speed_m_s", pa.float64(), "m/s", "Hard-line speed used (pace basis)."),
        col("ceiling_method", pa.string(), "", "How the ceiling was set: manual, vt1, lthr, karvonen, "
            "percent_max, maf, conversational_pace, race_vdot."),
        col("ceiling_how", pa.string(), "", "The same in one plain sentence."),
        col("moving_s", pa.float64(), "s", "Moving seconds on the timer clock."),
        col("assessed_s", pa.float64(), "s", "Moving seconds with a valid signal: the denominator of every share."),
        col("time_above_ceiling_s", pa.float64(), "s", "Seconds above the (drift-allowed) ceiling."),
        col("calm_s", pa.float64(), "s", "Assessed seconds at or below the edge line (calm, or right at the "
            "ceiling): the numerator of the weekly calm-time share."),
        col("pct_above_ceiling", pa.float64(), "%", "time_above_ceiling_s / assessed_s x 100."),
        col("time_above_hard_line_s", pa.float64(), "s", "Seconds above the hard line."),
        col("weighted_overage_pct", pa.float64(), "%", "Mean intensity weight above the ceiling x 100 (p1)."),
        col("longest_excursion_s", pa.float64(), "s", "Longest sustained stretch above the edge line, gaps "
            "under 20 s merged (m2)."),
        col("signal_valid_pct", pa.float64(), "%", "Share of moving seconds with a usable signal (heart rate "
            "or speed)."),
        col("excluded_range_s", pa.int32(), "s", "Heart-rate seconds ignored: outside 30..min(230, max + 10)."),
        col("excluded_spike_s", pa.int32(), "s", "Heart-rate seconds ignored: spikes (Hampel filter)."),
        col("excluded_frozen_s", pa.int32(), "s", "Heart-rate seconds ignored: one value frozen while speed changed."),
        col("excluded_cadence_lock_s", pa.int32(), "s", "Heart-rate seconds ignored: the sensor counted steps."),
        col("excluded_early_contact_s", pa.int32(), "s", "Heart-rate seconds ignored: a dry strap at the start."),
        col("walk_time_s", pa.float64(), "s", "Moving seconds spent walking."),
        col("walk_breaks", pa.int32(), "", "Walk breaks of 30 s or more."),
        col("decoupling_pct", pa.float64(), "%", "Aerobic decoupling (grade-adjusted speed per beat, first half "
            "vs second), where computable."),
        col("has_elevation", pa.bool_(), "", "Whether grade could be adjusted for (altitude present and not flat)."),
        col("intent", pa.string(), "", "easy or hard, when the runner or the file said what the run was for."),
        col("intent_source", pa.string(), "", "runner (kindpace intent) or file (a workout or race in the file)."),
        col("talk", pa.string(), "", "The runner's talk test after the run: yes, yes_but or no."),
        col("rpe_cr10", pa.float64(), "0-10", "Session RPE on the CR10 scale (the runner's, or the watch's / 10)."),
        col("self_report_source", pa.string(), "", "runner (kindpace feel) or watch (Garmin session fields)."),
        col("algorithm_version", pa.string(), "", "Version of the gentleness algorithm and its settings.", False),
        col("profile_version", pa.string(), "", "The profile version used: its effective date (`initial` for the "
            "first) and a hash of its values."),
        col("source_sha256", pa.string(), "", "sha256 of the file the assessed samples came from.", False),
        col("assessed_at", UTC_MS, "UTC", "When the verdict was made.", False),
        col("schema_version", pa.string(), "", "SCHEMA_VERSION of the writer.", False),
    ]
)

EXCURSIONS = pa.schema(
    _RUN_KEYS
    + [
        col("excursion_index", pa.int32(), "", "0-based, in time order.", False),
        col("basis", pa.string(), "", "hr or pace: the signal that was above its ceiling.", False),
        col("type", pa.string(), "", "hill (mean grade >= 4 %), late_drift (after 60 % of the run, not faster), "
            "surge (grade-adjusted speed 10 % over the run's median) or other.", False),
        col("start_timer_s", pa.float64(), "s", "Start on the timer clock (pauses excluded).", False),
        col("start_elapsed_s", pa.float64(), "s", "Start in seconds since the activity's start_time.", False),
        col("duration_s", pa.float64(), "s", "Length, gaps under 20 s merged.", False),
        col("start_distance_m", pa.float64(), "m", "Distance at its start."),
        col("peak_heart_rate_bpm", pa.float64(), "1/min", "Highest smoothed heart rate in it."),
        col("mean_speed_m_s", pa.float64(), "m/s", "Mean speed in it."),
        col("mean_grade", pa.float64(), "1", "Mean grade in it (rise over run, 0.05 = 5 %)."),
    ]
)

RUNNER_NOTES = pa.schema(
    _KEYS
    + [
        _OFFSET,
        col("intent", pa.string(), "", "What the run was for, as the runner said: easy or hard."),
        col("talk", pa.string(), "", "Could you talk comfortably? yes, yes_but or no."),
        col("rpe_cr10", pa.float64(), "0-10", "Session RPE on the CR10 scale."),
        col("updated_at", UTC_MS, "UTC", "When the runner last changed this note.", False),
        col("schema_version", pa.string(), "", "SCHEMA_VERSION of the writer.", False),
    ]
)

CORRECTIONS = pa.schema(
    [
        col("athlete_id", pa.string(), "", "Whose activity it corrects.", False),
        col("activity_id", pa.string(), "", "The activity corrected; null for a correction keyed by its file."),
        col("source_sha256", pa.string(), "", "The file it is about: set for corrections from a Strava export "
            "(they apply to every activity of that file), and for the runner's, the file the run came from."),
        col("action", pa.string(), "", "delete, set_sport, set_timezone, set_name, unmerge or set_rpe.", False),
        col("value", pa.string(), "", "The new sport (kindpace's vocabulary), IANA zone or UTC offset "
            "(+02:00), name, RPE on the watch's 0-100 scale, or for unmerge the sha256 of the file to keep "
            "apart from this activity."),
        col("origin", pa.string(), "", "runner (kindpace activity ...) or strava_export (its activities.csv); "
            "the runner's corrections win.", False),
        col("made_at", UTC_MS, "UTC", "When the correction was made (or the export imported).", False),
        _OFFSET,
        col("schema_version", pa.string(), "", "SCHEMA_VERSION of the writer.", False),
    ]
)

def _summary_fields(unit_name: str) -> list[pa.Field]:
    return [
        col("runs", pa.int32(), "", f"Runs this {unit_name} (every running sport), assessed or not.", False),
        col("gentle_runs", pa.int32(), "", "Runs with a gentle verdict.", False),
        col("borderline_runs", pa.int32(), "", "Runs with a mostly-gentle (borderline) verdict.", False),
        col("harder_runs", pa.int32(), "", "Runs harder than the easy plan (too_hard).", False),
        col("planned_hard_runs", pa.int32(), "", "Runs the runner meant to be harder (never counted against).",
            False),
        col("not_assessed_runs", pa.int32(), "", "Runs without a verdict (no usable heart rate, pace or report).",
            False),
        col("time_on_feet_s", pa.float64(), "s", "Timer time of the runs (walk breaks count, pauses do not).", False),
        col("distance_m", pa.float64(), "m", "Distance of the runs.", False),
        col("assessed_s", pa.float64(), "s", "Seconds with a usable signal in the assessed runs.", False),
        col("calm_s", pa.float64(), "s", "Of those, seconds at or below the edge line.", False),
        col("calm_share", pa.float64(), "1", "calm_s / assessed_s (0..1): the calm-time share; null without "
            "assessed seconds."),
    ]


_SUMMARY_KEYS = [col("athlete_id", pa.string(), "", "Whose summary.", False)]
_ZONE = col("timezone", pa.string(), "", "IANA zone of the runner's calendar (the config's `timezone`).", False)

WEEKLY = pa.schema(
    _SUMMARY_KEYS
    + [
        col("week", pa.string(), "", "ISO week in the runner's zone, as 2026-W48 (Monday to Sunday).", False),
        col("week_start", pa.date32(), "local", "Its Monday, a local date.", False),
        col("week_start_utc", UTC_MS, "UTC", "The instant the week starts: local Monday 00:00.", False),
        col("utc_offset_s", pa.int32(), "s", "The zone's UTC offset at that instant.", False),
        _ZONE,
    ]
    + _summary_fields("week")
    + [
        col("rest_week", pa.bool_(), "", "The runner marked it as a rest week (kindpace rest): it counts "
            "against nothing.", False),
        col("gentle_week", pa.bool_(), "", "At least N (default 2) gentle or borderline runs, and not a rest "
            "week.", False),
        col("rhythm_weeks", pa.int32(), "", "Weeks in the last 8 (this one included) that were not rest weeks.",
            False),
        col("gentle_weeks_last_8", pa.int32(), "", "Gentle weeks among them: the rhythm, instead of a streak.",
            False),
        col("gentle_share_4w", pa.float64(), "1", "Gentle runs / judged runs over the 4 weeks ending with this "
            "one."),
        col("ramp_note", pa.bool_(), "", "Time on feet above 1.3 x the mean of the 4 weeks before (rest weeks "
            "left out, at least 3 of them), and at least an hour: a bigger week than usual (a note, not a "
            "warning).", False),
        col("message", pa.string(), "", "The week in plain, kind words.", False),
        col("schema_version", pa.string(), "", "SCHEMA_VERSION of the writer.", False),
    ]
)

MONTHLY = pa.schema(
    _SUMMARY_KEYS
    + [
        col("month", pa.string(), "", "Calendar month in the runner's zone, as 2026-11.", False),
        col("month_start", pa.date32(), "local", "Its first day, a local date.", False),
        col("month_start_utc", UTC_MS, "UTC", "The instant the month starts: local 00:00 of its first day.",
            False),
        col("utc_offset_s", pa.int32(), "s", "The zone's UTC offset at that instant.", False),
        _ZONE,
    ]
    + _summary_fields("month")
    + [
        col("gentle_weeks", pa.int32(), "", "Gentle weeks whose Thursday falls in the month.", False),
        col("rest_weeks", pa.int32(), "", "Rest weeks whose Thursday falls in the month.", False),
        col("schema_version", pa.string(), "", "SCHEMA_VERSION of the writer.", False),
    ]
)

REST_WEEKS = pa.schema(
    [
        col("athlete_id", pa.string(), "", "Whose rest week.", False),
        col("week", pa.string(), "", "ISO week, as 2026-W48.", False),
        col("marked_at", UTC_MS, "UTC", "When the runner marked it.", False),
        col("utc_offset_s", pa.int32(), "s", "The machine's UTC offset then.", False),
        col("schema_version", pa.string(), "", "SCHEMA_VERSION of the writer.", False),
    ]
)

SYNC_SEEN = pa.schema(
    [
        col("source", pa.string(), "", "The source's path as configured.", False),
        col("source_kind", pa.string(), "", "watch, folder or inbox; import for files `kindpace import` read.", False),
        col("path", pa.string(), "", "The file's path.", False),
        col("size_bytes", pa.int64(), "B", "Its size when last seen.", False),
        col("mtime", UTC_MS, "UTC", "Its modification time when last seen.", False),
        col("sha256", pa.string(), "", "sha256 of its bytes when last read; empty while it waits.", False),
        col("outcome", pa.string(), "", "The import outcome it got; `waiting` when it could not be read or "
            "stored (gone mid-sync, drive unplugged, store full): the next sync reads it again.", False),
        col("seen_at", UTC_MS, "UTC", "When a sync last read it.", False),
        _OFFSET,
    ]
)

SYNC_RUNS = pa.schema(
    [
        col("started_at", UTC_MS, "UTC", "When the sync started.", False),
        col("finished_at", UTC_MS, "UTC", "When it finished.", False),
        _OFFSET,
        col("ok", pa.bool_(), "", "True when every reachable source was read and the store written.", False),
        col("sources", pa.list_(pa.string()), "", "Each source as `kind path: files, new (or unreachable)`.", False),
        col("missing_sources", pa.list_(pa.string()), "", "Sources that could not be reached (a watch not "
            "plugged in): reported, not an error.", False),
        col("files_new", pa.int32(), "", "Files read because they were new or changed.", False),
        col("counts", pa.string(), "", "Outcome counts of the import, as JSON.", False),
        col("error", pa.string(), "", "Why the sync failed, if it did."),
    ]
)

TABLES: dict[str, pa.Schema] = {
    "activities": ACTIVITIES,
    "laps": LAPS,
    "records": RECORDS,
    "developer_fields": DEVELOPER_FIELDS,
    "imports": IMPORTS,
    "gentleness": GENTLENESS,
    "excursions": EXCURSIONS,
    "runner_notes": RUNNER_NOTES,
    "sync_seen": SYNC_SEEN,
    "sync_runs": SYNC_RUNS,
    "corrections": CORRECTIONS,
    "weekly": WEEKLY,
    "monthly": MONTHLY,
    "rest_weeks": REST_WEEKS,
}

TABLE_DOCS = {
    "activities": "One row per activity (a multisport file gives one per session). Keyed by activity_id.",
    "laps": "One row per lap the device wrote. Keyed by activity_id and lap_index.",
    "records": "One row per sample. Keyed by activity_id and timestamp.",
    "developer_fields": "Connect IQ / developer fields, long format: one row per value.",
    "imports": "The ledger: one row per input file ever seen, keyed by sha256.",
    "gentleness": "One verdict per activity: category, score, the ceiling used and how, the metrics behind it, "
    "the runner's own report, and the algorithm and profile versions it came from.",
    "excursions": "One row per sustained stretch above the easy ceiling, with where it happened and its kind.",
    "runner_notes": "What the runner said about a run (kindpace feel, kindpace intent); never rebuilt, never lost.",
    "sync_seen": "The sync's ledger of source files by path: size and modification time decide whether a file is "
    "read again.",
    "sync_runs": "One row per sync: when, what each source held, what was imported, what was unreachable.",
    "corrections": "What the runner corrected (kindpace activity delete|set-sport|set-timezone|unmerge) and what "
    "a Strava export's activities.csv said; applied to every import and reimport, never rebuilt, never lost.",
    "weekly": "One row per ISO week of the runner's calendar (config time zone), from the first run's week to "
    "the last run's: runs, gentle runs, time on feet, calm-time share, the gentle-weeks rhythm, the ramp note.",
    "monthly": "One row per calendar month of the runner's calendar: the same totals, and its gentle and rest weeks.",
    "rest_weeks": "Weeks the runner marked as rest (kindpace rest --week 2026-W48); never rebuilt, never lost.",
}
