"""The playground in a real browser: Debian's Chromium driven by Playwright, on loopback only.

Each test loads the page from a live server (werkzeug, in a thread, on a fresh cache), uses
the controls by their accessible names, and checks what a user would see and hear. Every
request the browser makes is counted and must stay on 127.0.0.1 (the browser also has a
resolver rule that fails any other host), and the console must stay free of errors.

Screenshots at 375 and 1440 px (light and dark) are written to a temporary directory, or to
RESONANT_SCREENSHOTS (e.g. `docs/`) to refresh the README's pictures.
"""
from __future__ import annotations

import json
import os
import pathlib
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

from app import create_app

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - the test extras install it
    sync_playwright = None

API = "/api/v1"
TIMEOUT_MS = 30_000
MEDIA = {"WAV": "audio/wav", "MP3": "audio/mpeg", "MIDI": "audio/midi"}


def needs(reason: str) -> None:
    """A prerequisite is missing: skip on a developer's machine, fail in CI (CI=true)."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"missing prerequisite in CI: {reason}")
    pytest.skip(reason)


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:
        pass


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[tuple[str, object]]:
    """The app on a free loopback port (werkzeug, threaded); yields (base URL, app)."""
    app = create_app({"TESTING": True, "RESONANT_CACHE_DIR": str(tmp_path_factory.mktemp("cache")),
                      "RESONANT_POOL_SIZE": 2, "RESONANT_QUEUE_LIMIT": 32})
    httpd = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}", app
    httpd.shutdown()
    thread.join(timeout=10)
    httpd.server_close()
    app.extensions["resonant"].runner.shutdown(wait=True, cancel_queued=True)


@pytest.fixture(scope="module")
def browser():
    if sync_playwright is None:
        needs("playwright (`make install` installs the test extras)")
    executable = shutil.which("chromium")
    if executable is None:
        needs("chromium (`make test` installs it: sysdeps-test)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=[
            "--no-sandbox", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"])
        yield launched
        launched.close()


@dataclass
class Session:
    """A page plus everything it asked for and complained about."""

    page: object
    base: str
    requests: list[str] = field(default_factory=list)
    posts: dict[str, list[str]] = field(default_factory=dict)
    console_errors: list[str] = field(default_factory=list)

    def open(self) -> None:
        response = self.page.goto(self.base + "/")
        assert response.status == 200
        assert "default-src 'self'" in response.headers["content-security-policy"]
        self.page.locator(".preset").first.wait_for()  # presets loaded: the scripts ran

    def control(self, role: str, name: str):
        return self.page.get_by_role(role, name=name, exact=True)

    def js(self, expression: str):
        return self.page.evaluate(f"() => {expression}")

    def wait(self, expression: str, timeout: int = TIMEOUT_MS) -> None:
        self.page.wait_for_function(f"() => {expression}", timeout=timeout)

    def assert_stayed_home(self, *, allowed_statuses: tuple[int, ...] = ()) -> None:
        """Every request went to this server (or a blob: of it); no console error but those allowed."""
        assert self.requests
        for url in self.requests:
            assert url.startswith((self.base + "/", "blob:" + self.base + "/", "data:")), url
        unexpected = [e for e in self.console_errors if not any(
            f"status of {status}" in e for status in allowed_statuses)]
        assert unexpected == []


@pytest.fixture
def session(browser, server) -> Iterator[Session]:
    base, _ = server
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    s = Session(page, base)
    page.on("request", lambda r: (s.requests.append(r.url),
                                  s.posts.setdefault(r.url, []).append(r.post_data or "")))
    page.on("console", lambda m: s.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: s.console_errors.append(f"page error: {e}"))
    yield s
    context.close()


def resolved_body(app, body: dict) -> dict:
    """What the service resolves a request to (the job body without status)."""
    from app.service import Job, job_service

    with app.test_request_context():
        return Job(job_service.resolve(body), "pending").to_dict()


def curl_json(text: str, endpoint: str) -> dict:
    """The JSON body of the curl command for `endpoint` in the curl box."""
    match = re.search(rf"curl -X POST \S+{re.escape(endpoint)} \\\n.*?-d '(.*?)'", text, re.DOTALL)
    assert match, text
    return json.loads(match.group(1).replace("'\\''", "'"))


def test_prompt_preview_plays_five_seconds_and_shows_the_resolution(session, server):
    _, app = server
    session.open()
    session.control("textbox", "Prompt").fill("tense chase scene")
    session.control("button", "Preview").click()
    session.wait("document.getElementById('player').src.startsWith('blob:')")
    session.wait("document.getElementById('player').duration > 0")
    assert abs(session.js("document.getElementById('player').duration") - 5.0) < 0.05
    session.wait("document.getElementById('player').currentTime > 0.1")  # it plays
    expected = resolved_body(app, {"prompt": "tense chase scene"})
    preset = session.page.locator('#resolved [data-field="preset"]')
    session.page.wait_for_function("() => document.querySelector('#resolved [data-field=\"tempo\"]').textContent !== '–'")
    assert preset.text_content() == expected["preset"]
    assert session.page.locator('#resolved [data-field="tempo"]').text_content() == f"{expected['tempo']:g} BPM"
    # The controls show the resolved geometry; the drawing has its n points.
    assert session.control("spinbutton", "n value").input_value() == str(expected["params"]["n"])
    assert session.page.locator("#star circle.vertex").count() == expected["params"]["n"]
    # The curl box holds exactly the body the page sent.
    sent = session.posts[f"{session.base}{API}/preview"]
    assert [json.loads(b) for b in sent] == [curl_json(session.page.locator("#curl").input_value(), "/preview")]
    assert session.js("document.getElementById('waveform').width") > 0
    session.assert_stayed_home()


def test_generate_reaches_complete_and_every_format_downloads(session, server):
    session.open()
    session.control("textbox", "Prompt").fill("calm piano")
    session.control("spinbutton", "duration value").fill("2")
    session.control("button", "Generate").click()
    for name in MEDIA:
        session.control("link", name).wait_for()  # a link has an href only when its job is complete
    session.wait("document.querySelector('#steps [aria-current]')?.dataset.step === 'complete'")
    for name, media_type in MEDIA.items():
        href = session.control("link", name).get_attribute("href")
        assert re.fullmatch(rf"{API}/jobs/[0-9a-f]{{32}}/download", href)
        response = session.page.request.get(session.base + href)
        assert response.status == 200 and response.headers["content-type"] == media_type, name
    assert len({session.control("link", n).get_attribute("href") for n in MEDIA}) == 3
    session.wait("Math.abs(document.getElementById('player').duration - 2) < 0.05")
    sent = [json.loads(b) for b in session.posts[f"{session.base}{API}/generate"]]
    assert {b["format"] for b in sent} == {"wav", "mp3", "midi"}
    assert all(b["duration_seconds"] == 2 and b["prompt"] == "calm piano" for b in sent)
    curl = session.page.locator("#curl").input_value()
    assert curl_json(curl, "/generate") == sent[0] and sent[0]["format"] == "wav"
    assert any(u.startswith(f"{session.base}{API}/jobs/") for u in session.requests)  # it polled
    assert "Complete" in session.page.locator("#status").text_content()
    session.assert_stayed_home()


def test_moving_n_redraws_the_polygon_and_bounds_k(session):
    session.open()
    n_slider = session.control("slider", "n")
    k_slider = session.control("slider", "k")
    session.control("spinbutton", "n value").fill("9")
    assert session.page.locator("#star circle.vertex").count() == 9
    assert k_slider.get_attribute("max") == "4"
    assert int(k_slider.input_value()) <= 4
    n_slider.focus()
    session.page.keyboard.press("ArrowRight")  # keyboard on the slider: n = 10
    assert session.control("spinbutton", "n value").input_value() == "10"
    assert session.page.locator("#star circle.vertex").count() == 10
    assert k_slider.get_attribute("max") == "5"
    session.control("spinbutton", "k value").fill("4")  # {10/4}: gcd 2, two pentagons
    assert session.page.locator("#star-name").text_content() == "{10/4}"
    assert session.page.locator("#star-path").get_attribute("d").count("M") == 2
    session.control("spinbutton", "psi value").fill("1.0472")  # D
    session.control("spinbutton", "xi value").fill("-2")
    assert session.page.locator("#key-name").text_content() == "tonic D minor"
    session.control("spinbutton", "k value").fill("2")
    assert "whole-tone" in session.page.locator("#scale-name").text_content()  # round(12·2/10) = 2
    # omega spins the figure; omega 0 holds it still.
    turn = "document.getElementById('star-rotor').getAttribute('transform')"
    session.control("spinbutton", "omega value").fill("5")
    before = session.js(turn)
    session.wait(f"{turn} !== {json.dumps(before)}")
    session.control("spinbutton", "omega value").fill("0")
    still = session.js(turn)
    session.page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    assert session.js(turn) == still
    for name in ("n", "k", "omega", "xi", "psi", "tempo", "duration"):
        assert session.control("slider", name).is_visible(), name
    styles = session.page.request.get(f"{session.base}{API}/openapi.json").json()["paths"]
    assert session.page.locator("#style-field").is_visible() == (f"{API}/styles" in styles)
    session.assert_stayed_home()


@pytest.mark.parametrize(("control", "typed", "field"), [
    ("n", "5000", "params.n"), ("tempo", "10", "tempo"), ("k", "13", "params.k")])
def test_an_out_of_range_value_shows_its_422_detail_by_the_field(session, server, control, typed, field):
    _, app = server
    session.open()
    session.control("textbox", "Prompt").fill("calm")
    if control == "k":
        session.control("spinbutton", "n value").fill("24")
    session.control("spinbutton", f"{control} value").fill(typed)
    session.control("button", "Preview").click()
    error = session.page.locator(f"#{control}-error")
    error.wait_for()
    detail = app.test_client().post(f"{API}/preview", json=json.loads(
        session.posts[f"{session.base}{API}/preview"][0])).json["detail"]
    assert detail.startswith(f"'{field}'")
    assert error.text_content() == detail
    assert session.control("spinbutton", f"{control} value").get_attribute("aria-invalid") == "true"
    assert detail in session.page.locator("#status").text_content()
    session.assert_stayed_home(allowed_statuses=(422,))


def test_preview_by_keyboard_alone(session):
    session.open()
    for _ in range(8):
        session.page.keyboard.press("Tab")
        if session.js("document.activeElement.id") == "prompt":
            break
    assert session.js("document.activeElement.id") == "prompt"
    session.page.keyboard.type("rainy night jazz")
    session.page.keyboard.press("Tab")
    assert session.js("document.activeElement.textContent") == "Preview"
    assert session.js("getComputedStyle(document.activeElement).outlineStyle") != "none"  # focus shows
    session.page.keyboard.press("Enter")
    session.wait("document.getElementById('player').src.startsWith('blob:')")
    session.wait("Math.abs(document.getElementById('player').duration - 5) < 0.05")
    assert json.loads(session.posts[f"{session.base}{API}/preview"][0]) == {"prompt": "rainy night jazz"}
    session.assert_stayed_home()


def test_a_busy_service_is_retried_after_retry_after(session):
    calls = []

    def busy_once(route):
        calls.append(route.request.url)
        if len(calls) == 1:
            route.fulfill(status=503, headers={"Retry-After": "1"}, content_type="application/json",
                          body=json.dumps({"detail": "Render pool is full"}))
        else:
            route.continue_()

    session.page.route(f"{session.base}{API}/preview", busy_once)
    session.open()
    session.control("textbox", "Prompt").fill("happy")
    session.control("button", "Preview").click()
    session.page.get_by_text("busy, retrying").wait_for()
    session.wait("Math.abs(document.getElementById('player').duration - 5) < 0.05")
    assert len(calls) == 2
    session.assert_stayed_home(allowed_statuses=(503,))


def test_presets_by_family_with_search_listen_and_load(session, server):
    _, app = server
    catalog = app.extensions["resonant"].catalog
    session.open()
    page = session.page
    assert page.locator(".preset").count() == len(list(catalog)) >= 79
    families = page.locator("h3.family").all_text_contents()
    assert {f.split(" (")[0] for f in families} == {p.family for p in catalog}
    session.control("searchbox", "Search presets").fill("jazz")
    shown = page.locator(".preset strong").all_text_contents()
    assert shown and len(shown) < 79 and all(
        "jazz" in " ".join([p.id, p.name, p.description, *p.tags]).lower() for p in catalog if p.name in shown)
    first = catalog.get(next(p.id for p in catalog if p.name == shown[0]))
    page.get_by_role("button", name=f"Load {first.name} into the controls").click()
    assert session.control("textbox", "Prompt").input_value() == first.name
    assert session.control("spinbutton", "n value").input_value() == str(first.params["n"])
    assert page.locator("#star circle.vertex").count() == first.params["n"]
    page.get_by_role("button", name=f"Listen to {first.name}").click()
    session.wait("Math.abs(document.getElementById('player').duration - 5) < 0.05")
    assert json.loads(session.posts[f"{session.base}{API}/preview"][0]) == {"prompt": first.name}
    session.assert_stayed_home()


@pytest.mark.parametrize(("width", "scheme"), [(375, "dark"), (1440, "light"), (375, "light"), (1440, "dark")])
def test_readable_at_phone_and_desktop_widths(browser, server, tmp_path, width, scheme):
    base, _ = server
    context = browser.new_context(viewport={"width": width, "height": 1000}, color_scheme=scheme)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(base + "/")
    page.locator(".preset").first.wait_for()
    page.get_by_role("textbox", name="Prompt", exact=True).fill("tense chase scene")
    page.get_by_role("spinbutton", name="duration value", exact=True).fill("3")
    page.get_by_role("button", name="Generate", exact=True).click()
    for name in MEDIA:
        page.get_by_role("link", name=name, exact=True).wait_for()
    page.wait_for_function("() => document.getElementById('player').duration > 0")
    page.evaluate("() => { document.getElementById('player').pause(); window.scrollTo(0, 0); }")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width  # no sideways scroll
    for name in ("Prompt", "Preview", "Generate"):
        box = page.get_by_text(name, exact=True).first.bounding_box() if name == "Prompt" else \
            page.get_by_role("button", name=name, exact=True).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= width, name
    background = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    dark = sum(int(c) for c in re.findall(r"\d+", background)[:3]) < 3 * 128
    assert dark == (scheme == "dark")
    out = pathlib.Path(os.environ.get("RESONANT_SCREENSHOTS") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    suffix = "" if (width, scheme) in ((1440, "light"), (375, "dark")) else f"-{scheme}"
    page.screenshot(path=str(out / f"playground-{width}{suffix}.png"))
    assert errors == []
    context.close()


def test_the_request_follows_the_api_prompt_alone_overrides_or_geometry_alone(session, server):
    _, app = server
    session.open()
    preview_url = f"{session.base}{API}/preview"

    def preview_and_wait() -> dict:
        before = len(session.posts.get(preview_url, []))
        session.control("button", "Preview").click()
        session.wait(f"document.querySelectorAll('#recent li').length > {before}")
        return json.loads(session.posts[preview_url][-1])

    # No prompt: the geometry alone, every field of it.
    assert preview_and_wait() == {"params": {"n": 24, "k": 10, "omega": 1, "xi": 1, "psi": 0, "lock_psi_tau": True}}
    # A prompt alone resolves everything; the controls show what it resolved to.
    session.control("textbox", "Prompt").fill("sad")
    assert preview_and_wait() == {"prompt": "sad"}
    expected = resolved_body(app, {"prompt": "sad"})
    session.wait(f"document.getElementById('omega-number').value === '{expected['params']['omega']:g}'")
    # A moved control is an override on top of the prompt (n and k travel together).
    session.control("spinbutton", "omega value").fill("-3")
    session.control("switch", "lock_psi_tau").click()
    session.control("spinbutton", "tempo value").fill("90")
    assert preview_and_wait() == {"prompt": "sad", "params": {"omega": -3, "lock_psi_tau": not expected[
        "params"]["lock_psi_tau"]}, "tempo": 90}
    session.control("button", "Reset to the prompt's values").click()
    assert preview_and_wait() == {"prompt": "sad"}
    session.assert_stayed_home()


def test_generate_in_midi_plays_the_wav_of_the_same_request(session):
    session.open()
    session.control("spinbutton", "duration value").fill("1")
    session.control("combobox", "Format").select_option("midi")
    session.control("button", "Generate").click()
    for name in MEDIA:
        session.control("link", name).wait_for()
    session.wait("Math.abs(document.getElementById('player').duration - 1) < 0.05")
    first = json.loads(session.posts[f"{session.base}{API}/generate"][0])
    assert first["format"] == "midi" and first["duration_seconds"] == 1 and "prompt" not in first
    session.assert_stayed_home()


def test_styles_appear_once_the_api_documents_them(session):
    """GET /styles is coming: when the OpenAPI document lists it, the select offers its styles."""
    styles = {"styles": [
        {"id": "techno", "name": "Techno", "description": "Four on the floor.", "meter": "4/4",
         "feel": "straight", "tempo_range": [120, 140], "instruments": {}},
        {"id": "jazz", "name": "Jazz", "description": "Swing over a walking bass.", "meter": "4/4",
         "feel": "swing", "tempo_range": [90, 200], "instruments": {}}]}

    def documented(route):
        doc = route.fetch().json()
        doc["paths"][f"{API}/styles"] = {"get": {"responses": {"200": {"description": "styles"}}}}
        route.fulfill(json=doc)

    session.page.route(f"{session.base}{API}/openapi.json", documented)
    session.page.route(f"{session.base}{API}/styles", lambda route: route.fulfill(json=styles))
    session.page.route(f"{session.base}{API}/preview", lambda route: route.fulfill(
        status=422, json={"detail": "'style' must be one of: techno, jazz", "errors": {"style": ["..."]}}))
    session.open()
    select = session.control("combobox", "Style")
    select.wait_for()
    assert select.locator("option").all_text_contents() == ["from the prompt", "Techno", "Jazz"]
    select.select_option("jazz")
    assert session.page.locator("#style-desc").text_content() == "Swing over a walking bass."
    session.control("textbox", "Prompt").fill("late night")
    session.control("button", "Preview").click()
    session.page.locator("#style-error").wait_for()
    assert json.loads(session.posts[f"{session.base}{API}/preview"][0]) == {"prompt": "late night", "style": "jazz"}
    assert session.page.locator("#style-error").text_content() == "'style' must be one of: techno, jazz"
    session.assert_stayed_home(allowed_statuses=(422,))


def test_a_job_body_with_style_and_key_is_shown_as_it_says(session):
    """Job bodies will carry `style` (and maybe `key`): the page shows them rather than its guess."""

    def with_style_and_key(route):
        body = route.fetch().json()
        route.fulfill(json={**body, "style": "noir-jazz", "key": "F♯ minor"})

    session.page.route(re.compile(rf"{re.escape(session.base)}{API}/jobs/[0-9a-f]{{32}}$"), with_style_and_key)
    session.open()
    session.control("textbox", "Prompt").fill("calm")
    session.control("button", "Preview").click()
    key = session.page.locator('#resolved [data-field="key"]')
    session.wait("document.querySelector('#resolved [data-field=\"key\"]').textContent !== '–'")
    assert key.text_content().startswith("F♯ minor, ")
    assert session.page.locator('#resolved [data-field="style"]').text_content() == "noir-jazz"
    assert session.page.locator("#key-name").text_content() == "tonic F♯ minor"
    session.control("spinbutton", "psi value").fill("1.0472")  # moved: the drawing names its own key
    assert session.page.locator("#key-name").text_content() == "tonic D major"
    session.assert_stayed_home()


def test_the_loop_switch_asks_for_a_loop_and_the_player_repeats_it(session, server):
    session.open()
    session.control("textbox", "Prompt").fill("house")
    session.control("switch", "loop").click()
    session.control("button", "Preview").click()
    session.wait("document.getElementById('player').src.startsWith('blob:')")
    session.wait("document.getElementById('player').duration > 0")
    sent = json.loads(session.posts[f"{session.base}{API}/preview"][-1])
    assert sent == {"prompt": "house", "loop": True}
    assert session.js("document.getElementById('player').loop") is True
    # a loop preview is whole bars at the tempo, not 5.000 s
    _, app = server
    bars = resolved_body(app, {"prompt": "house", "loop": True, "duration_seconds": 5})["duration_seconds"]
    assert abs(session.js("document.getElementById('player').duration") - bars) < 0.01 and bars != 5.0
    session.control("switch", "loop").click()
    session.control("button", "Preview").click()
    session.wait("document.getElementById('player').loop === false")
    session.assert_stayed_home()


def test_stems_chosen_as_the_format_adds_a_zip_to_the_downloads(session, server):
    session.open()
    session.control("textbox", "Prompt").fill("lofi study")
    session.control("spinbutton", "duration value").fill("2")
    session.page.select_option("#format", "stems")
    session.control("button", "Generate").click()
    for name in ("WAV", "MP3", "MIDI", "Stems"):
        session.control("link", name).wait_for()
    href = session.control("link", "Stems").get_attribute("href")
    response = session.page.request.get(session.base + href)
    assert response.status == 200 and response.headers["content-type"] == "application/zip"
    session.wait("Math.abs(document.getElementById('player').duration - 2) < 0.05")  # the WAV plays
    sent = [json.loads(b) for b in session.posts[f"{session.base}{API}/generate"]]
    assert sorted(b["format"] for b in sent) == ["midi", "mp3", "stems", "wav"]
    session.wait("document.getElementById('status').textContent.includes('stems ZIP')")
    session.assert_stayed_home()
