#!/usr/bin/env python3
"""Validates YAML files against a JSON Schema; prints one line per file: `ok` or the first error."""
import json
import sys

import jsonschema
import yaml

schema = json.load(open(sys.argv[1]))
status = 0
for path in sys.argv[2:]:
    try:
        jsonschema.validate(yaml.safe_load(open(path)), schema)
        print(f"{path}: ok")
    except jsonschema.ValidationError as error:
        print(f"{path}: {error.message}")
        status = 1
sys.exit(status)
