"""Keeps the model the service answers with, and swaps it when the champion alias moves.

A request takes one reference to a fully loaded :class:`LoadedModel` and uses it to the end, so a
swap never leaves a request half on the old model and half on the new one, and a model is only
visible after it has loaded completely (Python rebinds the reference atomically).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from reco_pipeline.publish.registry import load_version
from reco_pipeline.publish.store import MlflowStore
from reco_pipeline.recommender import Recommender
from reco_pipeline.settings import CHAMPION_ALIAS

log = logging.getLogger(__name__)
KEY_METRICS = ("ndcg_at_10", "precision_at_10", "recall_at_10", "map_at_10", "coverage_at_10",
               "baseline_popularity_ndcg_at_10")


@dataclass(frozen=True)
class LoadedModel:
    recommender: Recommender
    name: str
    version: str
    alias: str
    run_id: str | None
    created_at: float
    loaded_at: float
    metrics: dict = field(default_factory=dict)

    def describe(self) -> dict:
        return {
            "name": self.name, "version": self.version, "alias": self.alias, "run_id": self.run_id,
            "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.created_at)),
            "loaded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.loaded_at)),
            "training_cutoff": self.recommender.info.get("cutoff"),
            "users": self.recommender.user_map.size, "items": self.recommender.item_map.size,
            "metrics": self.metrics,
            "ranking_stage": self.recommender.ranker.describe() if self.recommender.reranks else None,
        }


class ModelHolder:
    def __init__(self, store: MlflowStore, alias: str = CHAMPION_ALIAS, poll_seconds: float = 10.0):
        self.store, self.alias, self.poll_seconds = store, alias, poll_seconds
        self._current: LoadedModel | None = None
        self._load_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_error: str | None = None

    @property
    def current(self) -> LoadedModel | None:
        return self._current

    def refresh(self) -> bool:
        """Load the version behind the alias if it is not the one being served. True when swapped."""
        with self._load_lock:  # one load at a time; requests never wait on this lock
            mv = self.store.model_version_by_alias(self.alias)
            if mv is None or (self._current is not None and self._current.version == str(mv.version)):
                return False
            rec = load_version(self.store, str(mv.version))
            metrics = {}
            if mv.run_id:
                run_metrics = self.store.client().get_run(mv.run_id).data.metrics
                metrics = {k: run_metrics[k] for k in KEY_METRICS if k in run_metrics}
            self._current = LoadedModel(rec, self.store.model_name, str(mv.version), self.alias, mv.run_id,
                                        mv.creation_timestamp / 1000.0, time.time(), metrics)
            log.info("serving %s v%s", self.store.model_name, mv.version)
            return True

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.refresh()
                self.last_error = None
            except Exception as exc:  # keep serving the model we have; report the problem on /health
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("model refresh failed: %s", self.last_error)

    def start(self) -> None:
        if self._thread is None and self.poll_seconds > 0:
            self._thread = threading.Thread(target=self._loop, name="model-poller", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
