#!/usr/bin/env python3
"""Validates a check report against its JSON Schema and reads a JUnit file with junitparser.
Prints `schema ok`, `report: <findings> findings, <fail> fail, <error> error` (counted from the JSON) and
`junit: <tests> tests, <failures> failures, <errors> errors`; exits 1 on any problem.

    validate_report.py SCHEMA REPORT.json JUNIT.xml
"""
import json
import sys

import jsonschema
from junitparser import Error, Failure, JUnitXml

schema = json.load(open(sys.argv[1]))
report = json.load(open(sys.argv[2]))
jsonschema.Draft202012Validator.check_schema(schema)
jsonschema.validate(report, schema)
print("schema ok")
findings = report["findings"]
statuses = [finding["status"] for finding in findings]
print(f"report: {len(findings)} findings, {statuses.count('fail')} fail, {statuses.count('error')} error")
xml = JUnitXml.fromfile(sys.argv[3])
tests = failures = errors = 0
for suite in xml:
    for case in suite:
        tests += 1
        failures += sum(isinstance(r, Failure) for r in case.result)
        errors += sum(isinstance(r, Error) for r in case.result)
print(f"junit: {tests} tests, {failures} failures, {errors} errors")
