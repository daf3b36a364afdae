"""The one tracking state of the process: the chosen URI, the experiment, one store per database."""

from __future__ import annotations

from pathlib import Path

import modelport.tracking as mt
from modelport.tracking import TrackingClient, fluent
from modelport.tracking.state import tracking_state


def test_every_client_of_a_store_shares_one_store(tmp_path: Path) -> None:
    mt.set_tracking_uri(tmp_path / "shared")
    store = TrackingClient(tmp_path / "shared").store
    assert TrackingClient().store is store
    assert fluent.client().store is store
    assert tracking_state.store() is store
    assert TrackingClient(tmp_path / "shared", artifact_root=tmp_path / "elsewhere").store is not (
        store
    )


def test_reset_forgets_the_uri_and_the_experiment_and_closes_the_stores(tmp_path: Path) -> None:
    mt.set_tracking_uri(tmp_path / "chosen")
    mt.set_experiment("exp")
    store = tracking_state.store()
    tracking_state.reset()
    assert (tracking_state.tracking_uri, tracking_state.experiment_name) == (None, None)
    assert mt.get_tracking_uri() == str(tmp_path)  # the working directory again
    assert TrackingClient(tmp_path / "chosen").store is not store
