"""`rideshare topics`: create the catalog's topics, list them with offsets and lag, tail them as JSON."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from rideshare.cli.common import console, settings, user_errors
from rideshare.topics import create_topics, describe_topics, tail_topic
from schemas.catalog import CATALOG, topic_spec

app = typer.Typer(help="Kafka topics of the catalog (schemas/catalog.py).", no_args_is_help=True)


@app.command()
def create() -> None:
    """Create every catalog topic with its partitions, retention and cleanup policy (idempotent)."""
    with user_errors():
        s = settings()
        results = dict(create_topics(s))
        table = Table("topic", "partitions", "cleanup", "retention", "key", "schema", "result")
        for spec in CATALOG:
            name = spec.qualified(s.topic_namespace)
            table.add_row(name, str(spec.partitions), spec.cleanup_policy, f"{spec.retention_ms // 3_600_000} h",
                          spec.key_field or "-", spec.value_schema or "raw", "created" if results[name] else "exists")
        console.print(table)


@app.command("list")
def list_topics(internal: bool = typer.Option(False, help="Also show Kafka's internal __ topics.")) -> None:
    """List topics with partitions, end offsets (messages) and lag of each consumer group."""
    with user_errors():
        table = Table("topic", "partitions", "messages", "consumer groups (lag)")
        for info in describe_topics(settings(), include_internal=internal):
            lag = ", ".join(f"{group}: {lag}" for group, lag in sorted(info.group_lag.items())) or "-"
            table.add_row(info.name, str(info.partitions), f"{info.messages:,}", lag)
        console.print(table)


@app.command()
def tail(
    topic: str = typer.Argument(..., help="Topic name, or a catalog short name such as `trips`."),
    from_beginning: bool = typer.Option(False, "--from-beginning", help="Start at the oldest record instead of new ones."),
    max_records: int | None = typer.Option(None, "--max", min=1, help="Stop after this many records."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line (for jq) instead of a readable line."),
    idle_timeout: float | None = typer.Option(None, "--idle-timeout", help="Stop after this many seconds with no record."),
) -> None:
    """Decode a topic's Avro records into readable JSON lines. Undecodable (poison) records are
    shown with the reason, never a crash.

    Example: rideshare topics tail trips --from-beginning --max 5
    """
    with user_errors():
        s = settings()
        name = _resolve_topic(topic, s.topic_namespace)
        for record in tail_topic(s, name, from_beginning=from_beginning, max_records=max_records,
                                 idle_timeout_s=idle_timeout):
            if as_json:
                print(record.to_json(), flush=True)
            elif record.error is not None:
                console.print(f"[red]{record.partition}@{record.offset} UNDECODABLE[/] key={record.key} {record.error}")
            else:
                body = json.dumps(record.value, ensure_ascii=False, default=str)
                event_type = record.headers.get("event_type", record.schema)
                console.print(f"[cyan]{record.partition}@{record.offset}[/] [bold]{event_type}[/] key={record.key} {body}",
                              highlight=False, soft_wrap=True)


def _resolve_topic(topic: str, namespace: str) -> str:
    """A catalog short name (`trips`) or catalog Kafka name becomes the namespaced name; anything
    else is taken as a raw Kafka topic name."""
    try:
        return topic_spec(topic).qualified(namespace)
    except KeyError:
        return topic


@app.command()
def catalog(
    markdown: bool = typer.Option(False, "--markdown", help="Print Markdown (for docs) instead of tables."),
    fields: bool = typer.Option(True, "--fields/--no-fields", help="Also list every schema's fields with their docs."),
) -> None:
    """Describe the topic catalog and the Avro contract of every event, generated from
    schemas/catalog.py and schemas/avro/*.avsc (so it cannot drift from the code)."""
    from schemas.codec import registry

    s = settings()
    rows = [(spec.qualified(s.topic_namespace), spec.key_field or "-", str(spec.partitions), spec.cleanup_policy,
             f"{spec.retention_ms // 3_600_000} h", spec.value_schema or "raw bytes", spec.doc) for spec in CATALOG]
    headers = ("topic", "key", "partitions", "cleanup", "retention", "schema", "what")
    schemas = registry().current
    if markdown:
        lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        if fields:
            for name, version in schemas.items():
                lines += ["", f"### `{name}` ({version.source['doc']})", "", "| field | type | doc |", "|---|---|---|"]
                lines += [f"| `{f['name']}` | `{_type_name(f['type'])}` | {f['doc']} |" for f in version.source["fields"]]
        print("\n".join(lines))
        return
    table = Table(*headers, title="Topic catalog")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    if fields:
        for name, version in schemas.items():
            schema_table = Table("field", "type", "doc", title=f"{name}: {version.source['doc']}", title_justify="left")
            for f in version.source["fields"]:
                schema_table.add_row(f["name"], _type_name(f["type"]), f["doc"])
            console.print(schema_table)


def _type_name(avro_type: object) -> str:
    """Readable Avro type: `string?` for nullable unions, `enum(a, b)`, `timestamp-millis`, `array<string>`."""
    if isinstance(avro_type, list):
        non_null = [t for t in avro_type if t != "null"]
        return _type_name(non_null[0]) + ("?" if "null" in avro_type else "")
    if isinstance(avro_type, dict):
        kind = avro_type.get("logicalType") or avro_type["type"]
        if kind == "enum":
            return "enum(" + ", ".join(avro_type["symbols"]) + ")"
        if kind == "array":
            return f"array<{_type_name(avro_type['items'])}>"
        return str(kind)
    return str(avro_type)
