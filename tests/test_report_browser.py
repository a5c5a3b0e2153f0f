"""The HTML report as a manager opens it: headless Chromium (Debian's chromium + chromium-driver, installed
by ``make browser``), driven by Selenium, at a desktop (1280 px) and a phone (390 px) width.

Screenshots (full page) are saved under ``test-artifacts/browser/`` at the project root (git-ignored).
In CI (``CI=true``) a missing browser is a failure, not a skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
ONLINE_RETAIL = ROOT.parent / "shared" / "data" / "online_retail_ii" / "online_retail_ii_2009_2010.csv.gz"
WIDTHS = {"desktop": 1280, "phone": 390}


def _driver():
    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or chromedriver is None:
        message = "headless Chromium is not installed (make browser installs chromium and chromium-driver)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--hide-scrollbars", "--allow-file-access-from-files"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)


@pytest.fixture(scope="module")
def browser():
    driver = _driver()
    yield driver
    driver.quit()


def _report(name: str, args: list) -> Path:
    out = ARTIFACTS / f"{name}.html"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    run = subprocess.run([sys.executable, "-m", "patronage", "report", *args, "--out", str(out), "--quiet"],
                         capture_output=True, text=True, timeout=1200)
    assert run.returncode == 0, run.stderr
    return out


@pytest.fixture(scope="module")
def reports():
    return {
        "cdnow": _report("cdnow", []),
        "online_retail": _report("online_retail", [
            str(ONLINE_RETAIL), "--customer", "Customer ID", "--date", "InvoiceDate", "--amount", "Quantity*Price",
            "--order", "Invoice", "--drop-missing-ids", "--currency", "GBP"]),
    }


@pytest.mark.slow
@pytest.mark.parametrize("name", ["cdnow", "online_retail"])
@pytest.mark.parametrize("device", list(WIDTHS))
def test_report_in_a_real_browser(browser, reports, name, device):
    width = WIDTHS[device]
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": 900, "deviceScaleFactor": 1, "mobile": device == "phone"})
    browser.get_log("browser")  # start with an empty console
    browser.get(reports[name].as_uri())
    page = browser.execute_script("""
        const doc = document.documentElement;
        const images = [...document.images];
        const links = [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href'));
        const boxes = [...document.querySelectorAll('div.table')];
        return {
            viewport: window.innerWidth, scrollWidth: doc.scrollWidth, height: doc.scrollHeight,
            images: images.length,
            undecoded: images.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.alt),
            links: links,
            broken: links.filter(h => !h.startsWith('#') || !document.getElementById(h.slice(1))),
            wideTables: boxes.filter(b => b.scrollWidth > b.clientWidth + 1)
                             .map(b => b.previousElementSibling ? b.previousElementSibling.textContent : '?'),
            viewportMeta: !!document.querySelector('meta[name=viewport]'),
        };
    """)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": min(page["height"], 16000), "deviceScaleFactor": 1, "mobile": device == "phone"})
    browser.save_screenshot(str(ARTIFACTS / f"{name}-{device}-{width}px.png"))

    assert page["viewport"] == width
    assert page["scrollWidth"] <= width, f"the page is {page['scrollWidth']} px wide in a {width} px window"
    assert page["viewportMeta"]
    assert page["images"] >= 5 and not page["undecoded"], page["undecoded"]
    assert len(page["links"]) >= 6 and not page["broken"], page["broken"]
    if device == "desktop":  # on a desktop every table fits its column; on a phone wide ones scroll in their box
        assert not page["wideTables"], page["wideTables"]
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert not errors, errors
