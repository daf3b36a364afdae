"""Records handed back by the store serialise to plain JSON (the CLI's --json uses them)."""

from __future__ import annotations

import json
from pathlib import Path

import modelport.tracking as mt


def test_runs_versions_and_model_infos_serialise_to_json(chat_model_file: Path) -> None:
    with mt.start_run() as run:
        mt.log_metric("loss", 0.5)
        info = mt.log_model("chat", python_model=chat_model_file, registered_model_name="bot")
    client = mt.TrackingClient()
    client.set_alias("bot", "production", 1)

    info_data = json.loads(json.dumps(info.to_dict()))
    assert info_data["model_uri"] == f"runs:/{run.info.run_id}/chat"
    assert info_data["signature"]["inputs"]  # the chat signature, as a dict
    assert (info.artifact_path, info.model_id) == ("chat", info.model_uuid)

    run_data = json.loads(json.dumps(mt.get_run(run.info.run_id).to_dict()))
    assert run_data["data"]["metrics"] == {"loss": 0.5}
    assert run_data["models"][0]["model_uri"] == info.model_uri

    version = client.get_model_version("bot", 1)
    assert json.loads(json.dumps(version.to_dict()))["aliases"] == ["production"]
    assert version.model_uri == "models:/bot/1"
    model = json.loads(json.dumps(client.get_registered_model("bot").to_dict()))
    assert (model["latest_version"], model["aliases"]) == (1, {"production": 1})
