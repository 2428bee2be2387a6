"""The Playground: a TensorFlow-Playground-style classifier of 2-D points, with compression.

A package along state / figures / view: :class:`Playground` (``_model``) holds the data, the
network and its training; ``_figures`` draws it; :class:`PlaygroundView` (``_view``) is the
widget around it.

Example:
    >>> from workbench.teach.playground import Playground
    >>> pg = Playground(dataset="circles", hidden=[4], epochs_per_step=1)  # doctest: +SKIP
"""

from workbench.teach.playground._model import Playground
from workbench.teach.playground._options import FEATURES, REGULARIZATION, TWO_D
from workbench.teach.playground._view import PlaygroundView

__all__ = ["FEATURES", "REGULARIZATION", "TWO_D", "Playground", "PlaygroundView"]
