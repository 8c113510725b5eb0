"""Headless Chromium for the tests (Debian's `chromium`, installed by tests/install_services.sh),
driven over its DevTools protocol with tornado's websocket client: nothing to install beyond the
browser. A page is opened on an emulated phone, a script of the test reads what it needs, and a
screenshot of the viewport as the reader sees it (scrolled) is taken.

Chromium's own `--screenshot` flag cannot serve here: it captures the top of the document
whatever the page scrolled to.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import tornado.websocket

PHONE = (412, 915)  # CSS pixels, a common Android phone


def chromium_binary() -> str:
    """The browser, or skip: the page tests never fail for want of it."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("chromium is not installed (tests/install_services.sh installs Debian's "
                    "package as root; otherwise: sudo apt-get install -y chromium)")
    return found


@dataclass
class Visit:
    """A page as the browser ended up with it."""

    html: str  # the DOM after the page's scripts ran (before the test's expression)
    screenshot: bytes  # PNG of the viewport
    value: Any  # what the test's expression returned


class Browser:
    """One headless Chromium with a throwaway profile, stopped by the pid we started."""

    def __init__(self) -> None:
        binary = chromium_binary()
        self.profile = Path(tempfile.mkdtemp(prefix="verbatim-chromium-"))
        self.log = self.profile.parent / f"{self.profile.name}.log"
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [binary, "--headless=new", "--no-sandbox", "--disable-gpu",
                 "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
                 "--disable-extensions", "--disable-background-networking", "--disable-sync",
                 "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
                 f"--user-data-dir={self.profile}", "about:blank"],
                stdout=log, stderr=subprocess.STDOUT)
        try:
            self.endpoint = self._endpoint(30)
        except BaseException:
            self.stop()
            raise

    def _endpoint(self, timeout: float) -> str:
        """The browser's websocket, from the DevToolsActivePort file Chromium writes."""
        marker = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"chromium exited with {self.process.returncode}: "
                                   f"{self.log.read_text(errors='replace')[-2000:]}")
            lines = marker.read_text().split() if marker.exists() else []
            if len(lines) >= 2:
                return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
            time.sleep(0.05)
        raise TimeoutError("chromium did not open its DevTools port")

    def visit(self, url: str, expression: str = "null", size: tuple[int, int] = PHONE,
              javascript: bool = True, timeout: float = 30) -> Visit:
        """Open `url` in a new tab on a phone-sized screen (scripts off when `javascript` is
        false), wait for its load event, take the DOM, evaluate `expression` (its value must
        be JSON-serialisable), take a screenshot; close the tab."""
        return asyncio.run(asyncio.wait_for(
            _Session(self.endpoint).visit(url, expression, size, javascript), timeout))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        shutil.rmtree(self.profile, ignore_errors=True)
        self.log.unlink(missing_ok=True)


class _Session:
    """One websocket to the browser; commands to a tab go with its session id (flat mode)."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []
        self.conn: tornado.websocket.WebSocketClientConnection | None = None

    async def _read(self) -> dict[str, Any]:
        assert self.conn is not None
        raw = await self.conn.read_message()
        if raw is None:
            raise ConnectionError("chromium closed the DevTools connection")
        return json.loads(raw)

    async def call(self, method: str, params: dict[str, Any] | None = None,
                   session: str | None = None) -> dict[str, Any]:
        assert self.conn is not None
        number = next(self.ids)
        message: dict[str, Any] = {"id": number, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        await self.conn.write_message(json.dumps(message))
        while True:
            data = await self._read()
            if data.get("id") == number:
                if "error" in data:
                    raise RuntimeError(f"{method}: {data['error']}")
                return data.get("result", {})
            self.events.append(data)

    async def event(self, method: str, session: str) -> dict[str, Any]:
        while True:
            for data in self.events:
                if data.get("method") == method and data.get("sessionId") == session:
                    self.events.remove(data)
                    return data.get("params", {})
            self.events.append(await self._read())

    async def visit(self, url: str, expression: str, size: tuple[int, int],
                    javascript: bool) -> Visit:
        self.conn = await tornado.websocket.websocket_connect(
            self.endpoint, max_message_size=256 * 1024 * 1024)
        try:
            target = (await self.call("Target.createTarget", {"url": "about:blank"}))["targetId"]
            tab = (await self.call("Target.attachToTarget",
                                   {"targetId": target, "flatten": True}))["sessionId"]
            try:
                return await self._in_tab(tab, url, expression, size, javascript)
            finally:
                await self.call("Target.closeTarget", {"targetId": target})
        finally:
            self.conn.close()

    async def _in_tab(self, tab: str, url: str, expression: str, size: tuple[int, int],
                      javascript: bool) -> Visit:
        width, height = size
        await self.call("Emulation.setDeviceMetricsOverride",
                        {"width": width, "height": height, "deviceScaleFactor": 1,
                         "mobile": True}, tab)
        await self.call("Emulation.setScriptExecutionDisabled", {"value": not javascript}, tab)
        await self.call("Page.enable", {}, tab)
        navigated = await self.call("Page.navigate", {"url": url}, tab)
        if navigated.get("errorText"):
            raise RuntimeError(f"{url}: {navigated['errorText']}")
        await self.event("Page.loadEventFired", tab)
        await self.call("Emulation.setScriptExecutionDisabled", {"value": False}, tab)
        html = await self._evaluate(tab, "document.documentElement.outerHTML")
        value = await self._evaluate(tab, expression)
        shot = await self.call("Page.captureScreenshot", {"format": "png"}, tab)
        return Visit(html=html, screenshot=base64.b64decode(shot["data"]), value=value)

    async def _evaluate(self, tab: str, expression: str) -> Any:
        found = await self.call("Runtime.evaluate",
                                {"expression": expression, "returnByValue": True}, tab)
        if "exceptionDetails" in found:
            raise RuntimeError(f"{expression}: {found['exceptionDetails']}")
        return found["result"].get("value")
