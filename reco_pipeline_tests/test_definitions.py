from dagster import AssetKey

from reco_pipeline.definitions import JOB_NAME, defs


def test_definitions_load_with_six_groups_and_the_job():
    graph = defs.resolve_asset_graph()
    groups = {graph.get(k).group_name for k in graph.get_all_asset_keys()}
    assert groups == {"collect", "validate", "featurize", "train", "evaluate", "publish"}
    assert defs.resolve_job_def(JOB_NAME) is not None
    assert AssetKey("batch_recommendations") in graph.get_all_asset_keys()


def test_checks_that_make_training_meaningless_are_blocking():
    specs = {spec.name: spec for c in defs.asset_checks for spec in c.check_specs}
    for name in ("valid_interactions_meet_contract", "valid_interactions_reconcile_with_raw",
                 "valid_interactions_are_enough_to_train", "valid_users_meet_contract", "valid_items_meet_contract"):
        assert specs[name].blocking, name
    assert not specs["raw_interactions_meet_contract"].blocking


def test_every_asset_has_a_description():
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        assert graph.get(key).description, key


def test_sensor_and_schedule_are_registered_and_on_by_default():
    from dagster import DefaultScheduleStatus, DefaultSensorStatus

    sensor = defs.resolve_sensor_def("landing_events_sensor")
    schedule = defs.resolve_schedule_def("daily_retrain")
    assert sensor.job_name == JOB_NAME and schedule.job_name == JOB_NAME
    assert sensor.default_status == DefaultSensorStatus.RUNNING
    assert schedule.default_status == DefaultScheduleStatus.RUNNING
