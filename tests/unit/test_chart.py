"""The `explain --png` chart: a real PNG of the promised size, excursions that show, clear errors."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.image import imread

from kindpace.chart import render_run_chart

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
WIDTH, HEIGHT = 1200, 480  # 10 x 4 in at 120 dpi


def _hr_run(n: int = 40 * 60) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Forty minutes at 1 Hz: calm around 135 bpm, a climb to ~152 at minutes 12-15, a sensor gap."""
    minutes = np.arange(n) / 60.0
    hr = 135 + 4 * np.sin(minutes / 3)
    hr[(minutes >= 12) & (minutes < 15)] += 17
    hr[(minutes >= 25) & (minutes < 26)] = np.nan
    distance_km = minutes * 60 * 2.7 / 1000
    return minutes, hr, distance_km


def _render_hr(path, excursions, **kwargs):
    minutes, hr, distance_km = _hr_run()
    ceiling = 145 * (1 + 0.0005 * minutes)  # drifts up a little on the way
    return render_run_chart(path, minutes, hr, kind="hr", ceiling=ceiling, hard_line=165.0, excursions=excursions,
                            title="2026-11-26: gentle, with one climb", distance_km=distance_km, **kwargs)


def _pixels(path) -> np.ndarray:
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    image = imread(path)
    assert image.shape[:2] == (HEIGHT, WIDTH)
    return image


def test_heart_rate_chart_is_a_png_of_ten_by_four_inches(tmp_path):
    out = _render_hr(tmp_path / "run.png", [(12.0, 15.0, "hill, km 3")])
    assert out == tmp_path / "run.png"
    _pixels(out)
    assert [p.name for p in tmp_path.iterdir()] == ["run.png"]  # no temporary file left behind


@pytest.mark.parametrize("units", ["metric", "imperial"])
def test_pace_chart_is_a_png_of_ten_by_four_inches(tmp_path, units):
    n = 30 * 60
    minutes = np.arange(n) / 60.0
    speed = np.full(n, 2.6)
    speed[(minutes >= 8) & (minutes < 10)] = 3.3  # a quicker stretch
    speed[(minutes >= 20) & (minutes < 21)] = 0.2  # standing at a crossing: not drawn
    speed[(minutes >= 22) & (minutes < 22.5)] = np.nan
    out = render_run_chart(tmp_path / "pace.png", minutes, speed, kind="pace", ceiling=2.9, hard_line=3.4,
                           excursions=[(8.0, 10.0, "surge")], title="pace run", distance_km=minutes * 60 * 2.6 / 1000,
                           units=units)
    _pixels(out)


def test_an_excursion_changes_the_picture(tmp_path):
    plain = _pixels(_render_hr(tmp_path / "plain.png", []))
    shaded = _pixels(_render_hr(tmp_path / "shaded.png", [(12.0, 15.0, "hill, km 3")]))
    assert plain.shape == shaded.shape
    assert not np.array_equal(plain, shaded)


def test_an_existing_file_is_replaced(tmp_path):
    target = tmp_path / "run.png"
    target.write_bytes(b"old")
    _pixels(_render_hr(target, []))


def test_mismatched_lengths_name_both_lengths(tmp_path):
    with pytest.raises(ValueError, match=r"values has length 9 but minutes has length 10"):
        render_run_chart(tmp_path / "x.png", np.arange(10.0), np.full(9, 130.0), kind="hr", ceiling=140.0,
                         hard_line=160.0, excursions=[], title="t")
    with pytest.raises(ValueError, match=r"ceiling has length 3 but minutes has length 10"):
        render_run_chart(tmp_path / "x.png", np.arange(10.0), np.full(10, 130.0), kind="hr", ceiling=[140.0] * 3,
                         hard_line=160.0, excursions=[], title="t")
    assert not list(tmp_path.iterdir())


def test_unknown_kind_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"unknown chart kind 'power'"):
        render_run_chart(tmp_path / "x.png", np.arange(10.0), np.full(10, 200.0), kind="power", ceiling=1.0,
                         hard_line=2.0, excursions=[], title="t")
