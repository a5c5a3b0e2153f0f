"""Data to learn and test with: the CDNOW log (bundled) and a seeded simulator."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, Optional, Tuple, Union

import numpy as np
import pandas as pd

from .. import _core
from .._base import seed_from
from .._frame import days_to_datetime, to_day
from ..exceptions import ParameterError

__all__ = ["load_cdnow", "simulate_transactions"]
__all__ += ["load_hillstrom"]


def load_cdnow() -> pd.DataFrame:
    """The CDNOW master transaction log.

    69,659 transactions of the 23,570 customers who made their first purchase
    at CDNOW in the first quarter of 1997, followed to the end of June 1998:
    the standard data set of the customer-base-analysis literature (Fader,
    Hardie & Lee 2005).

    Returns
    -------
    DataFrame
        ``customer_id`` (int), ``date`` (datetime64), ``amount`` (dollars,
        float) and ``quantity`` (number of CDs, int), in the original order.

    Examples
    --------
    >>> from patronage.datasets import load_cdnow
    >>> tx = load_cdnow()
    >>> tx.shape, tx["customer_id"].nunique()
    ((69659, 4), 23570)
    """
    with resources.files(__package__).joinpath("cdnow_master.csv.gz").open("rb") as fh:
        raw = pd.read_csv(fh, compression="gzip", dtype={"customer_id": "int64", "date": "str",
                                                         "quantity": "int64", "amount": "float64"})
    raw["date"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    return raw[["customer_id", "date", "amount", "quantity"]]


def simulate_transactions(
    n_customers: int,
    *,
    start: Any = "2024-01-01",
    acquisition_days: float = 90.0,
    observation_days: float = 546.0,
    r: float = 0.243,
    alpha: float = 4.414 * 7,
    a: float = 0.793,
    b: float = 2.426,
    spend: str = "lognormal",
    spend_params: Optional[Tuple[float, float, float]] = None,
    random_state: Any = None,
) -> pd.DataFrame:
    """A realistic buy-till-you-die transaction log, millions of customers in seconds.

    Each customer joins on a uniform day of the first ``acquisition_days`` and
    buys then. Purchases follow a Poisson process with rate
    ``lambda ~ Gamma(r, scale=1/alpha)`` per day; after each purchase the
    customer leaves for good with probability ``p ~ Beta(a, b)`` (the BG/NBD
    story). The defaults are Fader, Hardie & Lee's CDNOW estimates (alpha
    rescaled from weeks to days). Spend per transaction:

    * ``"lognormal"`` (default): ``log(amount) ~ Normal(mu_c, sd_within)`` with
      ``mu_c ~ Normal(mean_log, sd_between)``; ``spend_params = (mean_log,
      sd_between, sd_within)``, default ``(3.3, 0.5, 0.4)``;
    * ``"gamma-gamma"``: the Gamma-Gamma model, ``spend_params = (p, q, v)``,
      default CDNOW's ``(6.25, 3.74, 15.44)``.

    Amounts are rounded to cents (at least 0.01). The log is grouped by
    customer and in time order within each; the same ``random_state`` gives
    the same log whatever the number of threads.

    Returns
    -------
    DataFrame
        ``customer_id`` (int), ``date`` (datetime64), ``amount`` (float).

    Examples
    --------
    >>> from patronage.datasets import simulate_transactions
    >>> tx = simulate_transactions(1000, random_state=0)
    >>> list(tx.columns), tx["customer_id"].nunique()
    (['customer_id', 'date', 'amount'], 1000)
    >>> tx.equals(simulate_transactions(1000, random_state=0))
    True
    """
    if isinstance(n_customers, bool) or not isinstance(n_customers, (int, np.integer)) or n_customers < 1:
        raise ParameterError(f"n_customers must be a positive integer, got {n_customers!r}", "n_customers")
    defaults = {"lognormal": (3.3, 0.5, 0.4), "gamma-gamma": (6.25, 3.74, 15.44)}
    if spend not in defaults:
        raise ParameterError(f"spend must be 'lognormal' or 'gamma-gamma', got {spend!r}", "spend")
    params = tuple(float(x) for x in (spend_params if spend_params is not None else defaults[spend]))
    if len(params) != 3:
        raise ParameterError("spend_params must hold three numbers", "spend_params")
    cols = _core.simulate_transactions(
        int(n_customers), to_day(start, "start"), float(acquisition_days), float(observation_days),
        float(r), float(alpha), float(a), float(b), spend, params, seed_from(random_state),
    )
    return pd.DataFrame({
        "customer_id": cols["customer"],
        "date": days_to_datetime(cols["day"]),
        "amount": cols["amount"],
    })


HILLSTROM_RELATIVE = Path("shared") / "data" / "hillstrom" / "hillstrom.csv.gz"


def load_hillstrom(path: Union[str, Path, None] = None) -> pd.DataFrame:
    """Kevin Hillstrom's e-mail campaign test (MineThatData, 2008).

    64,000 customers who bought in the last 12 months, randomly split into
    three equal groups: a men's merchandise e-mail, a women's merchandise
    e-mail, or no e-mail; the outcomes are a visit, a conversion and the spend
    in the two weeks after. The standard public data set for measuring a
    campaign's effect (see :func:`patronage.campaign.measure_effect`). It is
    not bundled: pass the path of ``hillstrom.csv.gz``; the default looks for
    ``../shared/data/hillstrom/hillstrom.csv.gz`` beside a source checkout.

    Parameters
    ----------
    path : str or Path, optional
        The CSV (gzip or plain).

    Returns
    -------
    DataFrame
        ``recency``, ``history_segment``, ``history``, ``mens``, ``womens``,
        ``zip_code``, ``newbie``, ``channel``, ``treatment`` (``"Mens E-Mail"``,
        ``"Womens E-Mail"``, ``"No E-Mail"``), ``conversion``, ``visit`` (0/1)
        and ``spend``.

    Raises
    ------
    FileNotFoundError
        No path given and no shared copy found, or the path does not exist.

    Examples
    --------
    >>> from patronage.datasets import load_hillstrom
    >>> df = load_hillstrom()
    >>> df.groupby("treatment")["visit"].mean().round(4)
    treatment
    Mens E-Mail      0.1828
    No E-Mail        0.1062
    Womens E-Mail    0.1514
    Name: visit, dtype: float64
    """
    if path is None:
        candidates = [Path.cwd().parent / HILLSTROM_RELATIVE, Path(__file__).resolve().parents[4] / HILLSTROM_RELATIVE]
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            raise FileNotFoundError(
                f"the Hillstrom file is not bundled and was not found at {[str(c) for c in candidates]}; "
                "pass load_hillstrom(path=...)"
            )
        path = found
    return pd.read_csv(path, dtype={"history_segment": "str", "zip_code": "str", "channel": "str",
                                    "treatment": "str", "conversion": "int64", "visit": "int64",
                                    "spend": "float64"})
