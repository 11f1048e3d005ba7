"""Asset storage: DataFrames as Parquet (readable by anything), other values pickled.

Files live under ``<home>/storage/<asset_key>.parquet|.pkl``; writes go to a temporary name and are
renamed, so a crash never leaves half a file for the next run to read.
"""


import pickle
from pathlib import Path

import pandas as pd
from dagster import ConfigurableIOManager, InputContext, OutputContext
from pydantic import Field

from reco_pipeline.settings import ProjectPaths


class RecoIOManager(ConfigurableIOManager):
    home: str | None = Field(default=None, description="Project home folder; default $RECO_HOME or ./.reco")

    def _base(self, context) -> Path:
        key = context.asset_key if context.has_asset_key else None
        parts = key.path if key is not None else [context.step_key, context.name]
        return ProjectPaths.resolve(self.home).storage.joinpath(*parts)

    def handle_output(self, context: OutputContext, obj) -> None:
        base = self._base(context)
        base.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(obj, pd.DataFrame):
            path, stale = base.with_suffix(".parquet"), base.with_suffix(".pkl")
            tmp = path.with_suffix(".parquet.tmp")
            obj.to_parquet(tmp, index=False)
        else:
            path, stale = base.with_suffix(".pkl"), base.with_suffix(".parquet")
            tmp = path.with_suffix(".pkl.tmp")
            with open(tmp, "wb") as fh:
                pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(path)
        stale.unlink(missing_ok=True)
        context.add_output_metadata({"path": str(path)})

    def load_input(self, context: InputContext):
        base = self._base(context.upstream_output if context.upstream_output is not None else context)
        if base.with_suffix(".parquet").exists():
            return pd.read_parquet(base.with_suffix(".parquet"))
        if base.with_suffix(".pkl").exists():
            with open(base.with_suffix(".pkl"), "rb") as fh:
                return pickle.load(fh)
        raise FileNotFoundError(f"no stored value for {context.asset_key.to_user_string()} under {base.parent}; "
                                "materialize it first")
