"""The HTTP API. ``create_app`` builds it around a registry store and a landing area."""

from __future__ import annotations

import hashlib
import json
import time
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from typing import Annotated, Any

import numpy as np
from fastapi import Body, FastAPI, HTTPException, Query
import orjson
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from reco_pipeline.collect.landing import LandingArea
from reco_pipeline.publish.store import MlflowStore
from reco_pipeline.recommender import FALLBACK_POPULARITY, Recommender
from reco_pipeline.schema import BUILTIN_EVENT_TYPES
from reco_pipeline.serve.holder import LoadedModel, ModelHolder
from reco_pipeline.settings import CHAMPION_ALIAS

MAX_K = 1000
MAX_EVENTS_PER_REQUEST = 10_000
MAX_BODY_BYTES = 5_000_000


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    event_id: str | None = Field(default=None, min_length=1, max_length=200,
                                 description="Client id; a repeated id is accepted once. If absent, derived from "
                                             "the event's content, so an identical retry is still a no-op.")
    user_id: str = Field(min_length=1, max_length=200)
    item_id: str = Field(min_length=1, max_length=200)
    event_type: str = Field(min_length=1, max_length=50)
    timestamp: datetime | None = Field(default=None, description="ISO 8601; default: when the server received it")
    quantity: float | None = None
    price: float | None = None
    rating: float | None = None

    @field_validator("timestamp")
    @classmethod
    def _utc_naive(cls, v: datetime | None) -> datetime | None:
        # Canonical time is naive UTC; an offset-aware timestamp is converted, not dropped.
        if v is not None and v.tzinfo is not None:
            v = v.astimezone(timezone.utc).replace(tzinfo=None)
        return v


def fast_json(payload: dict) -> Response:
    """orjson serialises the hot responses several times faster than the standard library."""
    return Response(orjson.dumps(payload), media_type="application/json")


class ItemOut(BaseModel):
    item_id: str
    rank: int
    score: float
    title: str | None = None
    category: str | None = None


class RecommendationsOut(BaseModel):
    user_id: str | None
    model_name: str
    model_version: str
    fallback: str | None = Field(description="null when the model answered; 'popularity' when it knew nothing")
    source: str
    items: list[ItemOut]


class SessionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict, description="Known attributes, e.g. country, age_band")
    recent_items: list[str] = Field(default_factory=list, description="Items viewed or bought in this session")
    k: int = Field(default=10, ge=1, le=MAX_K)
    categories: list[str] = Field(default_factory=list)
    exclude_categories: list[str] = Field(default_factory=list)
    exclude_items: list[str] = Field(default_factory=list)


class NewItemRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    attributes: dict[str, Any] = Field(description="The new product's attributes: title, category, price, ...")
    k: int = Field(default=10, ge=1, le=MAX_K)


class BodySizeLimit:
    """Plain ASGI middleware (Starlette's ``@app.middleware`` wrapper costs more than scoring does).

    Refuses bodies whose declared length is over the limit, and bodies that turn out longer while
    streaming, with a 413 and a JSON reason.
    """

    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            return await self._refuse(send, declared.decode())
        seen = 0

        async def limited_receive():
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise _TooLarge()
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _TooLarge:
            await self._refuse(send, f"more than {self.max_bytes}")

    async def _refuse(self, send, size: str):
        body = orjson.dumps({"detail": f"payload too large: {size} bytes (limit {self.max_bytes})"})
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


def _split(csv: str | None) -> list[str]:
    return [s.strip() for s in csv.split(",") if s.strip()] if csv else []


def create_app(store: MlflowStore, landing: LandingArea, *, alias: str = CHAMPION_ALIAS,
               poll_seconds: float = 10.0, allowed_event_types: tuple[str, ...] = BUILTIN_EVENT_TYPES) -> FastAPI:
    holder = ModelHolder(store, alias, poll_seconds)
    started = time.time()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        try:
            holder.refresh()
        except Exception as exc:  # start anyway: /health says why, the poller keeps trying
            holder.last_error = f"{type(exc).__name__}: {exc}"
        holder.start()
        yield
        holder.stop()

    app = FastAPI(title="reco-pipeline recommendations", version="1", lifespan=lifespan,
                  description="Real-time recommendations from the MLflow champion; events in for the feedback loop.")
    app.state.holder = holder

    app.add_middleware(BodySizeLimit, max_bytes=MAX_BODY_BYTES)

    def model() -> LoadedModel:
        m = holder.current
        if m is None:
            raise HTTPException(503, detail=f"no model under '{store.model_uri(alias)}' yet; run `reco run` first")
        return m

    def mask_for(rec: Recommender, categories: list[str], exclude_categories: list[str]):
        unknown = sorted(set(categories + exclude_categories) - set(rec.categories))
        if unknown:
            raise HTTPException(400, detail=f"unknown categor{'y' if len(unknown) == 1 else 'ies'} {unknown}; "
                                            f"known: {rec.categories}")
        return rec.category_mask(categories, exclude_categories)

    def answer(m: LoadedModel, user_id: str | None, idx: np.ndarray, scores: np.ndarray, source: str) -> dict:
        rec = m.recommender
        ids = rec.item_map.external_ids[idx]
        titles = rec.item_titles[idx] if rec.item_titles is not None else [None] * len(idx)
        cats = rec.item_categories[idx]
        return {
            "user_id": user_id, "model_name": m.name, "model_version": m.version,
            "fallback": FALLBACK_POPULARITY if source == FALLBACK_POPULARITY else None, "source": source,
            "items": [{"item_id": i, "rank": r + 1, "score": float(s), "title": t, "category": c}
                      for r, (i, s, t, c) in enumerate(zip(ids, scores, titles, cats))],
        }

    # The hot endpoints are `async`: scoring takes tens of microseconds, far less than a hop to
    # the thread pool, and they return a ready Response (the response_model stays for the
    # OpenAPI schema; the payload is built to match it).
    @app.get("/recommendations/{user_id}", response_model=RecommendationsOut)
    async def recommendations(user_id: str, k: Annotated[int, Query(ge=1, le=MAX_K)] = 10,
                        exclude_purchased: bool = True,
                        categories: Annotated[str | None, Query(description="comma-separated: only these")] = None,
                        exclude_categories: Annotated[str | None, Query(description="comma-separated")] = None,
                        exclude_items: Annotated[str | None, Query(description="comma-separated item ids, "
                                                                               "e.g. out of stock")] = None,
                        mode: Annotated[str, Query(pattern="^(discovery|buy_again)$",
                                                   description="discovery (default): products new to the customer; "
                                                               "buy_again: re-orders allowed, ranked by the learned "
                                                               "re-order model (how often, how recently)")]
                        = "discovery",
                        repeat_weight: Annotated[float | None, Query(ge=0, le=100, description=(
                            "buy_again only: use the hand-set blend, model score + weight x log(1 + times bought), "
                            "instead of the learned ranking"))] = None):
        m = model()
        rec = m.recommender
        mask = mask_for(rec, _split(categories), _split(exclude_categories))
        again = mode == "buy_again"
        idx, scores, source = rec.recommend_one(user_id, k, exclude_purchased=exclude_purchased and not again,
                                                exclude_items=_split(exclude_items), item_mask=mask,
                                                mode=mode, repeat_weight=repeat_weight if again else None)
        return fast_json(answer(m, user_id, idx, scores, source))

    @app.post("/recommendations", response_model=RecommendationsOut)
    async def session_recommendations(req: SessionRequest):
        m = model()
        rec = m.recommender
        mask = mask_for(rec, req.categories, req.exclude_categories)
        exclude = [*req.exclude_items, *req.recent_items]
        if req.user_id is not None and req.user_id in rec.user_map and not req.attributes and not req.recent_items:
            idx, scores, source = rec.recommend_one(req.user_id, req.k, exclude_items=exclude, item_mask=mask)
        else:
            vector, _ = rec.user_vector_from(req.attributes, req.recent_items)
            idx, scores, source = rec.recommend_one(None, req.k, vector=vector, exclude_items=exclude, item_mask=mask)
        return fast_json(answer(m, req.user_id, idx, scores, source))

    @app.get("/similar-items/{item_id}")
    async def similar_items(item_id: str, k: Annotated[int, Query(ge=1, le=MAX_K)] = 10):
        m = model()
        if item_id not in m.recommender.item_map:
            raise HTTPException(404, detail=f"unknown item '{item_id}'; for a new product POST its attributes "
                                            "to /similar-items")
        return _similar(m, m.recommender.similar_items(item_id, k), item_id)

    @app.post("/similar-items")
    def similar_new_item(req: NewItemRequest):
        m = model()
        vector = m.recommender.item_vector_from(req.attributes)
        if vector is None:
            raise HTTPException(400, detail="none of these attributes is known to the model "
                                            f"(attribute features: {m.recommender.item_encoder.names[:10] if m.recommender.item_encoder else []}...)")
        return _similar(m, m.recommender.similar_items(k=req.k, vector=vector), None)

    def _similar(m: LoadedModel, frame, item_id):
        rec = m.recommender
        idx = rec.item_map.to_internal(frame["item_id"])
        return {"item_id": item_id, "model_name": m.name, "model_version": m.version,
                "items": [{"item_id": str(i), "rank": int(r), "score": float(s),
                           "title": rec.item_titles[j] if rec.item_titles is not None else None,
                           "category": rec.item_categories[j]}
                          for i, r, s, j in zip(frame["item_id"], frame["rank"], frame["score"], idx)]}

    @app.post("/events")
    def post_events(payload: Annotated[EventIn | list[EventIn], Body()]):
        events = payload if isinstance(payload, list) else [payload]
        if not events:
            raise HTTPException(400, detail="no events in the request")
        if len(events) > MAX_EVENTS_PER_REQUEST:
            raise HTTPException(413, detail=f"{len(events)} events in one request; the limit is {MAX_EVENTS_PER_REQUEST}")
        bad = sorted({e.event_type for e in events} - set(allowed_event_types))
        if bad:
            raise HTTPException(422, detail=f"unknown event_type {bad}; allowed: {list(allowed_event_types)}")
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        rows = []
        for e in events:
            row = e.model_dump()
            row["timestamp"] = row["timestamp"] or now
            if not row["event_id"]:
                content = json.dumps({k: v for k, v in row.items() if k != "event_id"}, default=str, sort_keys=True)
                row["event_id"] = "h-" + hashlib.sha256(content.encode()).hexdigest()[:32]
            rows.append(row)
        accepted, duplicates = landing.append(rows)  # committed to disk before we answer
        return {"accepted": len(accepted), "duplicates": len(duplicates), "event_ids": [r["event_id"] for r in rows]}

    @app.get("/health")
    async def health():
        m = holder.current
        return {"status": "ok" if m else "no_model", "model_version": m.version if m else None,
                "uptime_seconds": round(time.time() - started, 1), "last_refresh_error": holder.last_error}

    @app.get("/model")
    def model_info():
        return model().describe()

    return app
