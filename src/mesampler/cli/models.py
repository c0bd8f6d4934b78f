"""``mesampler models``: list the registered models, their input spec and where their weights come from."""

from __future__ import annotations

import argparse
import json

from mesampler.models.base import ModelSpec
from mesampler.models.registry import list_models

NAME = "models"
HELP = "list the registered models with their input spec and weight source"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print a JSON list instead of a table")


def normalisation(spec: ModelSpec) -> str:
    """How ``[0, 1]`` pixels are mapped to the network input, e.g. ``x*2-1`` or ``(x-mean)/std``."""
    parts = []
    if spec.scale != 1.0 or spec.shift != 0.0:
        parts.append(f"x*{spec.scale:g}{spec.shift:+g}")
    if spec.mean != (0.0, 0.0, 0.0) or spec.std != (1.0, 1.0, 1.0):
        mean = ",".join(f"{m:g}" for m in spec.mean)
        std = ",".join(f"{s:g}" for s in spec.std)
        parts.append(f"(x-[{mean}])/[{std}]")
    return " then ".join(parts) or "none ([0,1])"


def describe(spec: ModelSpec) -> dict[str, object]:
    return {
        "name": spec.name,
        "frames": spec.frames,
        "size": spec.size,
        "classes": spec.num_classes,
        "normalisation": normalisation(spec),
        "layout": spec.layout,
        "class_source": spec.classes_source,
        "weights": spec.weights_source or "built in",
        "description": spec.description,
    }


def run(args: argparse.Namespace) -> int:
    rows = [describe(entry.spec) for entry in list_models()]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        print(f"{row['name']}")
        print(f"  input    {row['frames']} frames x {row['size']}x{row['size']} RGB in [0,1], {row['layout']}")
        print(f"  norm     {row['normalisation']}")
        print(f"  classes  {row['classes']}  {row['class_source']}")
        print(f"  weights  {row['weights']}")
        if row["description"]:
            print(f"  about    {row['description']}")
    return 0
