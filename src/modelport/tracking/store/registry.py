"""The model registry on SQL: registered models, numbered versions, tags and aliases."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from modelport.errors import AlreadyExistsError, NotFoundError
from modelport.tracking.entities import (
    ModelVersion,
    RegisteredModel,
)
from modelport.tracking.store.base import MAX_INTEGRITY_RETRIES, SqlBase, now_ms
from modelport.tracking.store.models import (
    SqlModelAlias,
    SqlModelVersion,
    SqlModelVersionTag,
    SqlRegisteredModel,
    SqlRegisteredModelTag,
)
from modelport.tracking.validation import (
    MAX_DESCRIPTION_LENGTH,
    check_alias,
    check_name,
    check_text,
    check_version,
)


class RegistryStore(SqlBase):
    """Registered models and their versions (mixed into :class:`SqlStore`)."""

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
