"""`kindpace report` rendered for real in headless Chromium (Debian's chromium and chromedriver, driven
by Selenium): no console error, the three charts there with their bars, dots and run lines, and nothing
wider than a phone's screen. Skipped, saying so, where Chromium is not installed (.ci/run installs it)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kindpace.cli import main
from tests.conftest import ROOT, SAMPLES

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER),
    reason="report not rendered: Debian's chromium and chromium-driver are not installed "
           "(apt-get install chromium chromium-driver; .ci/run does)")

PHONE_WIDTH = 390  # CSS pixels of a common phone


@pytest.fixture()
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"):
        options.add_argument(flag)
    # a phone's screen: desktop Chrome will not make a window this narrow, device emulation does
    options.add_experimental_option("mobileEmulation", {"deviceMetrics": {"width": PHONE_WIDTH, "height": 844,
                                                                          "pixelRatio": 2.0}})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def test_the_report_renders_on_a_phone_screen_with_its_charts(browser, tmp_path: Path):
    config = tmp_path / "kindpace.toml"
    shutil.copy(ROOT / "samples" / "kindpace.toml", config)
    common = ["--store", str(tmp_path / "store"), "--config", str(config)]
    assert main(["import", str(SAMPLES), *common]) == 0
    page = tmp_path / "report.html"
    assert main(["report", "--today", "2026-11-26", "--out", str(page), *common]) == 0
    browser.get(page.as_uri())
    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    assert not errors
    find = browser.execute_script
    assert find("return document.querySelectorAll('#weekly-chart rect.bar').length") >= 2  # W47 and W48
    assert find("return document.querySelectorAll('#rhythm-chart circle').length") == 2
    # the latest week with runs is W48: the treadmill run, judged by heart rate, drawn with its ceiling
    assert find("return document.querySelectorAll('.run').length") == 1
    assert find("return document.querySelectorAll('.run-chart polyline.signal').length") >= 1
    assert find("return document.querySelectorAll('.run-chart polyline.ceiling').length") == 1
    assert find("return window.innerWidth") == PHONE_WIDTH
    assert find("return document.documentElement.scrollWidth") <= PHONE_WIDTH  # no sideways scrolling
    assert "Gentle weeks in the last 2: 1." in find("return document.getElementById('lead').textContent")
    assert browser.save_screenshot(str(tmp_path / "report.png"))
