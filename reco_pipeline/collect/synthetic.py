"""The ``synthetic`` source: a deterministic, seeded simulation of an online shop.

What makes it worth training on (and not just a random table):

- *Zipf-like popularity*: a few items sell a lot, most sell little (a popularity baseline is strong).
- *Latent tastes*: each item has a vector near its category's centroid; each customer's taste is
  driven by their age band and country plus a personal part. The chance of looking at an item
  grows with ``taste . item`` and with its popularity, so collaborative and content signals are
  both real, and demographics carry information about new customers.
- *Words*: titles are built from category-specific vocabulary, so text features identify new items.
- *Funnel*: views >> add-to-carts >> purchases; some purchases get a review whose rating follows
  the customer's affinity for the item.
- *Time*: weekly rhythm, a Q4 surge, customers who sign up late and products launched late (cold
  users and cold items in the holdout window are real, not simulated by hiding ids).
- *A little dirt* (configurable share, default 0.2%): missing ids, unknown event types, negative
  prices, future timestamps, exact duplicates. Validation must catch and quarantine them.

The same parameters and seed give the same tables, row for row.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from reco_pipeline.collect.raw import RawData
from reco_pipeline.schema import Columns, EventType, canonical_interactions, canonical_items, canonical_users

COUNTRIES = ("United Kingdom", "Germany", "France", "Spain", "Netherlands", "Ireland", "Italy", "Poland")
COUNTRY_WEIGHTS = (0.45, 0.13, 0.11, 0.08, 0.07, 0.06, 0.06, 0.04)
AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
AGE_WEIGHTS = (0.12, 0.26, 0.24, 0.18, 0.12, 0.08)
CATEGORY_WORDS: dict[str, tuple[str, ...]] = {
    "kitchen": ("mug", "teapot", "spoon", "bowl", "apron", "jar", "kettle", "baking"),
    "garden": ("planter", "watering", "seed", "trowel", "bird", "lantern", "herb", "pot"),
    "toys": ("puzzle", "doll", "robot", "blocks", "kite", "train", "teddy", "marbles"),
    "stationery": ("notebook", "pencil", "journal", "stamp", "envelope", "washi", "planner", "ink"),
    "home decor": ("cushion", "candle", "frame", "vase", "clock", "mirror", "wreath", "throw"),
    "party": ("balloon", "bunting", "napkin", "banner", "confetti", "cake", "garland", "straw"),
    "fashion": ("scarf", "tote", "purse", "bracelet", "hat", "gloves", "brooch", "umbrella"),
    "bath": ("soap", "towel", "sponge", "bathbomb", "lotion", "robe", "loofah", "salts"),
    "christmas": ("bauble", "stocking", "advent", "reindeer", "snowflake", "tinsel", "santa", "star"),
    "pets": ("collar", "lead", "bowl", "treats", "catnip", "bed", "squeaky", "brush"),
    "tech": ("cable", "charger", "speaker", "stand", "case", "earbuds", "lamp", "hub"),
    "crafts": ("yarn", "ribbon", "beads", "glitter", "stencil", "felt", "button", "glue"),
}
COLOURS = ("red", "blue", "pink", "green", "ivory", "black", "gold", "silver", "pastel", "vintage")
SEASONAL_CATEGORY = "christmas"


@dataclass(frozen=True)
class SyntheticParams:
    """Size and shape of the simulated shop. Defaults run the whole pipeline in about two minutes."""

    n_users: int = 3000
    n_items: int = 800
    n_days: int = 365
    start: str = "2024-01-01"
    sessions_per_user: float = 18.0
    views_per_session: float = 4.0
    latent_dim: int = 8
    taste_strength: float = 3.0
    popularity_exponent: float = 0.9
    late_user_share: float = 0.15
    late_item_share: float = 0.12
    dirty_share: float = 0.002
    seed: int = 42


def generate(params: SyntheticParams = SyntheticParams()) -> RawData:
    rng = np.random.default_rng(params.seed)
    categories = list(CATEGORY_WORDS)
    items, item_vecs, item_logpop, item_launch = _make_items(params, rng, categories)
    users, user_vecs, user_signup, user_rate = _make_users(params, rng, categories)
    events = _simulate_events(params, rng, items, item_vecs, item_logpop, item_launch, user_vecs, user_signup, user_rate)
    events = _add_dirt(events, params, rng)
    events = canonical_interactions(events)
    events[Columns.Row] = range(len(events))
    return RawData(
        interactions=events,
        users=canonical_users(users),
        items=canonical_items(items),
        source="synthetic",
        description={k: str(v) for k, v in asdict(params).items()},
    )


def _make_items(params: SyntheticParams, rng: np.random.Generator, categories: list[str]):
    n, d = params.n_items, params.latent_dim
    cat_share = rng.dirichlet(np.full(len(categories), 3.0))
    cat_idx = rng.choice(len(categories), size=n, p=cat_share)
    centroids = rng.normal(size=(len(categories), d))
    vecs = centroids[cat_idx] + 0.6 * rng.normal(size=(n, d))
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    # Zipf-like: log popularity falls with the log of a random rank.
    ranks = rng.permutation(n) + 1
    logpop = -params.popularity_exponent * np.log(ranks)
    launch = np.zeros(n, dtype=int)
    late = rng.random(n) < params.late_item_share
    launch[late] = rng.integers(int(params.n_days * 0.5), params.n_days - 3, size=late.sum())

    titles, prices = [], []
    base_price = np.exp(rng.normal(1.5, 0.6, size=len(categories)))
    for i, c in enumerate(cat_idx):
        words = CATEGORY_WORDS[categories[c]]
        # Words near the item's own vector direction make text informative within a category too.
        w = rng.choice(len(words), size=2, replace=False, p=_softmax(vecs[i, : len(words)] * 2.0))
        titles.append(f"{rng.choice(COLOURS)} {words[w[0]]} {words[w[1]]}".upper())
        prices.append(round(float(base_price[c] * np.exp(rng.normal(0, 0.35))), 2))
    items = pd.DataFrame(
        {
            Columns.Item: [f"P{i:05d}" for i in range(n)],
            Columns.Title: titles,
            Columns.Category: [categories[c] for c in cat_idx],
            Columns.Price: prices,
            "launch_date": pd.Timestamp(params.start) + pd.to_timedelta(launch, unit="D"),
        }
    )
    return items, vecs, logpop, launch


def _make_users(params: SyntheticParams, rng: np.random.Generator, categories: list[str]):
    n, d = params.n_users, params.latent_dim
    country = rng.choice(len(COUNTRIES), size=n, p=COUNTRY_WEIGHTS)
    age = rng.choice(len(AGE_BANDS), size=n, p=AGE_WEIGHTS)
    age_vecs = rng.normal(size=(len(AGE_BANDS), d))
    country_vecs = rng.normal(size=(len(COUNTRIES), d))
    vecs = 0.8 * age_vecs[age] + 0.4 * country_vecs[country] + 0.7 * rng.normal(size=(n, d))
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    signup = np.zeros(n, dtype=int)
    late = rng.random(n) < params.late_user_share
    signup[late] = rng.integers(int(params.n_days * 0.6), params.n_days - 1, size=late.sum())
    early = ~late
    signup[early] = rng.integers(0, int(params.n_days * 0.3), size=early.sum())
    rate = np.exp(rng.normal(0.0, 0.7, size=n))
    users = pd.DataFrame(
        {
            Columns.User: [f"U{u:06d}" for u in range(n)],
            "country": [COUNTRIES[c] for c in country],
            "age_band": [AGE_BANDS[a] for a in age],
            "signup_date": pd.Timestamp(params.start) + pd.to_timedelta(signup, unit="D"),
        }
    )
    return users, vecs, signup, rate


def _day_weights(params: SyntheticParams) -> np.ndarray:
    days = np.arange(params.n_days)
    dates = pd.Timestamp(params.start) + pd.to_timedelta(days, unit="D")
    weekly = np.where(dates.dayofweek >= 5, 1.25, 1.0)
    q4 = 1.0 + 0.8 * np.exp(-0.5 * ((dates.dayofyear - 335) / 20.0) ** 2)
    return weekly * q4


def _simulate_events(params, rng, items, item_vecs, item_logpop, item_launch, user_vecs, user_signup, user_rate):
    n_users = len(user_vecs)
    day_w = _day_weights(params)
    day_cum = np.cumsum(day_w)
    # Sessions per user scale with how long they were a customer and with their own activity rate.
    active_mass = (day_cum[-1] - np.concatenate([[0.0], day_cum])[user_signup]) / day_cum[-1]
    n_sessions = rng.poisson(params.sessions_per_user * user_rate * active_mass / max(user_rate.mean(), 1e-9))
    sess_user = np.repeat(np.arange(n_users), n_sessions)
    lo = np.concatenate([[0.0], day_cum])[user_signup[sess_user]]
    draw = lo + rng.random(len(sess_user)) * (day_cum[-1] - lo)
    sess_day = np.minimum(np.searchsorted(day_cum, draw, side="right"), params.n_days - 1)
    sess_views = 1 + rng.poisson(max(params.views_per_session - 1.0, 0.0), size=len(sess_user))

    view_sess = np.repeat(np.arange(len(sess_user)), sess_views)
    view_user = sess_user[view_sess]
    view_day = sess_day[view_sess]
    view_item = np.empty(len(view_sess), dtype=int)
    is_xmas = (items[Columns.Category].to_numpy() == SEASONAL_CATEGORY)

    # Weekly buckets: the catalogue (launches) and the season change the choice distribution.
    bucket = view_day // 7
    for b in np.unique(bucket):
        sel = np.flatnonzero(bucket == b)
        day0 = int(b * 7)
        avail = np.flatnonzero(item_launch <= day0 + 6)
        doy = (pd.Timestamp(params.start) + pd.Timedelta(days=day0)).dayofyear
        season = np.where(is_xmas[avail], 2.5 * np.exp(-0.5 * ((doy - 340) / 18.0) ** 2) - 1.0, 0.0)
        users_b, inv = np.unique(view_user[sel], return_inverse=True)
        logits = params.taste_strength * user_vecs[users_b] @ item_vecs[avail].T + item_logpop[avail] + season
        probs = np.exp(logits - logits.max(axis=1, keepdims=True))
        cum = np.cumsum(probs, axis=1)
        cum /= cum[:, -1:]
        u = rng.random(len(sel))
        pick = (cum[inv] < u[:, None]).sum(axis=1)
        view_item[sel] = avail[np.minimum(pick, len(avail) - 1)]
        # An item launched later in the week cannot be seen before its launch day.
        view_day[sel] = np.maximum(view_day[sel], item_launch[view_item[sel]])

    affinity = np.einsum("ij,ij->i", user_vecs[view_user], item_vecs[view_item])
    p_cart = _sigmoid(-2.2 + 2.5 * affinity)
    carted = rng.random(len(view_user)) < p_cart
    p_buy = _sigmoid(-0.6 + 2.0 * affinity)
    bought = carted & (rng.random(len(view_user)) < p_buy)
    reviewed = bought & (rng.random(len(view_user)) < 0.15)

    start = pd.Timestamp(params.start)
    sess_second = rng.integers(7 * 3600, 23 * 3600, size=len(sess_user))
    offset = np.concatenate([np.arange(k) for k in sess_views]) * 45 + rng.integers(0, 40, size=len(view_sess))
    view_time = start + pd.to_timedelta(view_day * 86400 + sess_second[view_sess] + offset, unit="s")
    item_price = items[Columns.Price].to_numpy()

    def frame(mask, event, delay_s, quantity=None, rating=None):
        idx = np.flatnonzero(mask)
        return pd.DataFrame(
            {
                Columns.User: [f"U{u:06d}" for u in view_user[idx]],
                Columns.Item: items[Columns.Item].to_numpy()[view_item[idx]],
                Columns.Datetime: view_time[idx] + pd.to_timedelta(delay_s[idx] if delay_s is not None else 0, unit="s"),
                Columns.EventType: event,
                Columns.Quantity: quantity[idx] if quantity is not None else np.nan,
                Columns.Price: item_price[view_item[idx]],
                Columns.Rating: rating[idx] if rating is not None else np.nan,
            }
        )

    n = len(view_user)
    quantity = 1 + rng.poisson(0.4, size=n)
    rating = np.clip(np.round(3.0 + 2.2 * affinity + rng.normal(0, 0.8, size=n)), 1, 5)
    review_delay = rng.integers(2 * 86400, 14 * 86400, size=n)
    events = pd.concat(
        [
            frame(np.ones(n, bool), EventType.VIEW.value, None),
            frame(carted, EventType.ADD_TO_CART.value, np.full(n, 20)),
            frame(bought, EventType.PURCHASE.value, np.full(n, 300), quantity=quantity),
            frame(reviewed, EventType.REVIEW.value, review_delay, rating=rating),
        ],
        ignore_index=True,
    )
    end = start + pd.Timedelta(days=params.n_days)
    events = events[events[Columns.Datetime] < end]  # reviews after the simulated period never happened yet
    events = events.sort_values([Columns.Datetime, Columns.User, Columns.EventType], kind="stable").reset_index(drop=True)
    events[Columns.EventId] = [f"E{i:08d}" for i in range(len(events))]
    return events


def _add_dirt(events: pd.DataFrame, params: SyntheticParams, rng: np.random.Generator) -> pd.DataFrame:
    """Plant the faults real exports have, so the validation gate has something to catch."""
    n_bad = int(len(events) * params.dirty_share)
    if n_bad == 0:
        return events
    events = events.astype({Columns.User: object, Columns.EventType: object, Columns.Datetime: object})
    kinds = ("missing_user", "unknown_event", "negative_price", "future", "duplicate")
    rows = rng.choice(len(events), size=n_bad, replace=False)
    for row, kind in zip(rows, rng.choice(len(kinds), size=n_bad)):
        kind = kinds[kind]
        if kind == "missing_user":
            events.at[row, Columns.User] = None
        elif kind == "unknown_event":
            events.at[row, Columns.EventType] = "wishlist_click"
        elif kind == "negative_price":
            events.at[row, Columns.Price] = -abs(float(events.at[row, Columns.Price]))
        elif kind == "future":
            events.at[row, Columns.Datetime] = pd.Timestamp("2099-01-01")
    dup_rows = rows[: max(1, n_bad // len(kinds))]
    events = pd.concat([events, events.iloc[dup_rows]], ignore_index=True)
    return events


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max())
    return e / e.sum()


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))
