"""Where a search's study lives: an Optuna storage URL, opened safely for many workers.

- The URL may come from the ``WORKBENCH_STORAGE`` environment variable (so a password need not
  be on a command line, where ``ps`` shows it); every message masks the password.
- ``postgresql://`` needs a driver: SQLAlchemy 2.1 maps the plain URL to psycopg 3, which the
  ``postgres`` extra installs (``pip install 'nn-workbench[postgres]'``); a missing driver is a
  one-line error naming the package. ``postgresql+psycopg2://`` uses psycopg2 instead.
- A database storage runs with a heartbeat: a worker killed mid-trial (``kill -9``, a lost
  machine) leaves a trial that the other workers mark failed after ``GRACE_S`` and run again.
- Each process draws its sampler seed from the given seed, the host and the process id, so
  parallel workers, and a restarted one, never sample the same points.

Example:
    >>> from workbench.search_storage import masked
    >>> masked("postgresql://ana:s3cret@db.lab:5432/studies")
    'postgresql://ana:***@db.lab:5432/studies'
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import time
import warnings
from pathlib import Path
from typing import Any

from workbench.exceptions import ConfigError

STORAGE_ENV = "WORKBENCH_STORAGE"
DEFAULT_STORAGE = "sqlite:///runs/search.db"
HEARTBEAT_S = 5  # a running trial's worker writes a heartbeat this often
GRACE_S = 20  # a trial without a heartbeat for this long is failed and re-run by another worker
RETRIES = 2  # how many times such a trial is re-run

_DRIVERS = {"psycopg": "psycopg 3: pip install 'nn-workbench[postgres]'",
            "psycopg2": "psycopg2: pip install psycopg2-binary",
            "pymysql": "PyMySQL: pip install pymysql", "MySQLdb": "mysqlclient: pip install "
            "mysqlclient"}


def masked(url: str) -> str:
    """``url`` with its password replaced by ``***`` (for every message and log line)."""
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def storage_url(url: str | None = None) -> str | None:
    """The storage to use: ``url``; else ``$WORKBENCH_STORAGE``; else the local SQLite file.

    ``none`` (any case) or an empty string means an in-memory study (no resume, one process).

    Example:
        >>> from workbench.search_storage import storage_url
        >>> storage_url("none") is None, storage_url("sqlite:///s.db")
        (True, 'sqlite:///s.db')
    """
    chosen = url if url is not None else os.environ.get(STORAGE_ENV) or DEFAULT_STORAGE
    return None if chosen.strip().lower() in ("", "none") else chosen


def process_seed(seed: int) -> int:
    """A sampler seed for this process: ``seed`` mixed with the host and the process id."""
    text = f"{seed}:{socket.gethostname()}:{os.getpid()}:{time.time_ns()}"
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little") & 0x7FFFFFFF


def open_storage(url: str) -> Any:
    """An Optuna RDB storage with a heartbeat, or a ConfigError that names what is wrong."""
    import optuna
    from optuna.storages import RetryHeartbeatStaleTrialCallback

    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(6):  # processes starting together race to create the tables
        try:
            with warnings.catch_warnings():  # Optuna calls the heartbeat "experimental"
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.storages.RDBStorage(
                    url, heartbeat_interval=HEARTBEAT_S, grace_period=GRACE_S,
                    heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(
                        max_retry=RETRIES))
        except ImportError:  # Optuna's words for "the URL's DB-API module is missing"
            raise ConfigError("storage", masked(url), "a URL whose database driver is "
                              f"installed: this one needs {_driver_of(url)}") from None
        except Exception as e:
            text = masked(str(e))
            transient = any(w in text for w in ("UNIQUE constraint", "already exists",
                                                 "database is locked"))
            if transient and attempt < 5:
                time.sleep(0.3 * (attempt + 1))
                continue
            raise ConfigError("storage", masked(url), f"a database URL Optuna can open, e.g. "
                              f"{DEFAULT_STORAGE} ({type(e).__name__}: "
                              f"{text.splitlines()[0][:200]})") from None
    raise AssertionError("unreachable")


def _driver_of(url: str) -> str:
    """The package a URL's SQLAlchemy dialect imports, said as how to install it."""
    try:
        from sqlalchemy.engine import make_url

        driver = make_url(url).get_dialect().driver
    except Exception:
        return "the driver its scheme names"
    return _DRIVERS.get(driver, f"the {driver} package")


def open_study(url: str | None, name: str, directions: list[str], sampler: Any,
               pruner: Any) -> Any:
    """Create or load a study; processes starting together on one new database may race to
    create its tables or the study, so that is retried."""
    import optuna

    for attempt in range(6):
        try:
            return optuna.create_study(storage=open_storage(url) if url else None,
                                       study_name=name, directions=directions,
                                       sampler=sampler, pruner=pruner, load_if_exists=True)
        except ConfigError:
            raise
        except Exception:
            if attempt == 5:
                raise
            time.sleep(0.2 * (attempt + 1))
    raise AssertionError("unreachable")
