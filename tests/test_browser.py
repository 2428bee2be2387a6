"""Real JupyterLab + Debian Chromium (Playwright): the live plot receives points while a model
trains in a background thread; no widget errors; no request leaves 127.0.0.1."""

from __future__ import annotations

import importlib.util
import time

import pytest

from tests.browser import CHROMIUM, jupyterlab_page
from tests.conftest import ROOT, require_system

pytestmark = [pytest.mark.browser, pytest.mark.system]
ARTIFACTS = ROOT / "test-artifacts"


def test_liveplot_grows_while_training_in_background_thread():
    require_system(CHROMIUM.exists(), "Debian's chromium")
    require_system(importlib.util.find_spec("playwright") is not None, "playwright")
    with jupyterlab_page(ROOT / "notebooks" / "live_telemetry.ipynb", ARTIFACTS) as lab:
        lab.run_all()
        lab.page.locator(".js-plotly-plot").first.wait_for(state="visible", timeout=120_000)
        samples = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            counts = lab.plot_point_counts()
            samples.append(sum(counts))
            if len(samples) >= 4 and samples[-1] > samples[0] + 20:
                break
            time.sleep(1.5)
        assert samples[-1] > samples[0], f"the live chart did not grow: {samples}"
        assert len({s for s in samples}) >= 2, samples
        assert lab.widget_errors() == []
        assert lab.external == [], lab.external
        lab.page.screenshot(path=str(ARTIFACTS / "live_telemetry_during.png"))
