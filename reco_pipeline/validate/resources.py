
import pandas as pd
from dagster import ConfigurableResource
from pydantic import Field

from reco_pipeline.schema import BUILTIN_EVENT_TYPES
from reco_pipeline.validate.rules import CleaningRules


class ValidationRules(ConfigurableResource):
    """What counts as a valid row; shared by the cleaning assets and the checks that verify them."""

    extra_event_types: list[str] = Field(default_factory=list,
                                         description="Event types allowed besides view, add_to_cart, purchase, "
                                                     "review and return (e.g. wishlist)")
    rating_min: float = Field(default=1.0, description="Lowest valid review rating")
    rating_max: float = Field(default=5.0, description="Highest valid review rating")
    future_tolerance_hours: float = Field(default=1.0,
                                          description="Timestamps later than now + this are quarantined (clock skew allowance)")
    max_quarantine_share: float = Field(default=0.5,
                                        description="Warn when more than this share of interaction rows is quarantined")
    min_positive_events: int = Field(default=50, description="Fewer valid positive events than this blocks training")

    def rules(self) -> CleaningRules:
        return CleaningRules(
            allowed_event_types=tuple(dict.fromkeys([*BUILTIN_EVENT_TYPES, *self.extra_event_types])),
            rating_min=self.rating_min,
            rating_max=self.rating_max,
            future_tolerance=pd.Timedelta(hours=self.future_tolerance_hours),
        )
