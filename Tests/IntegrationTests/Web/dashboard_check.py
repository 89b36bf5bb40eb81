#!/usr/bin/env python3
"""Drives Debian's chromium (headless, through chromium-driver and selenium) against a running
kazed: the dashboard shows the node and a running VM, switching to Japanese relabels the page and
is remembered across a reload. Writes a screenshot of each state into the given folder.

Usage: dashboard_check.py BASE_URL NODE_NAME SCREENSHOT_DIR
Exit status 0 when every check holds; otherwise 1 with the failed check on stderr."""
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

base, node, shots = sys.argv[1], sys.argv[2], sys.argv[3]

options = webdriver.ChromeOptions()
for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,900",
                 "--lang=en-US"):
    options.add_argument(argument)
options.binary_location = "/usr/bin/chromium"
browser = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
wait = WebDriverWait(browser, 30)


def text(selector):
    found = browser.find_elements(By.CSS_SELECTOR, selector)
    return found[0].text if found else ""


def expect(description, condition):
    try:
        wait.until(lambda _: condition())
    except Exception:
        sys.stderr.write(f"not seen within 30 s: {description}\n")
        browser.save_screenshot(f"{shots}/failed.png")
        sys.stderr.write(browser.find_element(By.TAG_NAME, "body").text[:2000] + "\n")
        sys.exit(1)
    print(f"seen: {description}", flush=True)


try:
    browser.get(base + "/")
    expect("the node in the nodes table", lambda: node in text("#nodes tbody"))
    expect("one VM running", lambda: "Running: 1" in text("#vm-counts"))
    expect("English headings", lambda: text("h1") == "Overview")
    browser.save_screenshot(f"{shots}/dashboard-en.png")

    Select(browser.find_element(By.ID, "language")).select_by_value("ja")
    expect("Japanese headings", lambda: text("h1") == "概要")
    expect("Japanese phase labels", lambda: "実行中: 1" in text("#vm-counts"))
    expect("Japanese navigation", lambda: text("nav a") == "ダッシュボード")
    browser.save_screenshot(f"{shots}/dashboard-ja.png")

    browser.refresh()
    expect("Japanese remembered after a reload", lambda: text("h1") == "概要")
finally:
    browser.quit()
