"""chatgate's page in a real browser (Debian's Chromium, driven by Playwright)
against `chatgate serve` and the fake upstream: what a person signing in sees
and can do, and what a hostile page or answer cannot."""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    Response,
    expect,
    sync_playwright,
)

from tests.e2e.conftest import Server, Upstream, serving

DOCS = Path(__file__).parents[2] / "docs"
# CHATGATE_TEST_SCREENSHOTS=1 writes the README's screenshots of the main screens into docs/.
SCREENSHOTS = bool(os.environ.get("CHATGATE_TEST_SCREENSHOTS"))
KIB = 1024


def chromium_path() -> str:
    found = os.environ.get("CHATGATE_TEST_CHROMIUM") or shutil.which("chromium")
    if found is None:
        pytest.fail("Chromium is missing: scripts/services installs it (apt-get install chromium)")
    return found


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = playwright.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
    yield launched
    launched.close()


@pytest.fixture(scope="module")
def site(
    upstream: Upstream, sqlite_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A server whose environment supplies Mistral's key for everyone."""
    tmp = tmp_path_factory.mktemp("page")
    with serving(tmp, upstream, sqlite_database_url, {"MISTRAL_API_KEY": "sk-team-mistral"}) as s:
        yield s


@pytest.fixture
def context(browser: Browser, site: Server) -> Iterator[BrowserContext]:
    made = browser.new_context(base_url=site.base_url, viewport={"width": 1100, "height": 800})
    yield made
    made.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    opened = context.new_page()
    opened.set_default_timeout(10_000)
    return opened


def screenshot(page: Page, name: str) -> None:
    if SCREENSHOTS:
        page.screenshot(path=str(DOCS / name), full_page=True)


def sign_in(page: Page, token: str) -> None:
    page.goto("/")
    page.get_by_label("Access token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def new_user(site: Server, username: str | None = None) -> str:
    """A user and its token, made in another thread: Playwright's own event loop runs
    in this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(site.create_user, username=username).result()


def admin_token(site: Server, name: str) -> str:
    created = site.cli("user", "create", name, "--admin")
    token = created.stdout.strip().splitlines()[-1]
    site.secrets_used.add(token)
    return token


def test_first_screen_is_small_fast_and_without_a_failing_request(page: Page, site: Server) -> None:
    failed: list[str] = []
    sizes: list[int] = []
    page.on("requestfailed", lambda r: failed.append(f"{r.url} {r.failure}"))
    page.on("console", lambda m: failed.append(m.text) if m.type == "error" else None)

    def measure(response: Response) -> None:
        if response.status >= 400:
            failed.append(f"{response.url} {response.status}")
        s = response.request.sizes()
        sizes.append(s["responseBodySize"] + s["responseHeadersSize"])

    page.on("response", measure)
    started = time.monotonic()
    page.goto("/", wait_until="load")
    expect(page.get_by_label("Access token")).to_be_visible()
    elapsed = time.monotonic() - started
    page.wait_for_load_state("networkidle")
    assert not failed
    assert elapsed < 1.0, elapsed
    assert sum(sizes) < 100 * KIB, sum(sizes)
    document = httpx.get(site.base_url + "/")
    policy = document.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert document.headers["x-content-type-options"] == "nosniff"
    assert document.headers["referrer-policy"] == "same-origin"
    again = httpx.get(site.base_url + "/", headers={"If-None-Match": document.headers["etag"]})
    assert again.status_code == 304


def test_a_wrong_token_is_told_and_a_right_one_signs_in_and_out(
    page: Page, context: BrowserContext, site: Server
) -> None:
    token = new_user(site, username="dora")
    page.goto("/")
    page.get_by_label("Access token").fill("cg_not-a-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Invalid or revoked access token")

    sign_in(page, token)
    expect(page.locator("#who")).to_have_text("dora")
    cookie = next(c for c in context.cookies() if c["name"] == "chatgate_session")
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Strict"
    assert token not in cookie["value"]
    assert page.evaluate("document.cookie") == ""  # nothing the page's scripts can read
    assert page.evaluate("JSON.stringify(localStorage) + JSON.stringify(sessionStorage)") == "{}{}"

    page.reload()  # the cookie keeps the page signed in
    expect(page.locator("#who")).to_have_text("dora")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("Access token")).to_be_visible()
    page.reload()
    expect(page.get_by_label("Access token")).to_be_visible()
    stale = httpx.get(site.base_url + "/api/me", cookies={"chatgate_session": cookie["value"]})
    assert stale.status_code == 401


def test_a_request_from_another_origin_with_the_cookie_is_refused(
    page: Page, context: BrowserContext, site: Server
) -> None:
    sign_in(page, new_user(site))
    cookie = next(c for c in context.cookies() if c["name"] == "chatgate_session")
    jar = {"chatgate_session": cookie["value"]}
    own = httpx.get(site.base_url + "/api/me", cookies=jar, headers={"Origin": site.base_url})
    assert own.status_code == 200
    for origin in ("http://evil.example", "null"):
        foreign = httpx.post(
            site.base_url + "/api/tokens", json={}, cookies=jar, headers={"Origin": origin}
        )
        assert foreign.status_code == 403
        assert foreign.json() == {"message": "Cross-site request refused"}


def test_keys_are_set_masked_cleared_and_server_fields_not_editable(
    page: Page, site: Server
) -> None:
    sign_in(page, new_user(site))
    page.get_by_role("link", name="Keys").click()
    openai = page.get_by_label("OpenAI API key", exact=True)
    openai.fill("sk-browser-key-1234")
    site.secrets_used.add("sk-browser-key-1234")
    page.get_by_role("button", name="Save OpenAI API key").click()
    expect(page.get_by_role("alert")).to_have_text("OpenAI API key saved")
    field = page.locator(".field", has=page.get_by_label("OpenAI API key", exact=True))
    expect(field.locator(".current")).to_have_text(re.compile(r"Current: .*1234$"))
    assert "sk-browser-key" not in page.content()
    expect(page.get_by_label("Mistral API key")).to_be_disabled()
    expect(page.get_by_text("Set by the server for everyone")).to_be_visible()
    page.get_by_role("button", name="Clear OpenAI API key").click()
    expect(page.get_by_role("alert")).to_have_text("OpenAI API key cleared")
    expect(field.locator(".current")).to_have_text("Not set")
    screenshot(page, "page-keys.png")


def test_a_token_is_created_shown_once_and_revoked(
    page: Page, context: BrowserContext, site: Server
) -> None:
    sign_in(page, new_user(site))
    page.get_by_role("link", name="Tokens").click()
    page.get_by_label("Label").fill("laptop script")
    page.get_by_role("button", name="Create token").click()
    shown = page.get_by_label(re.compile("Your new token"))
    expect(shown).to_have_value(re.compile(r"^cg_"))
    new_token = shown.input_value()
    site.secrets_used.add(new_token)
    me = httpx.get(site.base_url + "/api/me", headers={"Authorization": f"Bearer {new_token}"})
    assert me.status_code == 200
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == new_token
    screenshot(page, "page-tokens.png")

    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke token laptop script").click()
    expect(page.get_by_role("alert")).to_have_text("Token revoked")
    row = page.get_by_role("row", name=re.compile("laptop script"))
    expect(row).to_contain_text("revoked")
    page.reload()  # shown once: gone after
    expect(page.get_by_label(re.compile("Your new token"))).to_be_hidden()
    gone = httpx.get(site.base_url + "/api/me", headers={"Authorization": f"Bearer {new_token}"})
    assert gone.status_code == 401


def test_a_custom_model_is_created_tested_edited_and_deleted(
    page: Page, site: Server, upstream: Upstream
) -> None:
    sign_in(page, new_user(site))
    page.get_by_role("link", name="Models").click()
    page.get_by_label("Name", exact=True).fill("Local fake")
    page.get_by_label("Base URL").fill(upstream.root + "/local/v1")
    page.get_by_label("Model id").fill("fake-local-model")
    page.get_by_role("button", name="Save model").click()
    expect(page.get_by_role("alert")).to_have_text("Model added")
    page.get_by_role("button", name="Test Local fake").click()
    expect(page.get_by_text(re.compile("It answered: This is a streamed answer"))).to_be_visible()
    assert upstream.last_request()["body"]["model"] == "fake-local-model"

    page.get_by_role("button", name="Edit Local fake").click()
    page.get_by_label("Name", exact=True).fill("Local renamed")
    page.get_by_role("button", name="Save model").click()
    expect(page.get_by_role("alert")).to_have_text("Model saved")
    expect(page.get_by_text("Local renamed")).to_be_visible()
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete Local renamed").click()
    expect(page.get_by_role("alert")).to_have_text("Model deleted")
    expect(page.get_by_text("Local renamed")).to_be_hidden()


def test_the_admin_makes_and_disables_users_and_a_member_is_refused(
    page: Page, browser: Browser, site: Server
) -> None:
    sign_in(page, admin_token(site, "root-" + os.urandom(3).hex()))
    page.get_by_role("link", name="Admin").click()
    name = "erin-" + os.urandom(3).hex()
    page.get_by_label("Username").fill(name)
    page.get_by_role("button", name="Create user").click()
    first = page.get_by_label(re.compile("First token of"))
    expect(first).to_have_value(re.compile(r"^cg_"))
    member_token = first.input_value()
    site.secrets_used.add(member_token)
    row = page.get_by_role("row", name=re.compile(name))
    expect(row).to_contain_text("member")

    member = browser.new_context(base_url=site.base_url).new_page()
    sign_in(member, member_token)
    expect(member.get_by_role("link", name="Admin")).to_be_hidden()
    member.goto("/#admin")
    expect(member.get_by_role("heading", name="Not for you")).to_be_visible()
    refused = member.evaluate(
        "fetch('/api/admin/users').then(async r => [r.status, (await r.json()).message])"
    )
    assert refused == [403, "Only an administrator may do this"]

    page.get_by_role("button", name=f"Disable {name}").click()
    expect(row).to_contain_text("disabled")
    member.reload()
    expect(member.get_by_label("Access token")).to_be_visible()  # signed out at once
    page.get_by_role("button", name=f"Re-enable {name}").click()
    expect(row).to_contain_text("active")
    member.context.close()


# Chat ------------------------------------------------------------------------------


def set_openai_key(page: Page, site: Server, key: str) -> None:
    site.secrets_used.add(key)
    page.get_by_role("link", name="Keys").click()
    page.get_by_label("OpenAI API key", exact=True).fill(key)
    page.get_by_role("button", name="Save OpenAI API key").click()
    expect(page.get_by_role("alert")).to_have_text("OpenAI API key saved")


def ask(page: Page, message: str, model: str = "openai/gpt-4o") -> None:
    page.get_by_role("link", name="Chat", exact=True).click()
    page.get_by_label("Model", exact=True).select_option(model)
    page.get_by_label("Message").fill(message)
    page.get_by_label("Message").press("Enter")


def answer_texts(page: Page, *, until_done: float) -> list[str]:
    """The last answer's text as it grows, sampled until it stops streaming."""
    seen: list[str] = []
    deadline = time.monotonic() + until_done
    answer = page.locator("#chat-log li.assistant").last
    while time.monotonic() < deadline:
        # The class is read before the text: an answer seen finished is read whole after.
        finished = answer.count() and "streaming" not in (answer.get_attribute("class") or "")
        text = answer.text_content() or "" if answer.count() else ""
        if not seen or seen[-1] != text:
            seen.append(text)
        if finished:
            break
        time.sleep(0.03)
    return seen


def test_a_chat_answer_arrives_in_pieces_and_stop_closes_the_provider_request(
    page: Page, site: Server, upstream: Upstream
) -> None:
    sign_in(page, new_user(site))
    set_openai_key(page, site, "sk-page-chat-key-5678")
    ask(page, "Hello there\n#fake delay_ms=120 chunks=12")
    pieces = [t for t in answer_texts(page, until_done=10) if t]
    assert len(pieces) >= 4, pieces  # seen growing, not all at once
    assert (
        pieces[-1].strip() == "This is a streamed answer from the chatgate fake OpenAI upstream ."
    )
    sent = upstream.last_request()
    assert sent["headers"]["Authorization"] == "Bearer sk-page-chat-key-5678"
    assert sent["body"]["messages"][-1]["content"].startswith("Hello there")
    screenshot(page, "page-chat.png")

    before = upstream.stats().get("client_gone", 0)
    ask(page, "A long one\n#fake delay_ms=400 chunks=60")
    expect(page.locator("#chat-log li.assistant.streaming")).to_contain_text("This is")
    page.get_by_role("button", name="Stop").click()
    expect(page.locator("#chat-log li.assistant.streaming")).to_have_count(0)
    deadline = time.monotonic() + 5
    while upstream.stats().get("client_gone", 0) == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert upstream.stats()["client_gone"] == before + 1
    assert upstream.stats()["open"] == 0
    stopped = page.locator("#chat-log li.assistant").last.text_content() or ""
    assert stopped.startswith("This is")
    assert "upstream" not in stopped  # cut short, kept as far as it came


def test_a_wrong_key_shows_the_servers_message_and_the_question_waits_for_a_retry(
    page: Page, site: Server, upstream: Upstream
) -> None:
    sign_in(page, new_user(site))
    set_openai_key(page, site, "sk-wrong-key-bad")
    ask(page, "Hello")
    error = page.locator("#chat-log li.error")
    expect(error).to_have_text(
        "OpenAI API Key is incorrect. Please fix it in your profile settings."
    )
    assert "sk-wrong-key-bad" not in (error.text_content() or "")
    expect(page.get_by_label("Message")).to_have_value("Hello")

    set_openai_key(page, site, "sk-right-key-4321")
    page.get_by_role("link", name="Chat", exact=True).click()
    expect(page.get_by_label("Message")).to_be_visible()  # the screen is back: keys reach it
    page.get_by_label("Message").press("Enter")
    expect(page.locator("#chat-log li.assistant")).to_contain_text("streamed answer")
    sent = upstream.last_request()["body"]["messages"]
    assert [m["content"] for m in sent] == ["Hello"]  # the failed try is not sent twice


HOSTILE = (
    'Look: <img src=x onerror="window.pwned=1"> and [click](javascript:window.pwned=2) '
    "and <script>window.pwned=3</script>\n\n```html\n<b>bold?</b>\n```\n**fine** "
    "[a real link](https://example.com/)"
)


class HostileUpstream(BaseHTTPRequestHandler):
    """An OpenAI-compatible server whose answer tries to inject HTML."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for piece in (HOSTILE[:40], HOSTILE[40:]):
            chunk = {"choices": [{"index": 0, "delta": {"content": piece}}]}
            self.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
        self.wfile.write(b"data: [DONE]\n\n")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def hostile_upstream() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), HostileUpstream)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_a_hostile_answer_renders_inert(page: Page, site: Server, hostile_upstream: str) -> None:
    token = new_user(site)
    sign_in(page, token)
    site.create_custom_model(token, name="hostile", base_url=hostile_upstream, model_id="evil")
    page.reload()
    ask(page, "Hi", model="custom/hostile")
    answer = page.locator("#chat-log li.assistant").last
    expect(answer).to_contain_text("a real link")
    expect(answer).not_to_have_class(re.compile("streaming"))
    assert answer.locator("img, script, b").count() == 0
    assert "<img src=x" in (answer.text_content() or "")  # shown as the text it is
    links = answer.locator("a")
    assert links.count() == 1
    assert links.first.get_attribute("href") == "https://example.com/"
    assert answer.locator("code").first.text_content() == "<b>bold?</b>"
    assert answer.locator("strong").text_content() == "fine"
    assert page.evaluate("window.pwned") is None


# Usage -----------------------------------------------------------------------------


def wait_for_chart(page: Page, screen: str, chart: str) -> None:
    """Open the screen until the ledger's rows (written in batches) show in the chart."""
    deadline = time.monotonic() + 10
    while True:
        page.goto(f"/#{screen}")
        page.reload()
        bars = page.locator(f"#{chart} svg rect")
        page.wait_for_load_state("networkidle")
        if bars.count() or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    expect(bars.first).to_be_visible()


def test_usage_charts_for_the_user_and_the_admin_after_a_few_chats(
    page: Page, browser: Browser, site: Server
) -> None:
    name = "fay-" + os.urandom(3).hex()
    token = new_user(site, name)
    sign_in(page, token)
    set_openai_key(page, site, "sk-usage-key-9012")
    for n in range(3):
        ask(page, f"Question {n}")
        expect(page.locator("#chat-log li.assistant")).to_have_count(n + 1)
        expect(page.locator("#chat-log li.assistant.streaming")).to_have_count(0)
    wait_for_chart(page, "usage", "usage-by-model")
    expect(page.locator("#usage-by-model")).to_contain_text("openai/gpt-4o")
    expect(page.locator("#usage-by-day svg rect")).to_have_count(1)
    expect(page.locator("#usage-quota")).to_contain_text("No daily quota")
    screenshot(page, "page-usage.png")

    admin = browser.new_context(base_url=site.base_url, viewport={"width": 1100, "height": 900})
    root = admin.new_page()
    sign_in(root, admin_token(site, "root-" + os.urandom(3).hex()))
    wait_for_chart(root, "admin", "admin-chart")
    row = root.locator("#admin-usage tr", has_text=name)
    expect(row.locator("td")).to_have_count(6)
    assert row.locator("td").all_text_contents()[:3] == [name, "openai/gpt-4o", "3"]
    expect(root.locator("#admin-chart")).to_contain_text(name)
    with root.expect_download() as download:
        root.get_by_role("link", name="Download CSV").click()
    csv = Path(download.value.path()).read_text()
    lines = csv.splitlines()
    assert lines[0] == "user,model,requests,prompt_tokens,completion_tokens,total_tokens"
    assert any(line.startswith(f"{name},openai/gpt-4o,3,") for line in lines)

    root.get_by_label(f"Tokens a day for {name}", exact=False).fill("1000000")
    root.get_by_role("button", name=f"Save the quota of {name}").click()
    expect(root.get_by_role("alert")).to_have_text("Quota saved")
    screenshot(root, "page-admin.png")
    admin.close()
    page.reload()
    expect(page.locator("#usage-quota")).to_contain_text("of 1,000,000 tokens")


def test_on_a_phone_with_the_keyboard_alone(browser: Browser, site: Server) -> None:
    phone = browser.new_context(
        base_url=site.base_url, viewport={"width": 390, "height": 844}, is_mobile=True
    )
    page = phone.new_page()
    page.goto("/")
    expect(page.get_by_label("Access token")).to_be_focused()
    page.keyboard.type(new_user(site))
    page.keyboard.press("Enter")
    expect(page.get_by_label("Message")).to_be_focused()  # the chat screen, ready to type
    page.get_by_role("link", name="Tokens").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Access tokens")).to_be_visible()
    for screen in ("chat", "keys", "models", "tokens", "usage"):
        page.goto(f"/#{screen}")
        page.wait_for_load_state("networkidle")
        too_wide = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
        assert not too_wide, screen
        unlabeled = page.evaluate(
            """[...document.querySelectorAll('input, select, textarea, button')]
               .filter(e => e.offsetParent !== null && e.type !== 'hidden')
               .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                            && !(e.tagName === 'BUTTON' && e.textContent.trim()))
               .map(e => e.id || e.outerHTML)"""
        )
        assert unlabeled == [], (screen, unlabeled)
    page.goto("/#chat")
    screenshot(page, "page-phone.png")
    phone.close()


RENDERED = {
    "plain_snake_case and 2*3*4": "<p>plain_snake_case and 2*3*4</p>",
    "**bold** _em_ `a<b>`": "<p><strong>bold</strong> <em>em</em> <code>a&lt;b&gt;</code></p>",
    "# Title\n- one\n- two\n\n1. first": (
        "<h3>Title</h3><ul><li>one</li><li>two</li></ul><ol><li>first</li></ol>"
    ),
    "```py\nx = '<i>'\n```": "<pre><code data-language=\"py\">x = '&lt;i&gt;'</code></pre>",
    "> quoted <u>": "<blockquote><p>quoted &lt;u&gt;</p></blockquote>",
    "[ok](https://a.example/) [no](javascript:alert(1)) [data](data:text/html,x)": (
        '<p><a href="https://a.example/" rel="noopener noreferrer nofollow" target="_blank">ok</a>'
        " [no](javascript:alert(1)) [data](data:text/html,x)</p>"
    ),
}


def test_the_markdown_renderer_builds_text_never_html(page: Page) -> None:
    page.goto("/")
    rendered = page.evaluate(
        """async (sources) => {
             const { renderMarkdown } = await import("/static/markdown.js");
             return sources.map((source) => {
               const box = document.createElement("div");
               box.append(renderMarkdown(source));
               return box.innerHTML;
             });
           }""",
        list(RENDERED),
    )
    assert dict(zip(RENDERED, rendered, strict=True)) == RENDERED
