"""The tracking store on SQL: experiments, runs, params, metrics, tags, logged models, registry.

One class, :class:`SqlStore`, over an SQLAlchemy engine. Every public method is one transaction
(retried when SQLite is busy); it validates its input first and returns detached records from
:mod:`modelport.tracking.entities`. Unknown things raise :class:`NotFoundError` naming them.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from modelport.errors import AlreadyExistsError, InvalidRequestError, NotFoundError
from modelport.tracking import search
from modelport.tracking.entities import (
    Experiment,
    LoggedModel,
    Metric,
    ModelVersion,
    RegisteredModel,
    Run,
    RunData,
    RunInfo,
    RunStatus,
)
from modelport.tracking.store.engine import (
    SessionFactory,
    StoreError,
    ensure_schema,
    with_retries,
)
from modelport.tracking.store.models import (
    SqlExperiment,
    SqlExperimentTag,
    SqlLoggedModel,
    SqlMetric,
    SqlModelAlias,
    SqlModelVersion,
    SqlModelVersionTag,
    SqlParam,
    SqlRegisteredModel,
    SqlRegisteredModelTag,
    SqlRun,
    SqlTag,
)
from modelport.tracking.validation import (
    MAX_DESCRIPTION_LENGTH,
    MAX_PARAM_VALUE_LENGTH,
    MAX_TAG_VALUE_LENGTH,
    check_alias,
    check_int,
    check_key,
    check_metric_value,
    check_name,
    check_run_id,
    check_text,
    check_version,
)

MAX_INTEGRITY_RETRIES = 5


def _store_failed(exc: SQLAlchemyError) -> StoreError:
    reason = getattr(exc, "orig", None) or exc
    return StoreError(f"The tracking database failed: {type(reason).__name__}: {reason}")


def now_ms() -> int:
    return int(time.time() * 1000)


def _experiment_id(value: Any) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise InvalidRequestError(
        f"Invalid experiment id {value!r}: an experiment id is a whole number",
        param="experiment_id",
    )


class SqlStore:
    """Tracking data and the model registry in one SQL database."""

    def __init__(self, engine: Engine, artifact_root: Path) -> None:
        self.engine = engine
        self.artifact_root = artifact_root
        ensure_schema(engine)
        self.sessions = SessionFactory(engine)

    # --- plumbing -----------------------------------------------------------------------------

    def _write(self, work: Any, *, conflict_retries: int = 0) -> Any:
        """Run ``work(session)`` in one write transaction, retried while the database is busy.

        A unique-key clash with a concurrent writer is retried ``conflict_retries`` times, then
        reported as :class:`AlreadyExistsError`; any other database failure as ``StoreError``.
        """

        def attempt() -> Any:
            with self.sessions.write() as session:
                return work(session)

        for attempt_number in range(conflict_retries + 1):
            try:
                return with_retries(self.engine, attempt)
            except IntegrityError as exc:
                if attempt_number < conflict_retries:
                    continue
                raise AlreadyExistsError(
                    f"The tracking store refused the change (a concurrent or conflicting "
                    f"write): {exc.orig}"
                ) from exc
            except SQLAlchemyError as exc:
                raise _store_failed(exc) from exc
        raise AssertionError("unreachable")

    def _read(self, work: Any) -> Any:
        def attempt() -> Any:
            with self.sessions.read() as session:
                return work(session)

        try:
            return with_retries(self.engine, attempt)
        except SQLAlchemyError as exc:
            raise _store_failed(exc) from exc

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
            row.artifact_location = artifact_location or str(
                self.artifact_root / str(row.experiment_id)
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

    # --- runs ---------------------------------------------------------------------------------

    @staticmethod
    def _check_tags(tags: Mapping[str, Any] | None) -> dict[str, str]:
        if tags is None:
            return {}
        if not isinstance(tags, Mapping):
            raise InvalidRequestError(
                f"tags must be a dict of key → value, got {type(tags).__name__}", param="tags"
            )
        return {
            check_key(k, "tag key"): check_text(v, f"tag '{k}' value", MAX_TAG_VALUE_LENGTH)
            for k, v in tags.items()
        }

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
                    artifact_uri=str(Path(experiment.artifact_location) / run_id / "artifacts"),
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
    ) -> list[Run]:
        clauses = search.parse_filter(filter_string)
        order = search.parse_order_by(order_by)
        check_int(max_results, "max_results", minimum=1)
        keys = None if experiment_ids is None else [_experiment_id(e) for e in experiment_ids]

        def work(session: Session) -> list[Run]:
            if keys is not None:
                for key in keys:
                    if session.get(SqlExperiment, key) is None:
                        raise NotFoundError(f"Experiment with id '{key}' not found")
            query = select(SqlRun)
            if keys is not None:
                query = query.where(SqlRun.experiment_id.in_(keys))
            for clause in clauses:
                # Narrow in SQL where it is cheap; everything is checked again in Python.
                if (
                    clause.entity == "attributes"
                    and clause.key in ("status", "run_id")
                    and clause.op in ("=", "==")
                ):
                    query = query.where(getattr(SqlRun, clause.key) == clause.value)
            return self._runs_records(session, list(session.scalars(query)))

        runs: list[Run] = self._read(work)
        runs = [r for r in runs if all(c.matches(r) for c in clauses)]
        return search.sort_runs(runs, order)[:max_results]

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

    # --- registry -----------------------------------------------------------------------------

    @staticmethod
    def _model_row(session: Session, name: str, *, lock: bool = False) -> SqlRegisteredModel:
        check_name(name, "registered model name")
        query = select(SqlRegisteredModel).where(SqlRegisteredModel.name == name)
        if lock:
            query = query.with_for_update()
        row = session.scalar(query)
        if row is None:
            raise NotFoundError(f"Registered model '{name}' not found", param="name")
        return row

    @staticmethod
    def _version_row(session: Session, name: str, version: int) -> SqlModelVersion:
        row = session.get(SqlModelVersion, (name, version))
        if row is None:
            raise NotFoundError(f"Model '{name}' has no version {version}", param="version")
        return row

    def _registered_record(self, session: Session, row: SqlRegisteredModel) -> RegisteredModel:
        latest = session.scalar(
            select(func.max(SqlModelVersion.version)).where(SqlModelVersion.name == row.name)
        )
        return RegisteredModel(
            name=row.name,
            description=row.description,
            creation_time=row.creation_time,
            last_update_time=row.last_update_time,
            latest_version=latest,
            tags={
                t.key: t.value
                for t in session.scalars(
                    select(SqlRegisteredModelTag).where(SqlRegisteredModelTag.name == row.name)
                )
            },
            aliases={
                a.alias: a.version
                for a in session.scalars(
                    select(SqlModelAlias)
                    .where(SqlModelAlias.name == row.name)
                    .order_by(SqlModelAlias.alias)
                )
            },
        )

    def _version_record(self, session: Session, row: SqlModelVersion) -> ModelVersion:
        return ModelVersion(
            name=row.name,
            version=row.version,
            source=row.source,
            run_id=row.run_id,
            storage_location=row.storage_location,
            model_id=row.model_id,
            description=row.description,
            creation_time=row.creation_time,
            last_update_time=row.last_update_time,
            tags={
                t.key: t.value
                for t in session.scalars(
                    select(SqlModelVersionTag).where(
                        SqlModelVersionTag.name == row.name,
                        SqlModelVersionTag.version == row.version,
                    )
                )
            },
            aliases=tuple(
                session.scalars(
                    select(SqlModelAlias.alias)
                    .where(SqlModelAlias.name == row.name, SqlModelAlias.version == row.version)
                    .order_by(SqlModelAlias.alias)
                )
            ),
        )

    def create_registered_model(
        self, name: str, description: str = "", tags: Mapping[str, Any] | None = None
    ) -> RegisteredModel:
        check_name(name, "registered model name")
        check_text(description, "description", MAX_DESCRIPTION_LENGTH)
        clean_tags = self._check_tags(tags)

        def work(session: Session) -> RegisteredModel:
            if session.get(SqlRegisteredModel, name) is not None:
                raise AlreadyExistsError(f"Registered model '{name}' already exists")
            stamp = now_ms()
            row = SqlRegisteredModel(
                name=name, description=description, creation_time=stamp, last_update_time=stamp
            )
            session.add(row)
            session.flush()
            session.add_all(
                SqlRegisteredModelTag(name=name, key=k, value=v) for k, v in clean_tags.items()
            )
            session.flush()
            return self._registered_record(session, row)

        result: RegisteredModel = self._write(work)
        return result

    def get_registered_model(self, name: str) -> RegisteredModel:
        result: RegisteredModel = self._read(
            lambda session: self._registered_record(session, self._model_row(session, name))
        )
        return result

    def list_registered_models(self) -> list[RegisteredModel]:
        def work(session: Session) -> list[RegisteredModel]:
            rows = session.scalars(select(SqlRegisteredModel).order_by(SqlRegisteredModel.name))
            return [self._registered_record(session, row) for row in rows]

        result: list[RegisteredModel] = self._read(work)
        return result

    def update_registered_model(self, name: str, description: str) -> RegisteredModel:
        check_text(description, "description", MAX_DESCRIPTION_LENGTH)

        def work(session: Session) -> RegisteredModel:
            row = self._model_row(session, name)
            row.description = description
            row.last_update_time = now_ms()
            return self._registered_record(session, row)

        result: RegisteredModel = self._write(work)
        return result

    def delete_registered_model(self, name: str) -> None:
        def work(session: Session) -> None:
            self._model_row(session, name)
            for table in (
                SqlModelAlias,
                SqlModelVersionTag,
                SqlModelVersion,
                SqlRegisteredModelTag,
            ):
                session.execute(delete(table).where(table.name == name))
            session.execute(delete(SqlRegisteredModel).where(SqlRegisteredModel.name == name))

        self._write(work)

    def set_registered_model_tag(self, name: str, key: str, value: Any) -> None:
        clean = self._check_tags({key: value})

        def work(session: Session) -> None:
            self._model_row(session, name)
            tag = session.get(SqlRegisteredModelTag, (name, key))
            if tag is None:
                session.add(SqlRegisteredModelTag(name=name, key=key, value=clean[key]))
            else:
                tag.value = clean[key]

        self._write(work)

    def create_model_version(
        self,
        name: str,
        source: str,
        storage_location: str,
        run_id: str | None = None,
        model_id: str | None = None,
        description: str = "",
        tags: Mapping[str, Any] | None = None,
    ) -> ModelVersion:
        """The next version of ``name`` (created if missing): dense and unique under concurrency.

        The registered model's row is locked for the transaction (``SELECT … FOR UPDATE`` on
        PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already serialises writers), so two registrations
        never read the same maximum; a unique-key clash is still retried, never surfaced.
        """
        check_name(name, "registered model name")
        check_text(description, "description", MAX_DESCRIPTION_LENGTH)
        clean_tags = self._check_tags(tags)

        def work(session: Session) -> ModelVersion:
            stamp = now_ms()
            model = session.scalar(
                select(SqlRegisteredModel).where(SqlRegisteredModel.name == name).with_for_update()
            )
            if model is None:
                session.add(
                    SqlRegisteredModel(
                        name=name, description="", creation_time=stamp, last_update_time=stamp
                    )
                )
                session.flush()
            else:
                model.last_update_time = stamp
            current = session.scalar(
                select(func.max(SqlModelVersion.version)).where(SqlModelVersion.name == name)
            )
            row = SqlModelVersion(
                name=name,
                version=(current or 0) + 1,
                source=source,
                run_id=run_id,
                storage_location=storage_location,
                model_id=model_id,
                description=description,
                creation_time=stamp,
                last_update_time=stamp,
            )
            session.add(row)
            session.flush()
            session.add_all(
                SqlModelVersionTag(name=name, version=row.version, key=k, value=v)
                for k, v in clean_tags.items()
            )
            session.flush()
            return self._version_record(session, row)

        result: ModelVersion = self._write(work, conflict_retries=MAX_INTEGRITY_RETRIES)
        return result

    def get_model_version(self, name: str, version: Any) -> ModelVersion:
        number = check_version(version)

        def work(session: Session) -> ModelVersion:
            self._model_row(session, name)
            return self._version_record(session, self._version_row(session, name, number))

        result: ModelVersion = self._read(work)
        return result

    def get_latest_version(self, name: str) -> ModelVersion:
        def work(session: Session) -> ModelVersion:
            self._model_row(session, name)
            row = session.scalar(
                select(SqlModelVersion)
                .where(SqlModelVersion.name == name)
                .order_by(SqlModelVersion.version.desc())
                .limit(1)
            )
            if row is None:
                raise NotFoundError(f"Registered model '{name}' has no versions yet", param="name")
            return self._version_record(session, row)

        result: ModelVersion = self._read(work)
        return result

    def list_model_versions(self, name: str) -> list[ModelVersion]:
        def work(session: Session) -> list[ModelVersion]:
            self._model_row(session, name)
            rows = session.scalars(
                select(SqlModelVersion)
                .where(SqlModelVersion.name == name)
                .order_by(SqlModelVersion.version)
            )
            return [self._version_record(session, row) for row in rows]

        result: list[ModelVersion] = self._read(work)
        return result

    def update_model_version(self, name: str, version: Any, description: str) -> ModelVersion:
        number = check_version(version)
        check_text(description, "description", MAX_DESCRIPTION_LENGTH)

        def work(session: Session) -> ModelVersion:
            self._model_row(session, name)
            row = self._version_row(session, name, number)
            row.description = description
            row.last_update_time = now_ms()
            return self._version_record(session, row)

        result: ModelVersion = self._write(work)
        return result

    def set_model_version_tag(self, name: str, version: Any, key: str, value: Any) -> None:
        number = check_version(version)
        clean = self._check_tags({key: value})

        def work(session: Session) -> None:
            self._model_row(session, name)
            self._version_row(session, name, number)
            tag = session.get(SqlModelVersionTag, (name, number, key))
            if tag is None:
                session.add(
                    SqlModelVersionTag(name=name, version=number, key=key, value=clean[key])
                )
            else:
                tag.value = clean[key]

        self._write(work)

    def set_alias(self, name: str, alias: str, version: Any) -> None:
        check_alias(alias)
        number = check_version(version)

        def work(session: Session) -> None:
            self._model_row(session, name)
            self._version_row(session, name, number)
            row = session.get(SqlModelAlias, (name, alias))
            if row is None:
                session.add(SqlModelAlias(name=name, alias=alias, version=number))
            else:
                row.version = number
            session.execute(
                update(SqlRegisteredModel)
                .where(SqlRegisteredModel.name == name)
                .values(last_update_time=now_ms())
            )

        self._write(work)

    def delete_alias(self, name: str, alias: str) -> None:
        check_alias(alias)

        def work(session: Session) -> None:
            self._model_row(session, name)
            row = session.get(SqlModelAlias, (name, alias))
            if row is None:
                raise NotFoundError(f"Model '{name}' has no alias '{alias}'", param="alias")
            session.delete(row)

        self._write(work)

    def get_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        check_alias(alias)

        def work(session: Session) -> ModelVersion:
            self._model_row(session, name)
            row = session.get(SqlModelAlias, (name, alias))
            if row is None:
                known = sorted(
                    session.scalars(select(SqlModelAlias.alias).where(SqlModelAlias.name == name))
                )
                raise NotFoundError(
                    f"Model '{name}' has no alias '{alias}'"
                    + (f" (its aliases: {', '.join(known)})" if known else " (it has no aliases)"),
                    param="alias",
                )
            return self._version_record(session, self._version_row(session, name, row.version))

        result: ModelVersion = self._read(work)
        return result
