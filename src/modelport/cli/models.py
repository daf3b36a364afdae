"""``modelport models list | versions NAME | alias NAME ALIAS VERSION | register URI NAME``."""

from __future__ import annotations

import argparse
from typing import Any

from modelport.cli._tracking import (
    add_store_arguments,
    client,
    listing_client,
    print_json,
    table,
    when,
)
from modelport.errors import InvalidRequestError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("models", help="the model registry: models, versions, aliases")
    commands = parser.add_subparsers(dest="models_command", metavar="COMMAND", required=True)

    list_parser = commands.add_parser("list", help="list registered models")
    add_store_arguments(list_parser)
    list_parser.set_defaults(func=run_list)

    versions = commands.add_parser("versions", help="list the versions of a registered model")
    versions.add_argument("name", metavar="NAME")
    add_store_arguments(versions)
    versions.set_defaults(func=run_versions)

    alias = commands.add_parser(
        "alias", help="point ALIAS of model NAME at VERSION (or remove it with --delete)"
    )
    alias.add_argument("name", metavar="NAME")
    alias.add_argument("alias", metavar="ALIAS")
    alias.add_argument("version", metavar="VERSION", nargs="?", default=None)
    alias.add_argument("--delete", action="store_true", help="remove the alias")
    add_store_arguments(alias)
    alias.set_defaults(func=run_alias)

    register_parser = commands.add_parser(
        "register", help="register a package (runs:/, models:/ or a folder) as a new version"
    )
    register_parser.add_argument("model_uri", metavar="MODEL_URI")
    register_parser.add_argument("name", metavar="NAME")
    register_parser.add_argument("--description", default="")
    add_store_arguments(register_parser)
    register_parser.set_defaults(func=run_register)


def run_list(args: argparse.Namespace) -> int:
    tracking = listing_client(args)
    if tracking is None:
        return 0
    models = tracking.search_registered_models()
    if args.json:
        print_json([m.to_dict() for m in models])
        return 0
    table(
        "Registered models",
        ["Name", "Latest version", "Aliases", "Updated (UTC)", "Description"],
        [
            [
                m.name,
                str(m.latest_version) if m.latest_version is not None else "-",
                ", ".join(f"@{a} → v{v}" for a, v in m.aliases.items()) or "-",
                when(m.last_update_time),
                m.description or "-",
            ]
            for m in models
        ],
        "No registered models yet (register one with log_model(..., registered_model_name=...)).",
    )
    return 0


def run_versions(args: argparse.Namespace) -> int:
    versions = client(args).search_model_versions(args.name)
    if args.json:
        print_json([v.to_dict() for v in versions])
        return 0
    table(
        f"Versions of {args.name}",
        ["Version", "Aliases", "Source", "Created (UTC)", "Description"],
        [
            [
                str(v.version),
                ", ".join(f"@{a}" for a in v.aliases) or "-",
                v.source,
                when(v.creation_time),
                v.description or "-",
            ]
            for v in versions
        ],
        f"Model '{args.name}' has no versions yet.",
    )
    return 0


def run_alias(args: argparse.Namespace) -> int:
    tracking = client(args)
    if args.delete:
        if args.version is not None:
            raise InvalidRequestError("--delete takes no VERSION: models alias NAME ALIAS --delete")
        tracking.delete_alias(args.name, args.alias)
        message = f"Removed alias '{args.alias}' of '{args.name}'"
        result: dict[str, Any] = {"name": args.name, "alias": args.alias, "version": None}
    else:
        if args.version is None:
            raise InvalidRequestError(
                "missing VERSION: models alias NAME ALIAS VERSION (or --delete to remove it)"
            )
        tracking.set_alias(args.name, args.alias, args.version)
        version = tracking.get_version_by_alias(args.name, args.alias)
        message = (
            f"models:/{args.name}@{args.alias} now points to version {version.version} "
            f"({version.source})"
        )
        result = {"name": args.name, "alias": args.alias, "version": version.version}
    if args.json:
        print_json(result)
    else:
        print(message)
    return 0


def run_register(args: argparse.Namespace) -> int:
    version = client(args, create=True).register_model(
        args.model_uri, args.name, description=args.description
    )
    if args.json:
        print_json(version.to_dict())
    else:
        print(f"Registered {args.model_uri} as {version.model_uri}")
    return 0
