#!/usr/bin/env python3
"""Checks one response of the daemon's API against docs/openapi.yaml.

    openapi_check.py SPEC METHOD PATH STATUS CONTENT_TYPE BODY_FILE

PATH may carry a query string.  The path and method must be in the spec,
the status must be listed (or a `default`), and the body must match the
schema of that response: a JSON document, or for text/event-stream each
event's data against the schema the spec names for its event
(x-cairn-events).  Exit 0 when it matches; 1 and one line on stderr when
it does not.  Needs python3-yaml and python3-jsonschema (Debian).
"""
import json
import re
import sys

import jsonschema
import yaml


def fail(msg):
    print("openapi_check: " + msg, file=sys.stderr)
    sys.exit(1)


def find_operation(spec, method, path):
    for template, item in spec["paths"].items():
        rx = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(rx, path):
            op = item.get(method.lower())
            if op is None:
                # 405 is answered for any undocumented method of a known path
                return template, None
            return template, op
    return None, None


def check(spec, schema, doc, what):
    root = dict(schema)
    root["components"] = spec["components"]
    v = jsonschema.Draft202012Validator(root)
    errors = sorted(v.iter_errors(doc), key=lambda e: list(e.path))
    if errors:
        e = errors[0]
        fail("%s: %s at %s" % (what, e.message, "/".join(str(p) for p in e.path) or "(top)"))


def main():
    if len(sys.argv) != 7:
        fail("usage: openapi_check.py SPEC METHOD PATH STATUS CONTENT_TYPE BODY_FILE")
    spec_file, method, path, status, ctype, body_file = sys.argv[1:]
    with open(spec_file) as f:
        spec = yaml.safe_load(f)
    with open(body_file, "rb") as f:
        body = f.read().decode()
    path = path.split("?", 1)[0]
    what = "%s %s -> %s" % (method, path, status)
    template, op = find_operation(spec, method, path)
    error_schema = {"$ref": "#/components/schemas/Error"}
    if template is None or op is None:
        # Unknown paths and methods answer the documented error document.
        if status not in ("404", "405"):
            fail("%s: not in the spec" % what)
        check(spec, error_schema, json.loads(body), what)
        return
    responses = op["responses"]
    resp = responses.get(status) or responses.get("default")
    if resp is None:
        fail("%s: status not documented" % what)
    if "$ref" in resp:
        resp = spec["components"]["responses"][resp["$ref"].rsplit("/", 1)[1]]
    ctype = ctype.split(";")[0].strip()
    content = resp.get("content", {})
    if ctype not in content:
        fail("%s: content type %s not documented (%s)" % (what, ctype, ", ".join(content)))
    media = content[ctype]
    if ctype == "application/json":
        try:
            doc = json.loads(body)
        except ValueError as e:
            fail("%s: not JSON: %s" % (what, e))
        check(spec, media["schema"], doc, what)
    elif ctype == "text/event-stream":
        events = media.get("x-cairn-events", {})
        n = 0
        for block in body.split("\n\n"):
            name, data = None, []
            for line in block.split("\n"):
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: "):
                    data.append(line[6:])
            if name is None:
                continue
            if name not in events:
                fail("%s: event %s not documented" % (what, name))
            check(spec, events[name], json.loads("\n".join(data)), "%s event %s" % (what, name))
            n += 1
        if n == 0:
            fail("%s: no events" % what)


main()
