"""The browser tests' server and browser: `csm serve`'s app in a thread on 127.0.0.1 (the sample
portfolio plus hostile accounts, the chat model an OpenAI-compatible fake that streams its
scripted answers), and Debian's Chromium driven by Playwright, one browser for the module.
Nothing is downloaded: Playwright launches /usr/bin/chromium (`apt-get install chromium`)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.fake_openai import FakeOpenAI, Reply
from tools.portfolio.readers import sample_portfolio_path

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
CHAT_ANSWER = "Dobrye Ruki Foundation is at critical risk: escalate today and open the renewal."
# names a browser would run if the pages did not escape them
HOSTILE = [
    {"id": "x-1", "name": '<img src=x onerror="window.__pwned=1">', "mrr": 90000},
    {"id": "<script>window.__pwned=2</script>", "name": "Script Id Ltd", "mrr": 70000},
    {"id": "x-3", "name": "=cmd|' /C calc'!A0", "mrr": 60000},
    {"id": "x-4", "name": "Evil \u202eCorp", "mrr": 50000},
]


@dataclass
class Served:
    """The running server: its address, portfolio file and fake model server."""

    url: str
    portfolio: Path
    model_server: FakeOpenAI


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def served(tmp_path_factory, knowledge_index_dir) -> Iterator[Served]:
    """`csm serve` on the sample plus hostile accounts, for a module (the environment it sets
    for the chat tools is restored after it)."""
    import uvicorn

    from agent.interfaces.web.app import create_app
    from agent.interfaces.web.data import ServeSettings
    from agent.models import chat_model

    folder = tmp_path_factory.mktemp("browser")
    sample = json.loads(sample_portfolio_path().read_text(encoding="utf-8"))
    sample["accounts"] += HOSTILE
    portfolio = folder / "portfolio.json"
    portfolio.write_text(json.dumps(sample, ensure_ascii=False), encoding="utf-8")
    fake = FakeOpenAI([Reply(CHAT_ANSWER) for _ in range(20)], lifetime=3600)
    with fake, pytest.MonkeyPatch.context() as patch:
        patch.setenv("CSM_DATA_DIR", str(folder / "data"))
        patch.setenv("CSM_KNOWLEDGE_DIR", str(knowledge_index_dir))
        patch.setenv("CSM_PORTFOLIO", str(portfolio))  # the chat tools read the same file
        patch.setenv("OPENAI_BASE_URL", fake.base_url)
        patch.setenv("OPENAI_API_KEY", "test-key")
        for name in ("CSM_AS_OF", "CSM_DB", "LANGSMITH_TRACING", "LANGCHAIN_TRACING_V2"):
            patch.delenv(name, raising=False)
        app = create_app(ServeSettings(portfolio=portfolio),
                         chat_model=chat_model("openai:fake-model"))
        app.state.data.warm()  # as `csm serve` does before it listens (the index, the sweep)
        port = _free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                               log_level="warning", access_log=False))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("csm serve did not start within 30 s")
            time.sleep(0.05)
        try:
            yield Served(f"http://127.0.0.1:{port}", portfolio, fake)
        finally:
            server.should_exit = True
            thread.join(timeout=15)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, one for the browser tests (they are one module). Not kept
    for the whole session: Playwright's sync API holds an asyncio loop as running in this
    thread while it is open, which would break the async tests that run after it."""
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), "install Chromium: apt-get install -y chromium (see .ci/run)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Watched:
    """A page and what went wrong on it: console errors, uncaught errors, dialogs."""

    page: Any
    errors: list[str]
    dialogs: list[str]


@pytest.fixture
def watched(browser, served) -> Iterator[Watched]:
    """A fresh browser context (own cookies) and page, with its errors collected."""
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    found = Watched(page, [], [])
    page.on("console", lambda m: found.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: found.errors.append(str(e)))

    def dialog(d: Any) -> None:
        found.dialogs.append(d.message)
        d.dismiss()

    page.on("dialog", dialog)
    try:
        yield found
    finally:
        context.close()
