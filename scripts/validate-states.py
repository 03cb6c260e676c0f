#!/usr/bin/env python3
"""validate-states.py SCHEMA FILE|DIR...: validates nyx-runtime states and --report files against
docs/state.schema.json (python3-jsonschema). Prints one line per invalid file and exits 1 when
there is any; "N passed, N failed" at the end."""
import json
import os
import sys

import jsonschema


def files(paths):
    for p in paths:
        if os.path.isdir(p):
            for name in sorted(os.listdir(p)):
                if name.endswith(".json"):
                    yield os.path.join(p, name)
        else:
            yield p


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: validate-states.py SCHEMA FILE|DIR...")
    with open(sys.argv[1]) as f:
        schema = json.load(f)
    validator = jsonschema.Draft202012Validator(schema)
    passed = failed = 0
    for path in files(sys.argv[2:]):
        try:
            with open(path) as f:
                doc = json.load(f)
        except (OSError, ValueError) as e:
            print(f"{path}: not JSON: {e}")
            failed += 1
            continue
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
        if errors:
            failed += 1
            for e in errors[:5]:
                where = "/".join(str(p) for p in e.absolute_path) or "(root)"
                print(f"{path}: {where}: {e.message}")
        else:
            passed += 1
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
