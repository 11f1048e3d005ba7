
from dagster import ConfigurableResource
from pydantic import Field

from reco_pipeline.collect.landing import LandingArea
from reco_pipeline.collect.raw import RawData
from reco_pipeline.collect.sources import load_source
from reco_pipeline.collect.synthetic import SyntheticParams
from reco_pipeline.settings import ProjectPaths


class DataSource(ConfigurableResource):
    """Where the retailer's data comes from. Edit it in the Launchpad under ``resources.data_source``."""

    kind: str = Field(default="synthetic", description="synthetic, online_retail or files")
    path: str | None = Field(default=None, description="online_retail: the CSV/CSV.gz/Parquet/XLSX file; "
                                                       "files: the folder with interactions/users/items files")
    synthetic_users: int = Field(default=SyntheticParams.n_users, description="synthetic: number of customers")
    synthetic_items: int = Field(default=SyntheticParams.n_items, description="synthetic: number of products")
    synthetic_days: int = Field(default=SyntheticParams.n_days, description="synthetic: days of history")
    synthetic_sessions_per_user: float = Field(default=SyntheticParams.sessions_per_user,
                                               description="synthetic: mean sessions per customer over the history")
    synthetic_dirty_share: float = Field(default=SyntheticParams.dirty_share,
                                         description="synthetic: share of rows made invalid on purpose")
    seed: int = Field(default=SyntheticParams.seed, description="synthetic: random seed (same seed, same data)")

    def synthetic_params(self) -> SyntheticParams:
        return SyntheticParams(n_users=self.synthetic_users, n_items=self.synthetic_items, n_days=self.synthetic_days,
                               sessions_per_user=self.synthetic_sessions_per_user,
                               dirty_share=self.synthetic_dirty_share, seed=self.seed)

    def load(self) -> RawData:
        return load_source(self.kind, self.path, self.synthetic_params())


class LandingZone(ConfigurableResource):
    """Events posted to the service (`POST /events`) wait here for the next retrain."""

    home: str | None = Field(default=None, description="Project home folder; default $RECO_HOME or ./.reco")
    include_in_training: bool = Field(default=True, description="Add landed events to the source's interactions")
    min_new_events: int = Field(default=100, description="Sensor: retrain once this many new events have landed")
    max_wait_minutes: float = Field(default=60.0, description="Sensor: retrain when the oldest unprocessed event is "
                                                              "this old, however few there are")

    def area(self) -> LandingArea:
        return LandingArea(ProjectPaths.resolve(self.home).landing)
