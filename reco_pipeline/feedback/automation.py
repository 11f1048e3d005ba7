"""The Dagster sensor and schedule that retrain the model with no one pressing a button.

Both launch the same job as `reco run`, with the settings of the last `reco run` in this project
home (saved as ``<home>/pipeline.yaml``), so a retrain uses the user's source and configuration.
"""

import time

from dagster import (
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunRequest,
    ScheduleEvaluationContext,
    SensorEvaluationContext,
    SkipReason,
    schedule,
    sensor,
)

from reco_pipeline.collect.resources import LandingZone
from reco_pipeline.feedback.policy import retrain_decision
from reco_pipeline.runner import active_run_config
from reco_pipeline.settings import ProjectPaths


def build_automation(job):
    @sensor(job=job, minimum_interval_seconds=30, default_status=DefaultSensorStatus.RUNNING,
            description="Retrains when events posted to the service pass landing.min_new_events, or when the "
                        "oldest waited landing.max_wait_minutes. The cursor is the last landed sequence number "
                        "included, so no batch is processed twice or skipped.")
    def landing_events_sensor(context: SensorEvaluationContext, landing: LandingZone):
        cursor = int(context.cursor or 0)
        status = landing.area().status(after_seq=cursor)
        decision = retrain_decision(status, landing.min_new_events, landing.max_wait_minutes, time.time())
        if not decision.retrain:
            return SkipReason(decision.reason)
        context.update_cursor(str(status.max_seq))
        return RunRequest(
            run_key=f"landing-{cursor + 1}-{status.max_seq}",
            run_config=active_run_config(ProjectPaths.resolve(landing.home).home),
            tags={"reco.trigger": "landing_events", "reco.landing_seq": f"{cursor + 1}-{status.max_seq}",
                  "reco.reason": decision.reason},
        )

    @schedule(job=job, cron_schedule="0 3 * * *", execution_timezone="UTC",
              default_status=DefaultScheduleStatus.RUNNING,
              description="Daily retrain at 03:00 UTC on everything collected so far (switch off in the UI).")
    def daily_retrain(context: ScheduleEvaluationContext, landing: LandingZone):
        return RunRequest(run_config=active_run_config(ProjectPaths.resolve(landing.home).home),
                          tags={"reco.trigger": "schedule"})

    return landing_events_sensor, daily_retrain
