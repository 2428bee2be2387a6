"""Executed notebooks as HTML pages that render with no network: plotly charts and math.

An executed notebook keeps each plotly figure only as its JSON (renderer ``plotly_mimetype``:
JupyterLab draws it natively, and the ``.ipynb`` stays small). :func:`notebook_html` turns those
outputs into chart divs and adds the two scripts a page needs, once each:

- plotly.js, from the installed ``plotly`` package;
- MathJax 3 (``tex-svg``, one self-contained file, Apache-2.0, shipped in
  ``workbench/assets``), only when a markdown cell holds math.

``assets=None`` inlines both (one self-contained file, about 4.8 MB with plotly.js). Given a
folder, they are written there once and the page links to them by a relative path, so the runs
of a sweep share one copy (a run's page is then about 100 KB).
"""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path
from typing import Any

PLOTLY_MIME = "application/vnd.plotly.v1+json"
RENDERER = "plotly_mimetype"  #: the renderer headless notebooks run with
_ASSETS = Path(__file__).parent / "assets"
_MATHJAX_FILE = "mathjax-tex-svg.js"
_PLOTLY_FILE = "plotly.min.js"
_MATH = re.compile(r"\$[^$\n]+\$|\\\(|\\\[|\\begin\{")
_MATHJAX_CONFIG = ("window.MathJax={tex:{inlineMath:[['$','$'],['\\\\(','\\\\)']],"
                   "displayMath:[['$$','$$'],['\\\\[','\\\\]']],processEscapes:true},"
                   "svg:{fontCache:'global'}};")
_SENTINEL = "workbench-mathjax-placeholder.js"
_REQUIRE = re.compile(r'<script src="[^"]*require(\.min)?\.js"></script>')


def plotly_js() -> str:
    """plotly.js as shipped by the installed plotly package (no network)."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def mathjax_js() -> str:
    """MathJax 3 ``tex-svg`` (TeX input, SVG output, no font files), shipped with workbench."""
    return (_ASSETS / _MATHJAX_FILE).read_text(encoding="utf-8")


def has_math(nb: Any) -> bool:
    """Whether any markdown cell of a notebook holds TeX math (``$...$``, ``\\(``, ...)."""
    return any(c.get("cell_type") == "markdown" and _MATH.search("".join(c.get("source", "")))
               for c in nb.get("cells", []))


def _with_chart_divs(nb: Any) -> tuple[Any, bool]:
    """A copy of the notebook where every plotly JSON output also has its HTML div."""
    import plotly.io as pio

    nb = copy.deepcopy(nb)
    found = False
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if PLOTLY_MIME not in data:
                continue
            found = True
            if "text/html" not in data:
                data["text/html"] = pio.to_html(dict(data[PLOTLY_MIME]), full_html=False,
                                                include_plotlyjs=False,
                                                config={"responsive": True})
    return nb, found


def _script(source: str | None, href: str | None) -> str:
    if href is not None:
        return f'<script src="{href}"></script>'
    return "<script>" + (source or "").replace("</script", "<\\/script") + "</script>"


def _linked(assets: Path, name: str, source: Any, page_dir: Path) -> str:
    assets.mkdir(parents=True, exist_ok=True)
    target = assets / name
    if not target.exists():
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(source(), encoding="utf-8")
        os.replace(tmp, target)
    return Path(os.path.relpath(target, page_dir)).as_posix()


def provide_linked_assets(html_path: str | Path, assets: str | Path) -> None:
    """Write the shared scripts that a page made elsewhere links to into ``assets`` (a run
    folder sent back by a Dask worker arrives without its sweep's ``_assets``)."""
    text = Path(html_path).read_text(encoding="utf-8", errors="replace")
    page_dir = Path(html_path).parent
    for name, source in ((_PLOTLY_FILE, plotly_js), (_MATHJAX_FILE, mathjax_js)):
        if f'src="{Path(os.path.relpath(Path(assets) / name, page_dir)).as_posix()}"' in text:
            _linked(Path(assets), name, source, page_dir)


def notebook_html(nb: Any, html_path: str | Path, *, assets: str | Path | None = None) -> Path:
    """Write a notebook node as an HTML page (code inputs hidden) that renders offline.

    Example:
        >>> import nbformat
        >>> from workbench.html_export import notebook_html
        >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("$e^x$")])
        >>> page = notebook_html(nb, "/tmp/wb-doctest-page.html")
        >>> "MathJax" in page.read_text()
        True
    """
    from nbconvert import HTMLExporter

    html_path = Path(html_path)
    nb, charts = _with_chart_divs(nb)
    math = has_math(nb)
    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True, mathjax_url=_SENTINEL)
    body, _ = exporter.from_notebook_node(nb)
    page_dir = html_path.parent
    head = []
    if charts:
        href = None if assets is None else _linked(Path(assets), _PLOTLY_FILE, plotly_js,
                                                   page_dir)
        head.append(_script(plotly_js() if href is None else None, href))
    mathjax = ""
    if math:
        href = None if assets is None else _linked(Path(assets), _MATHJAX_FILE, mathjax_js,
                                                   page_dir)
        mathjax = (f"<script>{_MATHJAX_CONFIG}</script>"
                   + _script(mathjax_js() if href is None else None, href))
    body = body.replace(f'<script src="{_SENTINEL}"> </script>', mathjax)
    # nbconvert links require.js from a CDN (for widget state, which headless runs do not
    # keep); with it loaded, plotly.js would register as an AMD module instead of
    # window.Plotly. The page loads nothing from the network.
    scripts = "\n".join(head)
    body, n = _REQUIRE.subn(lambda _: scripts, body, count=1)
    if not n:
        body = body.replace("</head>", scripts + "\n</head>", 1)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(body, encoding="utf-8")
    return html_path
