"""Generate `schemas/records.py`: one TypedDict per event schema of `schemas/avro/*.avsc` (the current
versions), so events are typed where they are built and read while staying the plain dicts the codec
encodes (no conversion, the same bytes).

    .venv/bin/python -m schemas.record_types           # rewrite schemas/records.py
    .venv/bin/python -m schemas.record_types --check   # exit 1 if schemas/records.py is out of date

Avro maps to Python as: string -> str, int/long (also timestamp-millis) -> int, float/double -> float,
boolean -> bool, bytes -> bytes, enum -> Literal of its symbols, array -> list, map -> dict[str, ...],
a union with null -> `... | None`, a nested record -> its own TypedDict.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

AVRO_DIR = Path(__file__).resolve().parent / "avro"
RECORDS_MODULE = Path(__file__).resolve().parent / "records.py"
PRIMITIVES = {"string": "str", "int": "int", "long": "int", "float": "float", "double": "float", "boolean": "bool",
              "bytes": "bytes", "null": "None"}


class _Generator:
    def __init__(self) -> None:
        self.named: dict[str, str] = {}  # Avro name -> Python type expression
        self.classes: list[str] = []  # TypedDict and Literal definitions, dependencies first

    def type_of(self, avro: Any) -> str:
        if isinstance(avro, str):
            if avro in PRIMITIVES:
                return PRIMITIVES[avro]
            return self.named[avro]  # a named type defined earlier in the schema
        if isinstance(avro, list):  # a union: None last
            branches = sorted((self.type_of(branch) for branch in avro), key=lambda name: name == "None")
            return " | ".join(branches)
        kind = avro["type"]
        if kind == "enum":
            alias = str(avro["name"])
            if alias not in self.named:
                symbols = ", ".join(json.dumps(symbol) for symbol in avro["symbols"])
                if len(symbols) > 100:
                    symbols = "\n" + ",\n".join(f"    {json.dumps(symbol)}" for symbol in avro["symbols"]) + ",\n"
                self.classes.append(f"{alias} = Literal[{symbols}]")
                self.named[alias] = alias
            return alias
        if kind == "array":
            return f"list[{self.type_of(avro['items'])}]"
        if kind == "map":
            return f"dict[str, {self.type_of(avro['values'])}]"
        if kind == "record":
            return self.record(avro)
        return self.type_of(kind)  # a primitive with a logical type

    def record(self, avro: dict[str, Any]) -> str:
        name = str(avro["name"])
        fields = [f"    {field['name']}: {self.type_of(field['type'])}" for field in avro["fields"]]
        doc = avro.get("doc", "").replace('"""', "'''")
        self.classes.append("\n".join([f"class {name}(TypedDict):", f'    """{doc}"""', "", *fields]))
        self.named[name] = name
        return name


def render(avro_dir: Path = AVRO_DIR) -> str:
    generator = _Generator()
    schemas: dict[str, str] = {}
    for path in sorted(avro_dir.glob("*.avsc")):
        schemas[path.stem] = generator.type_of(json.loads(path.read_text()))
    mapping = "\n".join(f"    {json.dumps(schema)}: {name}," for schema, name in schemas.items())
    union = "(\n    " + "\n    | ".join(schemas.values()) + "\n)"
    return "\n".join([
        '"""Event records as typed dicts, generated from schemas/avro/*.avsc by `python -m schemas.record_types`:',
        'do not edit by hand (a test fails when this file and the schemas disagree)."""',
        "",
        "from __future__ import annotations",
        "",
        "from typing import Literal, TypedDict",
        "",
        "\n\n\n".join(generator.classes),
        "",
        "",
        f"EventRecord = {union}",
        "",
        "RECORD_TYPES: dict[str, type] = {  # schema name -> its record type",
        mapping,
        "}",
        "",
    ])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only check that schemas/records.py is up to date")
    args = parser.parse_args()
    text = render()
    if args.check:
        if not RECORDS_MODULE.exists() or RECORDS_MODULE.read_text() != text:
            print("schemas/records.py is out of date: run `python -m schemas.record_types`", file=sys.stderr)
            return 1
        return 0
    RECORDS_MODULE.write_text(text)
    print(f"wrote {RECORDS_MODULE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
