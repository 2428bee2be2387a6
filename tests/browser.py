"""Drive a notebook in a real JupyterLab with headless Debian Chromium (via Playwright).

Adapted from ../shared/recipes/jupyterlab_browser_test.py: throwaway settings and workspace,
a fresh copy of the notebook, every non-127.0.0.1 request blocked and recorded.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROME_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WIDGET_ERRORS = ("Error displaying widget", "Failed to load model")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LabPage:
    page: Any
    external: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def run_all(self) -> None:
        self.page.get_by_text(re.compile(r"Python 3 \(ipykernel\) \| Idle")).first.wait_for(
            timeout=90_000)
        self.page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        self.page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()

    def plot_point_counts(self) -> list[int]:
        """Points in each rendered plotly chart (summed over its traces).

        Read from plotly.js's ``_fullData``, what it draws: after a ``plotly_restyle`` with
        numpy arrays, ``gd.data`` holds typed-array specs (``{dtype, bdata}``, no length),
        which plotly.js decodes into ``_fullData``."""
        return self.page.evaluate(
            "() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(gd =>"
            " (gd._fullData || gd.data || []).reduce((n, t) => n + (t.x ? t.x.length : 0),"
            " 0))")

    def widget_errors(self) -> list[str]:
        body = self.page.inner_text("body")
        return [s for s in WIDGET_ERRORS if s in body]


@contextlib.contextmanager
def jupyterlab_page(notebook: Path, artifacts: Path) -> Iterator[LabPage]:
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="wb-jlab-"))
    settings = tmp / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
    root = tmp / "root"
    root.mkdir()
    name = f"run-{int(time.time() * 1000)}.ipynb"
    shutil.copy(notebook, root / name)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(tmp / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp / "ws")}
    with open(tmp / "server.log", "w") as log:
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "jupyter-lab"), "--ip=127.0.0.1", f"--port={port}",
             "--no-browser", "--allow-root", "--ServerApp.token=", "--ServerApp.password=",
             f"--ServerApp.root_dir={root}", "--ServerApp.port_retries=0"],
            env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            for _ in range(240):
                try:
                    urllib.request.urlopen(f"{base}/api/status", timeout=1)
                    break
                except Exception:
                    time.sleep(0.25)
            else:
                raise RuntimeError(f"jupyter-lab did not start: {(tmp / 'server.log').read_text()}")
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROME_ARGS)
                ctx = browser.new_context(viewport={"width": 1400, "height": 1100})
                lab = LabPage(page=None)

                def route(r):
                    url = r.request.url
                    if url.startswith(("http://127.0.0.1", "data:", "blob:")):
                        return r.continue_()
                    lab.external.append(url)
                    return r.abort()

                ctx.route("**/*", route)
                lab.page = ctx.new_page()
                lab.page.on("pageerror", lambda e: lab.errors.append(str(e)[:300]))
                lab.page.goto(f"{base}/lab/tree/{name}", wait_until="domcontentloaded")
                try:
                    yield lab
                finally:
                    artifacts.mkdir(parents=True, exist_ok=True)
                    with contextlib.suppress(Exception):
                        lab.page.screenshot(path=str(artifacts / f"{notebook.stem}.png"),
                                            full_page=True)
                    browser.close()
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()


# For every plotly chart on the page: the chart itself when it is wider than the box that shows
# it, and its title and axis titles that are not wholly visible, i.e. that stick out of an
# ancestor that clips its overflow sideways (a widget box, the output area) or out of the
# chart's own SVG. Returns [{text, box, clip}] of the clipped ones.
CLIPPED_TITLES_JS = """() => {
  const out = [];
  const inter = (a, b) => ({left: Math.max(a.left, b.left), top: Math.max(a.top, b.top),
                            right: Math.min(a.right, b.right),
                            bottom: Math.min(a.bottom, b.bottom)});
  for (const gd of document.querySelectorAll('.js-plotly-plot')) {
    const svg = gd.querySelector('.main-svg');
    if (!svg) continue;
    let clip = {left: -1e9, right: 1e9, top: -1e9, bottom: 1e9};
    // ancestors clip sideways (a widget box narrower than its chart); up and down they only
    // scroll, so the vertical bound is the chart's own SVG
    const sideways = el => { const r = el.getBoundingClientRect();
                             return {left: r.left, right: r.right, top: -1e9, bottom: 1e9}; };
    for (let el = gd.parentElement; el && el !== document.body; el = el.parentElement) {
      if (getComputedStyle(el).overflowX !== 'visible') clip = inter(clip, sideways(el));
      if (el.classList.contains('jp-OutputArea-output')) {
        clip = inter(clip, sideways(el));
        break;
      }
    }
    const own = svg.getBoundingClientRect();
    if (own.left < clip.left - 1 || own.right > clip.right + 1)  // the chart itself is cut
      out.push({text: 'chart: ' + (gd.layout && JSON.stringify(gd.layout.title || '')),
                box: [own.left, own.top, own.right, own.bottom],
                clip: [clip.left, clip.top, clip.right, clip.bottom]});
    const texts = gd.querySelectorAll('.gtitle, .xtitle, .ytitle, .annotation-text');
    for (const t of texts) {
      const b = t.getBoundingClientRect();
      if (!b.width || !t.textContent.trim()) continue;
      const c = inter(clip, own);
      if (b.left < c.left - 1 || b.right > c.right + 1 || b.top < c.top - 1
          || b.bottom > c.bottom + 1)
        out.push({text: t.textContent, box: [b.left, b.top, b.right, b.bottom],
                  clip: [clip.left, clip.top, clip.right, clip.bottom]});
    }
  }
  return out;
}"""


def offline(page: Any, allowed: tuple[str, ...] = ("file://", "data:", "blob:")) -> list[str]:
    """Refuse every request of ``page`` that is not local; return the list the refused URLs
    are appended to (a test asserts it stays empty)."""
    refused: list[str] = []

    def route(r: Any) -> Any:
        if r.request.url.startswith(allowed):
            return r.continue_()
        refused.append(r.request.url)
        return r.abort()

    page.route("**/*", route)
    return refused
