"""The tracking store on SQL: experiments, runs, params, metrics, tags, logged models.

:class:`SqlStore` adds these to the registry (``store/registry.py``) over one engine. Every public
method is one transaction (retried when SQLite is busy); it validates its input first and
returns detached records from :mod:`modelport.tracking.entities`. Unknown things raise
:class:`NotFoundError` naming them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from modelport.errors import AlreadyExistsError, InvalidRequestError, NotFoundError
from modelport.storage.objects import join
from modelport.tracking import search
from modelport.tracking.entities import (
    Experiment,
    LoggedModel,
    Metric,
    PagedList,
    Run,
    RunData,
    RunInfo,
    RunStatus,
)
from modelport.tracking.store.base import MAX_INTEGRITY_RETRIES, now_ms
from modelport.tracking.store.models import (
    SqlExperiment,
    SqlExperimentTag,
    SqlLoggedModel,
    SqlMetric,
    SqlParam,
    SqlRun,
    SqlTag,
)
from modelport.tracking.store.registry import RegistryStore
from modelport.tracking.store.run_search import runs_query
from modelport.tracking.validation import (
    MAX_PARAM_VALUE_LENGTH,
    check_int,
    check_key,
    check_metric_value,
    check_name,
    check_run_id,
    check_text,
)


def _experiment_id(value: Any) -> int:
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63:
        return value
    raise InvalidRequestError(
        f"Invalid experiment id {value!r}: an experiment id is a whole number",
        param="experiment_id",
    )


class SqlStore(RegistryStore):
    """Tracking data and the model registry in one SQL database."""

    # --- experiments --------------------------------------------------------------------------

    def _experiment_record(self, session: Session, row: SqlExperiment) -> Experiment:
        tags = {
            t.key: t.value
            for t in session.scalars(
                select(SqlExperimentTag).where(SqlExperimentTag.experiment_id == row.experiment_id)
            )
        }
        return Experiment(
            experiment_id=str(row.experiment_id),
            name=row.name,
            artifact_location=row.artifact_location,
            lifecycle_stage=row.lifecycle_stage,
            creation_time=row.creation_time,
            last_update_time=row.last_update_time,
            tags=tags,
        )

    def create_experiment(
        self, name: str, tags: Mapping[str, Any] | None = None, artifact_location: str | None = None
    ) -> str:
        check_name(name, "experiment name")
        clean_tags = self._check_tags(tags)

        def work(session: Session) -> str:
            if session.scalar(select(SqlExperiment).where(SqlExperiment.name == name)):
                raise AlreadyExistsError(f"Experiment '{name}' already exists")
            stamp = now_ms()
            row = SqlExperiment(
                name=name,
                artifact_location="",
                lifecycle_stage="active",
                creation_time=stamp,
                last_update_time=stamp,
            )
            session.add(row)
            session.flush()
            row.artifact_location = artifact_location or join(
                self.artifact_root, str(row.experiment_id)
            )
            session.add_all(
                SqlExperimentTag(experiment_id=row.experiment_id, key=k, value=v)
                for k, v in clean_tags.items()
            )
            return str(row.experiment_id)

        result: str = self._write(work)
        return result

    def get_experiment(self, experiment_id: str | int) -> Experiment:
        key = _experiment_id(experiment_id)

        def work(session: Session) -> Experiment:
            row = session.get(SqlExperiment, key)
            if row is None:
                raise NotFoundError(f"Experiment with id '{experiment_id}' not found")
            return self._experiment_record(session, row)

        result: Experiment = self._read(work)
        return result

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        check_name(name, "experiment name")

        def work(session: Session) -> Experiment | None:
            row = session.scalar(select(SqlExperiment).where(SqlExperiment.name == name))
            return self._experiment_record(session, row) if row else None

        result: Experiment | None = self._read(work)
        return result

    def get_or_create_experiment(self, name: str) -> Experiment:
        for _ in range(MAX_INTEGRITY_RETRIES):
            found = self.get_experiment_by_name(name)
            if found is not None:
                return found
            try:
                return self.get_experiment(self.create_experiment(name))
            except AlreadyExistsError:
                continue  # created by someone else in the meantime
        raise NotFoundError(f"Experiment '{name}' could not be created or found")

    def list_experiments(self) -> list[Experiment]:
        def work(session: Session) -> list[Experiment]:
            rows = session.scalars(select(SqlExperiment).order_by(SqlExperiment.experiment_id))
            return [self._experiment_record(session, row) for row in rows]

        result: list[Experiment] = self._read(work)
        return result

    def count_runs(self) -> dict[str, int]:
        """Experiment id → how many runs it holds (an experiment without runs is left out)."""
        return {key: count for key, (count, _) in self.run_activity().items()}

    def run_activity(self) -> dict[str, tuple[int, int]]:
        """Experiment id → (its number of runs, the latest start or end time of one, in ms);
        an experiment without runs is left out. One query, counted by the database."""

        def work(session: Session) -> dict[str, tuple[int, int]]:
            latest = func.max(func.coalesce(SqlRun.end_time, SqlRun.start_time))
            rows = session.execute(
                select(SqlRun.experiment_id, func.count(), latest).group_by(SqlRun.experiment_id)
            )
            return {str(key): (count, int(last or 0)) for key, count, last in rows}

        result: dict[str, tuple[int, int]] = self._read(work)
        return result

    # --- runs ---------------------------------------------------------------------------------

    @staticmethod
    def _run_row(session: Session, run_id: str, *, lock: bool = False) -> SqlRun:
        check_run_id(run_id)
        query = select(SqlRun).where(SqlRun.run_id == run_id)
        if lock:
            query = query.with_for_update()
        row = session.scalar(query)
        if row is None:
            raise NotFoundError(f"Run '{run_id}' not found", param="run_id")
        return row

    def create_run(
        self,
        experiment_id: str | int,
        run_name: str | None = None,
        tags: Mapping[str, Any] | None = None,
        parent_run_id: str | None = None,
        start_time: int | None = None,
    ) -> Run:
        key = _experiment_id(experiment_id)
        run_id = uuid.uuid4().hex
        if run_name is not None:
            check_name(run_name, "run name")
        clean_tags = self._check_tags(tags)
        if parent_run_id is not None:
            check_run_id(parent_run_id)

        def work(session: Session) -> None:
            experiment = session.get(SqlExperiment, key)
            if experiment is None:
                raise NotFoundError(f"Experiment with id '{experiment_id}' not found")
            if parent_run_id is not None:
                self._run_row(session, parent_run_id)
            session.add(
                SqlRun(
                    run_id=run_id,
                    experiment_id=key,
                    run_name=run_name or f"run-{run_id[:8]}",
                    status=RunStatus.RUNNING,
                    start_time=start_time if start_time is not None else now_ms(),
                    end_time=None,
                    artifact_uri=join(experiment.artifact_location, run_id, "artifacts"),
                    parent_run_id=parent_run_id,
                )
            )
            session.flush()
            session.add_all(SqlTag(run_id=run_id, key=k, value=v) for k, v in clean_tags.items())

        self._write(work)
        return self.get_run(run_id)

    def _runs_records(self, session: Session, rows: Sequence[SqlRun]) -> list[Run]:
        if not rows:
            return []
        ids = [row.run_id for row in rows]
        params: dict[str, dict[str, str]] = {i: {} for i in ids}
        tags: dict[str, dict[str, str]] = {i: {} for i in ids}
        metrics: dict[str, dict[str, float]] = {i: {} for i in ids}
        models: dict[str, list[LoggedModel]] = {i: [] for i in ids}
        for chunk_start in range(0, len(ids), 500):
            chunk = ids[chunk_start : chunk_start + 500]
            for p in session.scalars(select(SqlParam).where(SqlParam.run_id.in_(chunk))):
                params[p.run_id][p.key] = p.value
            for t in session.scalars(select(SqlTag).where(SqlTag.run_id.in_(chunk))):
                tags[t.run_id][t.key] = t.value
            ranked = (
                select(
                    SqlMetric.run_id,
                    SqlMetric.key,
                    SqlMetric.value,
                    func.row_number()
                    .over(
                        partition_by=(SqlMetric.run_id, SqlMetric.key),
                        order_by=(
                            SqlMetric.step.desc(),
                            SqlMetric.timestamp.desc(),
                            SqlMetric.id.desc(),
                        ),
                    )
                    .label("rank"),
                )
                .where(SqlMetric.run_id.in_(chunk))
                .subquery()
            )
            for run_id, key, value in session.execute(
                select(ranked.c.run_id, ranked.c.key, ranked.c.value).where(ranked.c.rank == 1)
            ):
                metrics[run_id][key] = value
            for m in session.scalars(
                select(SqlLoggedModel)
                .where(SqlLoggedModel.run_id.in_(chunk))
                .order_by(SqlLoggedModel.creation_time)
            ):
                models[m.run_id].append(
                    LoggedModel(
                        model_id=m.model_id,
                        run_id=m.run_id,
                        name=m.name,
                        flavor=m.flavor,
                        task=m.task,
                        model_uri=f"runs:/{m.run_id}/{m.name}",
                        creation_time=m.creation_time,
                    )
                )
        return [
            Run(
                info=RunInfo(
                    run_id=row.run_id,
                    experiment_id=str(row.experiment_id),
                    run_name=row.run_name,
                    status=row.status,
                    start_time=row.start_time,
                    end_time=row.end_time,
                    artifact_uri=row.artifact_uri,
                    parent_run_id=row.parent_run_id,
                ),
                data=RunData(
                    params=params[row.run_id], metrics=metrics[row.run_id], tags=tags[row.run_id]
                ),
                models=tuple(models[row.run_id]),
            )
            for row in rows
        ]

    def get_run(self, run_id: str) -> Run:
        def work(session: Session) -> Run:
            return self._runs_records(session, [self._run_row(session, run_id)])[0]

        result: Run = self._read(work)
        return result

    def set_terminated(
        self, run_id: str, status: str = RunStatus.FINISHED, end_time: int | None = None
    ) -> None:
        if status not in RunStatus.ALL:
            raise InvalidRequestError(
                f"Invalid run status {status!r}; accepted: {', '.join(RunStatus.ALL)}",
                param="status",
            )

        def work(session: Session) -> None:
            row = self._run_row(session, run_id)
            row.status = status
            row.end_time = None if status == RunStatus.RUNNING else (end_time or now_ms())

        self._write(work)

    def log_batch(
        self,
        run_id: str,
        metrics: Iterable[Metric] = (),
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> None:
        """Log params, metrics and tags in one transaction (all or nothing)."""
        check_run_id(run_id)
        clean_params = {
            check_key(k, "param key"): check_text(v, f"param '{k}' value", MAX_PARAM_VALUE_LENGTH)
            for k, v in (params or {}).items()
        }
        clean_tags = self._check_tags(tags)
        clean_metrics = [
            Metric(
                key=check_key(m.key, "metric key"),
                value=check_metric_value(m.key, m.value),
                step=check_int(m.step, "step"),
                timestamp=check_int(m.timestamp, "timestamp", minimum=0),
            )
            for m in metrics
        ]

        def work(session: Session) -> None:
            self._run_row(session, run_id)
            if clean_params:
                existing = {
                    p.key: p.value
                    for p in session.scalars(
                        select(SqlParam).where(
                            SqlParam.run_id == run_id, SqlParam.key.in_(list(clean_params))
                        )
                    )
                }
                for key, value in clean_params.items():
                    if key in existing:
                        if existing[key] != value:
                            raise InvalidRequestError(
                                f"Param '{key}' of run '{run_id}' is already {existing[key]!r}; "
                                f"params cannot change (got {value!r}): log a new run, or a metric "
                                "or tag",
                                param="params",
                            )
                    else:
                        session.add(SqlParam(run_id=run_id, key=key, value=value))
            for key, value in clean_tags.items():
                tag = session.get(SqlTag, (run_id, key))
                if tag is None:
                    session.add(SqlTag(run_id=run_id, key=key, value=value))
                else:
                    tag.value = value
            session.add_all(
                SqlMetric(
                    run_id=run_id, key=m.key, value=m.value, step=m.step, timestamp=m.timestamp
                )
                for m in clean_metrics
            )

        self._write(work)

    def delete_tag(self, run_id: str, key: str) -> None:
        def work(session: Session) -> None:
            self._run_row(session, run_id)
            tag = session.get(SqlTag, (run_id, key))
            if tag is None:
                raise NotFoundError(f"Run '{run_id}' has no tag '{key}'", param="key")
            session.delete(tag)

        self._write(work)

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        check_key(key, "metric key")

        def work(session: Session) -> list[Metric]:
            self._run_row(session, run_id)
            rows = session.scalars(
                select(SqlMetric)
                .where(SqlMetric.run_id == run_id, SqlMetric.key == key)
                .order_by(SqlMetric.step, SqlMetric.timestamp, SqlMetric.id)
            )
            return [Metric(r.key, r.value, r.step, r.timestamp) for r in rows]

        result: list[Metric] = self._read(work)
        return result

    def search_runs(
        self,
        experiment_ids: Sequence[str | int] | None = None,
        filter_string: str | None = None,
        order_by: Sequence[str] | str | None = None,
        max_results: int = 1000,
        page_token: str | None = None,
    ) -> PagedList[Run]:
        """One page of the runs matching ``filter_string``, ordered, chosen by the database."""
        clauses = search.parse_filter(filter_string)
        order = search.parse_order_by(order_by)
        check_int(max_results, "max_results", minimum=1)
        offset = search.parse_page_token(page_token)
        keys = None if experiment_ids is None else [_experiment_id(e) for e in experiment_ids]
        query = runs_query(keys, clauses, order, self.engine.dialect.name)
        # One run more than the page tells whether another page follows.
        query = query.offset(offset).limit(max_results + 1)

        def work(session: Session) -> PagedList[Run]:
            for key in keys or ():
                if session.get(SqlExperiment, key) is None:
                    raise NotFoundError(f"Experiment with id '{key}' not found")
            rows = list(session.scalars(query))
            token = search.page_token(offset + max_results) if len(rows) > max_results else None
            return PagedList(self._runs_records(session, rows[:max_results]), token)

        result: PagedList[Run] = self._read(work)
        return result

    # --- logged models ------------------------------------------------------------------------

    def create_logged_model(
        self, run_id: str, name: str, model_id: str, flavor: str, task: str | None
    ) -> None:
        def work(session: Session) -> None:
            self._run_row(session, run_id)
            if session.scalar(
                select(SqlLoggedModel).where(
                    SqlLoggedModel.run_id == run_id, SqlLoggedModel.name == name
                )
            ):
                raise AlreadyExistsError(f"Run '{run_id}' already has a model named '{name}'")
            session.add(
                SqlLoggedModel(
                    model_id=model_id,
                    run_id=run_id,
                    name=name,
                    flavor=flavor,
                    task=task,
                    creation_time=now_ms(),
                )
            )

        self._write(work)

    def delete_logged_model(self, model_id: str) -> None:
        self._write(
            lambda session: session.execute(
                delete(SqlLoggedModel).where(SqlLoggedModel.model_id == model_id)
            )
        )
