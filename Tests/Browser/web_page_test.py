#!/usr/bin/env python3
"""The web page in a real browser: headless Chromium through chromedriver (Selenium), against real `lookalike serve`
processes on loopback ports, with images encoded by Pillow.

    web_page_test.py --binary .build/debug/lookalike [--screenshots docs/screenshots]

Checks: the page's files and their headers; upload through the page's file input; search with one image shows its
near-duplicate's thumbnail with the score the API gives; an image's page and its neighbours; browse with a filter and
pages; the duplicates view finds the pair and deletes all but the kept image; API problems are shown with their
title and detail; no content-security-policy violations; a phone-sized window has no sideways scrolling; with API keys
on, the page fails clearly without the key and works once it is entered.
"""
import argparse
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

os.environ["SE_AVOID_STATS"] = "true"  # Selenium makes no network calls of its own
from PIL import Image, ImageOps  # noqa: E402
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
KEY = "browser-test-key-0123456789"


class Server:
    """`lookalike serve` on an ephemeral loopback port with a fresh database."""

    def __init__(self, binary, directory, name, env=None):
        self.log_path = directory / f"{name}.log"
        self.log = open(self.log_path, "w")
        environment = dict(os.environ, **(env or {}))
        self.process = subprocess.Popen(
            [binary, "serve", "--host", "127.0.0.1", "--port", "0", "--db", str(directory / f"{name}.sqlite")],
            stdout=self.log, stderr=subprocess.STDOUT, env=environment)
        deadline = time.time() + 120
        self.port = None
        while time.time() < deadline:
            match = re.search(r"port=(\d+)", self.log_path.read_text())
            if match and "listening" in self.log_path.read_text():
                self.port = int(match.group(1))
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/readyz", timeout=5):
                        break
                except (urllib.error.URLError, ConnectionError):
                    pass
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        else:
            self.stop()
            raise AssertionError(f"the server did not start:\n{self.log_path.read_text()}")
        if self.process.poll() is not None:
            raise AssertionError(f"the server exited:\n{self.log_path.read_text()}")
        self.url = f"http://127.0.0.1:{self.port}"

    def api(self, method, path, body=None, headers=None, key=None):
        request = urllib.request.Request(self.url + path, data=body, method=method, headers=dict(headers or {}))
        if key:
            request.add_header("Authorization", f"Bearer {key}")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()


def make_images(directory):
    """Photos re-encoded by Pillow: a cat, its smaller lower-quality copy, and a cup of coffee, plus a file that
    is not an image."""
    fixtures = ROOT / "Tests" / "InferenceTests" / "Fixtures"
    cat = Image.open(fixtures / "chelsea.png").convert("RGB")
    coffee = Image.open(fixtures / "coffee.jpg").convert("RGB")
    paths = {
        "cat.jpg": (cat, {"quality": 92}),
        "cat-small.jpg": (cat.resize((cat.width // 2, cat.height // 2), Image.LANCZOS), {"quality": 70}),
        "coffee.jpg": (coffee, {"quality": 92}),
    }
    files = {}
    for name, (image, options) in paths.items():
        files[name] = directory / name
        image.save(files[name], "JPEG", **options)
    files["not-an-image.jpg"] = directory / "not-an-image.jpg"
    files["not-an-image.jpg"].write_text("these bytes are text, not a JPEG\n")
    # More pictures for the screenshots: crops, a mirror and a grey copy of the two photos.
    extra = {
        "cat-mirrored.jpg": ImageOps.mirror(cat),
        "cat-grey.png": ImageOps.grayscale(cat).convert("RGB"),
        "cat-face.jpg": cat.crop((80, 20, 300, 240)),
        "coffee-crop.jpg": coffee.crop((60, 20, 240, 200)),
        "coffee-small.png": coffee.resize((coffee.width // 3, coffee.height // 3), Image.LANCZOS),
    }
    for name, image in extra.items():
        files[name] = directory / name
        image.save(files[name], "PNG" if name.endswith(".png") else "JPEG", quality=88)
    return files


def browser(download_directory):
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1280,1000", "--disable-extensions", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--metrics-recording-only", "--no-default-browser-check", f"--user-data-dir={download_directory}"]:
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=shutil.which("chromedriver") or "/usr/bin/chromedriver")
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(60)
    return driver


def wait(driver, condition, what, timeout=90):
    """Polls `condition`; an element re-rendered between finding and reading it is simply read again."""
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.2, ignored_exceptions=[StaleElementReferenceException]) \
            .until(lambda d: condition(d))
    except TimeoutException as error:
        problem = driver.find_element(By.ID, "problem").text
        raise AssertionError(f"timed out waiting for {what}; problem box: {problem!r}") from error


def tiles(driver, list_id):
    return driver.find_elements(By.CSS_SELECTOR, f"#{list_id} li.tile")


def thumbnail_loaded(tile):
    image = tile.find_element(By.TAG_NAME, "img")
    return (image.get_attribute("src") or "").startswith("blob:") and \
        tile.parent.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", image)


def screenshot(driver, path):
    """The window without a focus ring, as a 256-colour PNG (a quarter of the bytes; for the README)."""
    driver.execute_script("document.activeElement.blur()")
    driver.save_screenshot(str(path))
    Image.open(path).convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def problem_text(driver):
    box = driver.find_element(By.ID, "problem")
    if not box.is_displayed():
        return None
    return (box.find_element(By.CLASS_NAME, "problem-title").text, box.find_element(By.CLASS_NAME, "problem-detail").text)


def csp_violations(driver):
    return [entry["message"] for entry in driver.get_log("browser")
            if "Content Security Policy" in entry["message"] or "Refused to" in entry["message"]]


def check_files(server):
    status, headers, body = server.api("GET", "/")
    check(status == 200 and headers.get("Content-Type", "").startswith("text/html"), f"GET / → {status} {headers}")
    check('<input type="file" name="query"' in body.decode(), "the page has the search's file input")
    check("script-src 'self'" in headers.get("Content-Security-Policy", "") and "unsafe-inline" not in
          headers.get("Content-Security-Policy", ""), f"CSP: {headers.get('Content-Security-Policy')}")
    check("<script>" not in body.decode() and " style=" not in body.decode(), "no inline script or style in the page")
    tag = headers.get("ETag")
    check(tag and headers.get("Cache-Control") == "no-cache", f"validators: {headers}")
    status, _, body = server.api("GET", "/", headers={"If-None-Match": tag})
    check(status == 304 and body == b"", f"If-None-Match → {status}")
    for name, kind in [("app.js", "text/javascript"), ("app.css", "text/css"), ("icon.svg", "image/svg+xml")]:
        status, headers, _ = server.api("GET", f"/ui/{name}")
        check(status == 200 and headers.get("Content-Type", "").startswith(kind), f"/ui/{name} → {status} {headers}")
    status, headers, body = server.api("GET", "/ui/missing.js")
    check(status == 404 and headers.get("Content-Type") == "application/problem+json", f"/ui/missing.js → {status}")


def run_open_server(driver, server, files, screenshots):
    check_files(server)
    driver.get(server.url + "/#browse")
    wait(driver, lambda d: "No images yet" in d.find_element(By.ID, "browse-status").text, "an empty collection")

    # Upload three photos through the page's file input, one request each, with per-file status.
    names = ["cat.jpg", "cat-small.jpg", "coffee.jpg"]
    driver.find_element(By.ID, "upload-input").send_keys("\n".join(str(files[n]) for n in names))
    wait(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#upload-list li.ok")) == 3, "three stored uploads")
    outcomes = {line.get_attribute("data-file"): line.find_element(By.CLASS_NAME, "outcome").text
                for line in driver.find_elements(By.CSS_SELECTOR, "#upload-list li")}
    check(all(outcomes[n].startswith(f"stored as {n}") for n in names), f"upload outcomes: {outcomes}")
    wait(driver, lambda d: len(tiles(d, "browse-results")) == 3 and all(thumbnail_loaded(t) for t in tiles(d, "browse-results")),
         "the browse grid with three thumbnails")
    check(sorted(t.get_attribute("data-id") for t in tiles(driver, "browse-results")) == sorted(names), "browse ids")

    # A file that is not an image: the API's problem is shown, title and detail.
    driver.find_element(By.ID, "upload-input").send_keys(str(files["not-an-image.jpg"]))
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#upload-list li.failed"), "the failed upload's line")
    failed = driver.find_element(By.CSS_SELECTOR, "#upload-list li.failed .outcome").text
    status, _, body = server.api("POST", "/v1/images?id=x", body=files["not-an-image.jpg"].read_bytes())
    expected = json.loads(body)
    check(failed == f"{expected['title']}: {expected['detail']}", f"failed upload shows {failed!r}, API says {expected}")

    # Search with the cat: its smaller copy is in the grid with its thumbnail and the score the API gives.
    driver.get(server.url + "/#search")
    query = driver.find_element(By.CSS_SELECTOR, "input[type=file][name=query]")
    query.send_keys(str(files["cat.jpg"]))
    wait(driver, lambda d: len(tiles(d, "search-results")) == 3, "three search results")
    status, _, body = server.api("POST", "/v1/search?k=24", body=files["cat.jpg"].read_bytes())
    reference = json.loads(body)["results"]
    shown = [(t.get_attribute("data-id"), float(t.get_attribute("data-score"))) for t in tiles(driver, "search-results")]
    check([i for i, _ in shown] == [r["id"] for r in reference], f"result order {shown} vs API {reference}")
    check(all(abs(s - r["score"]) < 1e-6 for (_, s), r in zip(shown, reference)), f"scores {shown} vs API {reference}")
    small = driver.find_element(By.CSS_SELECTOR, '#search-results li.tile[data-id="cat-small.jpg"]')
    score = float(small.get_attribute("data-score"))
    check(score > 0.9, f"the near-duplicate scores {score}")
    check(small.find_element(By.CLASS_NAME, "score").text == f"{score:.3f}", "the tile shows its score")
    wait(driver, lambda d: all(thumbnail_loaded(t) for t in tiles(d, "search-results")), "result thumbnails")
    coffee = dict(shown)["coffee.jpg"]
    check(coffee < score - 0.2, f"coffee scores {coffee}, the cat's copy {score}")
    check(driver.find_element(By.ID, "query-preview").is_displayed(), "the query image is shown")

    # Two searches in quick succession: the page shows the answer to the second, whichever arrives last.
    query.send_keys(str(files["coffee.jpg"]))
    query.send_keys(str(files["cat-small.jpg"]))
    wait(driver, lambda d: d.find_element(By.ID, "search-status").text.startswith("3 results"), "the second search's results")
    time.sleep(1)
    check(tiles(driver, "search-results")[0].get_attribute("data-id") == "cat-small.jpg", "the latest search is shown")

    # Dropping and pasting an image run the search too (a File made in the page from the stored thumbnail of
    # the coffee, delivered as a real DragEvent and ClipboardEvent).
    for event, restore in (("drop", "cat.jpg"), ("paste", "cat-small.jpg")):
        driver.execute_async_script("""
            const [kind, done] = arguments;
            fetch('/v1/images/coffee.jpg/thumbnail').then((r) => r.blob()).then((blob) => {
              const data = new DataTransfer();
              data.items.add(new File([blob], 'coffee-thumbnail.jpg', {type: 'image/jpeg'}));
              if (kind === 'drop') {
                document.querySelector('#drop-zone').dispatchEvent(new DragEvent('drop', {dataTransfer: data, bubbles: true, cancelable: true}));
              } else {
                document.dispatchEvent(new ClipboardEvent('paste', {clipboardData: data, bubbles: true, cancelable: true}));
              }
              done();
            });""", event)
        wait(driver, lambda d: tiles(d, "search-results") and tiles(d, "search-results")[0].get_attribute("data-id") == "coffee.jpg"
             and "coffee-thumbnail.jpg" not in d.find_element(By.ID, "search-status").text, f"the search by {event}")
        query.send_keys(str(files[restore]))
        wait(driver, lambda d: tiles(d, "search-results")[0].get_attribute("data-id") == restore, "back to the cat")

    # min_score: the control reruns the search; only the cat and its copy remain.
    field = driver.find_element(By.ID, "search-min-score")
    field.send_keys("0.5", Keys.TAB)
    wait(driver, lambda d: len(tiles(d, "search-results")) == 2, "two results at min_score 0.5")

    # Keyboard: focus the copy's tile and press Enter → its page, with its own neighbours.
    driver.find_element(By.CSS_SELECTOR, '#search-results li.tile[data-id="cat-small.jpg"] button.open').send_keys(Keys.ENTER)
    wait(driver, lambda d: d.find_element(By.ID, "view-image").is_displayed()
         and d.find_element(By.ID, "image-title").text == "cat-small.jpg", "the image page")
    wait(driver, lambda d: [t.get_attribute("data-id") for t in tiles(d, "similar-results")][:1] == ["cat.jpg"],
         "the image's neighbours")
    fields = driver.find_element(By.ID, "image-fields").text
    cat_small = Image.open(files["cat-small.jpg"])
    check(f"{cat_small.width} × {cat_small.height} pixels" in fields and "jpeg" in fields.lower(), f"fields: {fields}")
    # Walk on: the neighbour's page.
    tiles(driver, "similar-results")[0].find_element(By.CSS_SELECTOR, "button.open").click()
    wait(driver, lambda d: d.find_element(By.ID, "image-title").text == "cat.jpg", "walking to the neighbour")
    wait(driver, lambda d: tiles(d, "similar-results") and all(thumbnail_loaded(t) for t in tiles(d, "similar-results")),
         "the neighbour's neighbours")
    if screenshots:
        screenshot(driver, screenshots / "image.png")

    # Filters: metadata set through the API; the browse filter admits only the matching image; a bad filter
    # is named before any request.
    status, _, _ = server.api("PATCH", "/v1/images/coffee.jpg", body=b'{"kind": "drink"}',
                              headers={"Content-Type": "application/merge-patch+json"})
    check(status == 200, f"PATCH → {status}")
    driver.get(server.url + "/#browse")
    wait(driver, lambda d: len(tiles(d, "browse-results")) == 3, "the browse grid")
    box = driver.find_element(By.ID, "browse-filter")
    box.send_keys('{"kind": "drink"}', Keys.TAB)
    wait(driver, lambda d: [t.get_attribute("data-id") for t in tiles(d, "browse-results")] == ["coffee.jpg"], "filtered browse")
    box.clear()
    box.send_keys('{"kind": ', Keys.TAB)
    wait(driver, lambda d: problem_text(d) and problem_text(d)[0] == "The filter is not JSON", "the filter's problem")
    box.clear()
    box.send_keys('{"kind": {"$lt": []}}', Keys.TAB)
    status, _, body = server.api("GET", "/v1/images?limit=48&filter=" + urllib.parse.quote('{"kind": {"$lt": []}}'))
    check(status == 400, f"bad filter → {status}")
    wait(driver, lambda d: problem_text(d) == ("Bad Request", json.loads(body)["detail"]), "the API's filter problem")
    box.clear()
    box.send_keys(Keys.TAB)

    # Pages: one image per page, forward and back.
    limit = driver.find_element(By.ID, "browse-limit")
    limit.clear()
    limit.send_keys("1", Keys.TAB)
    seen = []
    for page in range(1, 4):
        wait(driver, lambda d: d.find_element(By.ID, "browse-status").text == f"Page {page}: 1 image"
             and len(tiles(d, "browse-results")) == 1 and tiles(d, "browse-results")[0].get_attribute("data-id") not in seen,
             f"page {page}")
        seen.append(tiles(driver, "browse-results")[0].get_attribute("data-id"))
        # A script click: a pointer click can land where the button was before the page settled.
        driver.execute_script("arguments[0].click()", driver.find_element(By.ID, "browse-next"))
    check(sorted(seen) == sorted(names), f"pages showed {seen}")
    wait(driver, lambda d: "No more images" in d.find_element(By.ID, "browse-status").text, "the end of the pages")
    driver.find_element(By.ID, "browse-previous").click()
    wait(driver, lambda d: [t.get_attribute("data-id") for t in tiles(d, "browse-results")] == [seen[-1]], "previous page")
    limit.clear()
    limit.send_keys("48", Keys.TAB)

    # More pictures, for a fuller screenshot of browse and duplicates.
    more = ["cat-mirrored.jpg", "cat-grey.png", "cat-face.jpg", "coffee-crop.jpg", "coffee-small.png"]
    driver.find_element(By.ID, "upload-input").send_keys("\n".join(str(files[n]) for n in more))
    wait(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#upload-list li.ok")) == 8, "eight stored uploads")
    wait(driver, lambda d: len(tiles(d, "browse-results")) == 8 and all(thumbnail_loaded(t) for t in tiles(d, "browse-results")),
         "eight thumbnails")
    check(driver.find_element(By.CSS_SELECTOR, "#upload-summary span").text == "8 stored, 1 failed.", "the upload summary")
    driver.find_element(By.ID, "upload-clear").click()
    check(not driver.find_elements(By.CSS_SELECTOR, "#upload-list li"), "the list cleared")
    if screenshots:
        screenshot(driver, screenshots / "browse.png")

    if screenshots:
        driver.get(server.url + "/#search")
        driver.find_element(By.ID, "search-min-score").clear()
        driver.find_element(By.CSS_SELECTOR, "input[type=file][name=query]").send_keys(str(files["cat-small.jpg"]))
        wait(driver, lambda d: len(tiles(d, "search-results")) == 8 and all(thumbnail_loaded(t) for t in tiles(d, "search-results"))
             and tiles(d, "search-results")[0].get_attribute("data-id") == "cat-small.jpg", "eight results for the small cat")
        screenshot(driver, screenshots / "search.png")

    # Delete from the browse grid, after a confirmation.
    driver.get(server.url + "/#browse")
    wait(driver, lambda d: len(tiles(d, "browse-results")) == 8, "the browse grid")
    driver.find_element(By.CSS_SELECTOR, '#browse-results li.tile[data-id="coffee-small.png"] button.delete').click()
    wait(driver, lambda d: d.find_element(By.ID, "confirm-dialog").is_displayed(), "the confirmation")
    check("coffee-small.png" in driver.find_element(By.ID, "confirm-message").text, "the confirmation names the image")
    driver.find_element(By.ID, "confirm-ok").click()
    wait(driver, lambda d: len(tiles(d, "browse-results")) == 7, "seven tiles after the delete")
    check(server.api("GET", "/v1/images/coffee-small.png")[0] == 404, "the image is deleted")

    # Another collection, chosen in the selector: its own (empty) grid, and uploads go there.
    status, _, _ = server.api("POST", "/v1/collections", body=b'{"name": "shop"}', headers={"Content-Type": "application/json"})
    check(status == 201, f"create collection → {status}")
    driver.refresh()
    wait(driver, lambda d: "shop" in [o.get_attribute("value") for o in d.find_elements(By.CSS_SELECTOR, "#collection option")],
         "the new collection in the selector")
    Select(driver.find_element(By.ID, "collection")).select_by_value("shop")
    wait(driver, lambda d: "No images yet" in d.find_element(By.ID, "browse-status").text, "the empty collection")
    driver.find_element(By.ID, "upload-input").send_keys(str(files["coffee.jpg"]))
    wait(driver, lambda d: [t.get_attribute("data-id") for t in tiles(d, "browse-results")] == ["coffee.jpg"], "the shop's grid")
    check(server.api("GET", "/v1/collections/shop/images/coffee.jpg")[0] == 200, "the upload went to shop")
    check(json.loads(server.api("GET", "/v1/collections/default")[2])["images"] == 7, "default is unchanged")
    Select(driver.find_element(By.ID, "collection")).select_by_value("default")
    wait(driver, lambda d: len(tiles(d, "browse-results")) == 7, "back to default")

    # A re-embedding to another recipe, followed in the bar until the collection is on it.
    recipe_status = lambda d: d.find_element(By.ID, "recipe-status").text
    wait(driver, lambda d: recipe_status(d).startswith("Recipe: "), "the collection's recipe")
    check("squash" not in recipe_status(driver), f"not yet squashed: {recipe_status(driver)}")
    status, _, body = server.api("PATCH", "/v1/collections/default", body=b'{"recipe": {"crop": "squash"}}',
                                 headers={"Content-Type": "application/json"})
    check(status == 202 and json.loads(body)["recipe_change"]["state"] == "running", f"PATCH recipe → {status} {body[:200]}")
    driver.refresh()
    wait(driver, lambda d: recipe_status(d).startswith("Re-embedding to squash crop") or recipe_status(d).startswith("Recipe: squash crop"),
         "the re-embedding in the bar")
    wait(driver, lambda d: recipe_status(d).startswith("Recipe: squash crop"), "the new recipe once re-embedded", timeout=120)
    check(json.loads(server.api("GET", "/v1/collections/default")[2])["recipe_change"]["state"] == "done", "the change is done")

    # Duplicates: the groups the API gives, shown side by side.
    driver.get(server.url + "/#duplicates")
    status, _, body = server.api("GET", "/v1/duplicates?threshold=0.92&limit=20")
    groups = json.loads(body)["groups"]
    pair = next((g for g in groups if set(g) >= {"cat.jpg", "cat-small.jpg"}), None)
    check(pair is not None, f"the API groups the pair: {groups}")
    wait(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#duplicate-groups li.group")) == len(groups), "the groups")
    shown = [[t.get_attribute("data-id") for t in g.find_elements(By.CSS_SELECTOR, "li.tile")]
             for g in driver.find_elements(By.CSS_SELECTOR, "#duplicate-groups li.group")]
    check(shown == groups, f"groups shown {shown} vs API {groups}")
    wait(driver, lambda d: all(thumbnail_loaded(t) for t in tiles(d, "duplicate-groups")), "group thumbnails")
    if screenshots:
        screenshot(driver, screenshots / "duplicates.png")

    # The slider: at 0.999 nothing is a duplicate of anything (no two files are identical).
    slider = driver.find_element(By.ID, "duplicates-threshold")
    driver.execute_script("arguments[0].value = 0.999; arguments[0].dispatchEvent(new Event('input'))", slider)
    wait(driver, lambda d: "No near-duplicates at cosine ≥ 0.999" in d.find_element(By.ID, "duplicates-status").text, "no groups at 0.999")
    driver.execute_script("arguments[0].value = 0.92; arguments[0].dispatchEvent(new Event('input'))", slider)
    wait(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#duplicate-groups li.group")) == len(groups), "the groups again")

    # "Not duplicates" on the cat group: it leaves the page and stays away after a reload; undone, it is back.
    group = next(g for g in driver.find_elements(By.CSS_SELECTOR, "#duplicate-groups li.group")
                 if "cat.jpg" in g.get_attribute("data-ids").split("\n"))
    group.find_element(By.CSS_SELECTOR, "button.not-duplicates").click()
    gone = lambda d: all("cat.jpg" not in g.get_attribute("data-ids").split("\n")
                         for g in d.find_elements(By.CSS_SELECTOR, "#duplicate-groups li.group"))
    wait(driver, gone, "the dismissed group gone")
    decisions = json.loads(server.api("GET", "/v1/duplicates/decisions")[2])["decisions"]
    check(len(decisions) == 1 and set(decisions[0]["ids"]) == set(pair), f"the decision stored: {decisions}")
    driver.refresh()
    wait(driver, lambda d: "group" in d.find_element(By.ID, "duplicates-status").text or "No near-duplicates" in
         d.find_element(By.ID, "duplicates-status").text, "the groups after a reload")
    check(gone(driver), "the dismissed group stays away after a reload")
    check(server.api("DELETE", f"/v1/duplicates/decisions/{decisions[0]['id']}")[0] == 204, "undo the decision")
    driver.refresh()
    wait(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#duplicate-groups li.group")) == len(groups), "the group back")

    # Keep cat.jpg, delete the rest of its group; cancelling first deletes nothing.
    group = next(g for g in driver.find_elements(By.CSS_SELECTOR, "#duplicate-groups li.group")
                 if "cat.jpg" in g.get_attribute("data-ids").split("\n"))
    group.find_element(By.CSS_SELECTOR, 'li.tile[data-id="cat.jpg"] input[type=radio]').click()
    group.find_element(By.CSS_SELECTOR, "button.delete-others").click()
    wait(driver, lambda d: d.find_element(By.ID, "confirm-dialog").is_displayed(), "the confirmation")
    driver.find_element(By.CSS_SELECTOR, '#confirm-dialog button[value="cancel"]').click()
    time.sleep(0.5)
    check(server.api("GET", "/v1/images/cat-small.jpg")[0] == 200, "cancel deletes nothing")
    group.find_element(By.CSS_SELECTOR, "button.delete-others").click()
    wait(driver, lambda d: d.find_element(By.ID, "confirm-dialog").is_displayed(), "the confirmation")
    driver.find_element(By.ID, "confirm-ok").click()
    doomed = [i for i in next(g for g in groups if "cat.jpg" in g) if i != "cat.jpg"]
    wait(driver, lambda d: all(server.api("GET", f"/v1/images/{urllib.parse.quote(i)}")[0] == 404 for i in doomed),
         "the others deleted")
    check(server.api("GET", "/v1/images/cat.jpg")[0] == 200, "the kept image stays")

    # A phone-sized window: the page fits its width.
    driver.set_window_size(390, 844)
    driver.get(server.url + "/#browse")
    wait(driver, lambda d: len(tiles(d, "browse-results")) >= 3, "browse on a phone")
    if screenshots:
        screenshot(driver, screenshots / "phone.png")
    overflow = driver.execute_script("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
    check(overflow <= 0, f"the phone-sized page scrolls sideways by {overflow} px")
    driver.set_window_size(1280, 1000)

    violations = csp_violations(driver)
    check(not violations, f"content-security-policy violations: {violations}")


def run_keyed_server(driver, server, files):
    # Without the key: the first request's 401 is shown, and the page asks for a key.
    driver.get(server.url + "/")
    wait(driver, lambda d: problem_text(d) is not None, "the problem without a key")
    title, detail = problem_text(driver)
    check(title == "Unauthorized" and "Bearer" in detail, f"problem without a key: {title!r} {detail!r}")
    wait(driver, lambda d: d.find_element(By.ID, "key-dialog").is_displayed(), "the key dialog")
    # A wrong key fails the same way.
    driver.find_element(By.ID, "key-input").send_keys("wrong-key-0123456789")
    driver.find_element(By.ID, "key-save").click()
    wait(driver, lambda d: d.find_element(By.ID, "key-dialog").is_displayed() and problem_text(d)
         and problem_text(d)[0] == "Unauthorized", "the dialog again after a wrong key")
    driver.find_element(By.ID, "key-input").send_keys(KEY)
    driver.find_element(By.ID, "key-save").click()
    wait(driver, lambda d: not d.find_element(By.ID, "key-dialog").is_displayed() and problem_text(d) is None, "the key accepted")
    driver.get(server.url + "/#browse")
    driver.find_element(By.ID, "upload-input").send_keys("\n".join(str(files[n]) for n in ["cat.jpg", "coffee.jpg"]))
    wait(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#upload-list li.ok")) == 2, "uploads with the key")
    wait(driver, lambda d: len(tiles(d, "browse-results")) == 2 and all(thumbnail_loaded(t) for t in tiles(d, "browse-results")),
         "thumbnails fetched with the key")
    check(server.api("GET", "/v1/images")[0] == 401, "the server still refuses keyless reads")
    driver.get(server.url + "/#search")
    driver.find_element(By.CSS_SELECTOR, "input[type=file][name=query]").send_keys(str(files["cat-small.jpg"]))
    wait(driver, lambda d: [t.get_attribute("data-id") for t in tiles(d, "search-results")][:1] == ["cat.jpg"], "search with the key")
    # Forgetting the key brings the problem back.
    driver.find_element(By.ID, "key-button").click()
    driver.find_element(By.ID, "key-forget").click()
    wait(driver, lambda d: problem_text(d) and problem_text(d)[0] == "Unauthorized", "the problem after forgetting the key")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", required=True)
    parser.add_argument("--screenshots", type=pathlib.Path)
    arguments = parser.parse_args()
    directory = pathlib.Path(tempfile.mkdtemp(prefix="lookalike-web-"))
    if arguments.screenshots:
        arguments.screenshots.mkdir(parents=True, exist_ok=True)
    servers = []
    driver = None
    try:
        files = make_images(directory)
        driver = browser(directory / "profile")
        open_server = Server(arguments.binary, directory, "open", env={"LOOKALIKE_STORAGE_KEEP_ORIGINALS": "true"})
        servers.append(open_server)
        run_open_server(driver, open_server, files, arguments.screenshots)
        print("web page: open server passed")
        keyed = Server(arguments.binary, directory, "keyed",
                       env={"LOOKALIKE_SERVER_API_KEYS": KEY, "LOOKALIKE_SERVER_PROTECT_READS": "true"})
        servers.append(keyed)
        run_keyed_server(driver, keyed, files)
        print("web page: server with API keys passed")
    except Exception:
        for server in servers:
            print(f"--- {server.log_path.name} (last lines)", file=sys.stderr)
            print("\n".join(server.log_path.read_text().splitlines()[-20:]), file=sys.stderr)
        if driver is not None:
            shot = directory / "failure.png"
            driver.save_screenshot(str(shot))
            print(f"screenshot of the failure: {shot}", file=sys.stderr)
        raise
    finally:
        if driver is not None:
            driver.quit()
        for server in servers:
            server.stop()
    shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
