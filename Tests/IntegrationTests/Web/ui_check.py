#!/usr/bin/env python3
"""Drives Debian's chromium (headless, through chromium-driver and selenium) against a running
kazed with one running VM named web1: the dashboard shows the node and the VM; the VM list
filters; the VM's page stops and starts it with its buttons (each enabled only when the state
allows it); the create form shows the API's message next to a wrong field, then creates web2,
which runs, is stopped and deleted from its page (after a confirmation; Delete is enabled only
for a stopped VM); the task list shows the delete
done; the node page lists its VMs and pools with its load graph; the event log lists and filters
the creations; switching to Japanese relabels the pages (event kinds too) and is remembered
across a reload; at tablet width the pages fit. On web2's pages, the serial console shows its
boot and carries typed lines both ways, and the VNC display connects through noVNC. Writes a
screenshot of each page into the given folder.

Usage: ui_check.py BASE_URL NODE_NAME SCREENSHOT_DIR
Exit status 0 when every check holds; otherwise 1 with the failed check on stderr."""
import os
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

base, node, shots = sys.argv[1], sys.argv[2], sys.argv[3]
# A Linux bridge the node has (the test makes one); the form offers it and web2 joins it.
bridge = os.environ.get("KAZE_UI_BRIDGE")

options = webdriver.ChromeOptions()
for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,900",
                 "--lang=en-US"):
    options.add_argument(argument)
options.binary_location = "/usr/bin/chromium"
browser = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
wait = WebDriverWait(browser, 30)


def text(selector):
    # The pages redraw what changed every two seconds: an element found just before a redraw
    # is gone by the time it is read, and is looked up again in the next try.
    try:
        found = browser.find_elements(By.CSS_SELECTOR, selector)
        return found[0].text if found else ""
    except StaleElementReferenceException:
        return ""


def enabled(selector):
    try:
        return browser.find_element(By.CSS_SELECTOR, selector).is_enabled()
    except (StaleElementReferenceException, NoSuchElementException):
        return None


def expect(description, condition):
    try:
        wait.until(lambda _: condition())
    except Exception:
        sys.stderr.write(f"not seen within 30 s: {description}\n")
        browser.save_screenshot(f"{shots}/failed.png")
        sys.stderr.write(browser.find_element(By.TAG_NAME, "body").text[:2000] + "\n")
        sys.exit(1)
    print(f"seen: {description}", flush=True)


def check_consoles(vm):
    browser.get(base + f"/#/vms/{vm}/console")
    expect("the serial console connected", lambda: state("#console-status") == "connected")
    expect("the guest's boot output in the console", lambda: "kaze-guest: up" in text("#serial-output"))
    line = browser.find_element(By.ID, "serial-line")
    line.send_keys("hello from the browser")
    line.submit()
    expect("a line sent from the page reaches the guest and its answer comes back",
           lambda: "console input [hello from the browser]" in text("#serial-output"))
    browser.find_element(By.ID, "serial-output").click()
    browser.find_element(By.ID, "serial-output").send_keys("typed", Keys.ENTER)
    expect("keys typed into the console reach the guest",
           lambda: "console input [typed]" in text("#serial-output"))
    browser.save_screenshot(f"{shots}/serial-console-en.png")
    browser.get(base + f"/#/vms/{vm}/display")
    expect("the VNC display connected", lambda: state("#display-status") == "connected")
    expect("noVNC drew the screen", lambda: browser.find_elements(By.CSS_SELECTOR, "#display canvas"))
    browser.save_screenshot(f"{shots}/display-en.png")


def points(selector):
    try:
        found = browser.find_elements(By.CSS_SELECTOR, selector)
        return int(found[0].get_attribute("data-points") or 0) if found else 0
    except StaleElementReferenceException:
        return 0


def row_texts(selector):
    try:
        return [row.text for row in browser.find_elements(By.CSS_SELECTOR, f"{selector} tbody tr")]
    except StaleElementReferenceException:
        return []


def rows(selector):
    return len(row_texts(selector))


def state(selector):
    try:
        found = browser.find_elements(By.CSS_SELECTOR, selector)
        return found[0].get_attribute("data-state") if found else None
    except StaleElementReferenceException:
        return None


try:
    if len(sys.argv) > 4:  # only the consoles of an existing VM (for trying the pages by hand)
        check_consoles(sys.argv[4])
        sys.exit(0)
    browser.get(base + "/")
    expect("the node in the nodes table", lambda: node in text("#nodes tbody"))
    expect("one VM running", lambda: "Running: 1" in text("#vm-counts"))
    expect("English headings", lambda: text("h1") == "Overview")
    expect("the store member healthy", lambda: "healthy" in text("#store-members"))
    browser.save_screenshot(f"{shots}/dashboard-en.png")

    browser.get(base + "/#/vms")
    expect("web1 in the VM list", lambda: "web1" in text("#vm-list tbody"))
    browser.save_screenshot(f"{shots}/vm-list-en.png")
    browser.find_element(By.CSS_SELECTOR, "#vm-filter input").send_keys("no-such-vm")
    expect("the filter leaves no VM", lambda: text("#vm-list-empty") == "No VM matches.")
    expect("the filter kept in the address", lambda: "q=no-such-vm" in browser.current_url)

    browser.get(base + "/#/vms/web1")
    expect("web1's page says running", lambda: "Running" in text("#vm-status"))
    expect("Start disabled while running",
           lambda: enabled("[data-action=start]") is False)
    expect("web1's CPU graph has samples", lambda: points("#vm-charts [data-chart=cpu]") >= 1)
    expect("web1's memory graph names its size", lambda: "128 MiB" in text("#vm-charts [data-chart=memory]"))
    browser.save_screenshot(f"{shots}/vm-detail-en.png")
    browser.find_element(By.CSS_SELECTOR, "[data-action=stop]").click()
    expect("web1 stopped by its Stop button", lambda: "Stopped" in text("#vm-status"))
    expect("Reboot disabled while stopped",
           lambda: enabled("[data-action=reboot]") is False)
    browser.find_element(By.CSS_SELECTOR, "[data-action=start]").click()
    expect("web1 running again by its Start button", lambda: "Running" in text("#vm-status"))

    browser.get(base + "/#/create")
    expect("the image offered in the form",
           lambda: "tiny" in text("#field-image"))
    browser.find_element(By.ID, "field-name").send_keys("web2")
    memory = browser.find_element(By.ID, "field-memoryMiB")
    memory.clear()
    memory.send_keys("8")
    browser.find_element(By.ID, "field-diskSize").clear()
    browser.find_element(By.ID, "field-diskSize").send_keys("64M")
    browser.find_element(By.ID, "add-disk").click()
    browser.find_element(By.ID, "field-diskSize-1").send_keys("lots")
    browser.find_element(By.ID, "create-submit").click()
    expect("the API's message next to the memory field", lambda: "MiB" in text("#error-memoryMiB"))
    expect("nothing else blamed", lambda: text("#error-name") == "")
    browser.save_screenshot(f"{shots}/create-refused-en.png")
    memory.clear()
    memory.send_keys("128")
    browser.find_element(By.ID, "create-submit").click()
    expect("the second disk's size refused next to it", lambda: "lots" in text("#error-diskSize-1"))
    browser.find_element(By.ID, "field-diskSize-1").clear()
    browser.find_element(By.ID, "field-diskSize-1").send_keys("32M")
    if bridge:
        expect("the node's bridge offered as a network",
               lambda: f"bridge {bridge} (on {node})" in text("#field-network"))
        Select(browser.find_element(By.ID, "field-network")).select_by_value(f"bridge:{bridge}")
    browser.find_element(By.ID, "create-submit").click()
    expect("the new VM's page", lambda: browser.current_url.endswith("#/vms/web2"))
    expect("web2 running", lambda: "Running" in text("#vm-status"))
    expect("web2 has both disks", lambda: "disk0" in text("#vm-disks") and "disk1" in text("#vm-disks"))
    if bridge:
        expect("web2 on the bridge", lambda: f"bridge {bridge}" in text("#vm-spec"))
    expect("web2 has a USB tablet (the form's default)", lambda: "USB tablet" in text("#vm-spec"))
    check_consoles("web2")
    browser.get(base + "/#/vms/web2")
    expect("web2's page again", lambda: "Running" in text("#vm-status"))
    expect("Delete disabled while running", lambda: enabled("[data-action=delete]") is False)
    browser.find_element(By.CSS_SELECTOR, "[data-action=stop]").click()
    expect("Delete enabled once stopped", lambda: enabled("[data-action=delete]") is True)
    browser.find_element(By.CSS_SELECTOR, "[data-action=delete]").click()
    WebDriverWait(browser, 10).until(lambda b: b.switch_to.alert).accept()
    expect("back at the VM list after the delete", lambda: browser.current_url.endswith("#/vms"))
    expect("web2 gone, web1 still listed",
           lambda: "web2" not in text("#vm-list tbody") and "web1" in text("#vm-list tbody"))
    browser.get(base + "/#/tasks")
    expect("the delete task done", lambda: "VM delete" in text("#tasks") and "done" in text("#tasks"))
    browser.save_screenshot(f"{shots}/tasks-en.png")
    browser.get(base + f"/#/nodes/{node}")
    expect("the node page lists web1", lambda: "web1" in text("#node-vms"))
    expect("the node's pools", lambda: "local" in text("#node-pools"))
    if bridge:
        expect("the node's bridges", lambda: bridge in text("#node-facts"))
    expect("the node's memory graph has samples", lambda: points("#node-charts [data-chart=memory]") >= 1)
    browser.save_screenshot(f"{shots}/node-en.png")

    browser.get(base + "/#/events")
    expect("web1's creation in the event log",
           lambda: "VM created" in text("#event-log") and "web1" in text("#event-log"))
    Select(browser.find_element(By.CSS_SELECTOR, "#event-filter [name=kind]")).select_by_value("vm.created")
    expect("the kind filter kept in the address", lambda: "kind=vm.created" in browser.current_url)
    expect("only creations listed", lambda: rows("#event-log") >= 2 and all(
        "VM created" in row for row in row_texts("#event-log")))
    browser.save_screenshot(f"{shots}/events-en.png")

    browser.get(base + "/")
    Select(browser.find_element(By.ID, "language")).select_by_value("ja")
    expect("Japanese headings", lambda: text("h1") == "概要")
    expect("the node's measured CPU use on the dashboard", lambda: "%" in text("#nodes tbody"))
    expect("Japanese phase labels", lambda: "実行中: 1" in text("#vm-counts"))
    expect("Japanese navigation", lambda: text("nav a") == "ダッシュボード")
    browser.save_screenshot(f"{shots}/dashboard-ja.png")

    browser.refresh()
    expect("Japanese remembered after a reload", lambda: text("h1") == "概要")
    browser.get(base + "/#/vms/web1")
    expect("web1's page in Japanese", lambda: "実行中" in text("#vm-status"))
    expect("Japanese buttons", lambda: text("[data-action=start]") == "起動")
    expect("the consoles linked in Japanese", lambda: "シリアルコンソール" in text("body"))
    # One node: nowhere to migrate to. The refusal has no translated sentence, so its kind comes
    # first in Japanese, then the server's words.
    browser.find_element(By.CSS_SELECTOR, "[data-action=migrate]").click()
    expect("the API's refusal of a migration labelled in Japanese", lambda: any(
        text("#vm-message").startswith(prefix + ": ")
        for prefix in ("今はできません", "資源が足りません", "入力が正しくありません", "競合しています")))
    browser.save_screenshot(f"{shots}/vm-detail-ja.png")
    browser.get(base + "/#/events")
    expect("event kinds in Japanese", lambda: "VM 作成" in text("#event-log"))
    browser.save_screenshot(f"{shots}/events-ja.png")
    browser.get(base + "/#/create")
    expect("the form in Japanese", lambda: "tiny" in text("#field-image"))
    browser.find_element(By.ID, "field-name").send_keys("web3")
    memory = browser.find_element(By.ID, "field-memoryMiB")
    memory.clear()
    memory.send_keys("8")
    browser.find_element(By.ID, "create-submit").click()
    expect("the memory refusal in Japanese next to its field",
           lambda: "メモリ 8 MiB は指定できません" in text("#error-memoryMiB"))
    browser.save_screenshot(f"{shots}/create-refused-ja.png")

    # A tablet held upright: the pages fit its width (no sideways scrolling of the page).
    browser.set_window_size(820, 1180)
    for name, address in [("dashboard", "/"), ("vm-detail", "/#/vms/web1"), ("vm-list", "/#/vms")]:
        browser.get(base + address)
        expect(f"the {name} page drawn at tablet width", lambda: text("main h1") != "")
        expect(f"the {name} page as wide as a tablet", lambda: browser.execute_script(
            "return document.documentElement.scrollWidth <= window.innerWidth"))
        browser.save_screenshot(f"{shots}/{name}-tablet-ja.png")
finally:
    browser.quit()
