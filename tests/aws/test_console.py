"""The web console (`/console`) in a real headless Chromium (Debian `chromium` and
`chromium-driver`, which scripts/test.sh installs), driven with selenium: the page loads with
no console errors, shows the streams, queues and topics a test created, and its live tail
shows records put while it is open. Screenshots go to target/console-screenshots/."""

from __future__ import annotations

import base64
import shutil
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO_ROOT / "target" / "console-screenshots"
WAIT_S = 30


def chromium_paths() -> tuple[str, str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        pytest.fail(
            "chromium and chromedriver are missing (Debian: apt-get install chromium "
            "chromium-driver; scripts/test.sh installs them)"
        )
    return browser, driver


@pytest.fixture
def browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver_path = chromium_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1400,1800",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=driver_path, log_output=str(tmp_path / "chromedriver.log"))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(WAIT_S)
    try:
        yield driver
    finally:
        driver.quit()


def wait_until(condition, what: str):
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def errors_in(driver) -> list[dict]:
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def shoot(driver, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))


def test_the_console_shows_what_exists_and_tails_a_stream(server, browser):
    from selenium.webdriver.common.by import By

    kinesis = server.client("kinesis")
    kinesis.create_stream(StreamName="clickstream", ShardCount=2)
    kinesis.get_waiter("stream_exists").wait(
        StreamName="clickstream", WaiterConfig={"Delay": 0.2, "MaxAttempts": 50}
    )
    for i in range(5):
        kinesis.put_record(StreamName="clickstream", PartitionKey=f"user-{i}", Data=b"before")
    sqs = server.client("sqs")
    url = sqs.create_queue(QueueName="orders")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="order number one")
    sns = server.client("sns")
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)

    browser.get(f"{server.endpoint}/console")
    wait_until(
        lambda: browser.find_elements(By.CSS_SELECTOR, '[data-stream="clickstream"]'),
        "the stream's card",
    )
    card = browser.find_element(By.CSS_SELECTOR, '[data-stream="clickstream"]')
    assert "shardId-000000000000" in card.text and "shardId-000000000001" in card.text
    assert "5 records" in card.text
    assert card.find_elements(By.CSS_SELECTOR, "canvas"), "a throughput chart"
    wait_until(lambda: browser.find_elements(By.CSS_SELECTOR, '[data-queue="orders"]'), "the queue")
    wait_until(lambda: browser.find_elements(By.CSS_SELECTOR, '[data-topic="alerts"]'), "the topic")
    assert "sqs" in browser.find_element(By.CSS_SELECTOR, '[data-topic="alerts"]').text

    # A peek shows the queued message without receiving it.
    browser.find_element(By.CSS_SELECTOR, '[data-queue="orders"] button').click()
    wait_until(lambda: "order number one" in browser.find_element(By.ID, "peek").text, "the peek")
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)["Messages"][0]["Body"] == (
        "order number one"
    )
    shoot(browser, "overview")

    # The live tail shows records put from now on, not the ones before.
    card.find_element(By.CSS_SELECTOR, ".tail-button").click()
    wait_until(lambda: browser.find_element(By.ID, "tail-section").is_displayed(), "the tail")
    time.sleep(0.5)  # the tail's first poll takes the shards' ends as its start
    for i in range(3):
        kinesis.put_record(StreamName="clickstream", PartitionKey="live", Data=f"live {i}".encode())
    rows = wait_until(
        lambda: len(browser.find_elements(By.CSS_SELECTOR, "#tail .tail-record")) >= 3
        and browser.find_elements(By.CSS_SELECTOR, "#tail .tail-record"),
        "three tailed records",
    )
    texts = sorted(row.text for row in rows)
    assert all("live" in text for text in texts), texts
    assert not any("before" in text for text in texts)
    shoot(browser, "tail")

    assert errors_in(browser) == [], "the console logged errors"


def test_the_console_asks_for_credentials_when_keys_are_configured(start_server):
    server = start_server(
        config_toml='[auth.access_keys]\n"AKIDCONSOLE" = "console-secret"\n'
    )
    page = f"{server.endpoint}/console/api/overview"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(page, timeout=5)
    assert refused.value.code == 401
    assert "Basic" in refused.value.headers["WWW-Authenticate"]
    wrong = urllib.request.Request(
        page, headers={"Authorization": "Basic " + base64.b64encode(b"AKIDCONSOLE:no").decode()}
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(wrong, timeout=5)
    assert refused.value.code == 401
    right = urllib.request.Request(
        page,
        headers={
            "Authorization": "Basic " + base64.b64encode(b"AKIDCONSOLE:console-secret").decode()
        },
    )
    with urllib.request.urlopen(right, timeout=5) as answer:
        assert answer.status == 200


def test_the_console_can_be_turned_off(start_server):
    server = start_server(config_toml="[server]\nconsole = false\n")
    with pytest.raises(urllib.error.HTTPError) as off:
        urllib.request.urlopen(f"{server.endpoint}/console", timeout=5)
    assert off.value.code == 404
