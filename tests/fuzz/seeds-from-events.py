#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Seed inputs for fuzz-xmlstream from xmppgate event logs.

Reads JSON-lines event files (a `logs[]` entry of type "json", or a
recording: both have the same schema) and writes, for every session and
direction, the bytes that direction's parser saw, rebuilt from the `xml`
of its stream.open, stanza and stream.close events:

  - one transcript per session and direction: every element in order,
    cut into pieces of at most --max-bytes (each piece after the first
    starts again with the latest stream header, so each is a stream);
  - one short stream per distinct element: its direction's latest stream
    header, then the element.

Files are named by the SHA-1 of their content, as libFuzzer names its
own, so running this again over the same logs adds nothing. What it
writes is raw material: minimize it into the committed corpus with
libFuzzer's -merge=1 (see README, Tests). Secrets stay as the log has
them: a log written with "redact": false holds real SASL payloads, which
do not belong in a committed corpus.

Usage: seeds-from-events.py [-o DIR] [--max-bytes N] EVENTS.jsonl...
"""

import argparse
import hashlib
import json
import os
import sys

# Events whose xml is what a parser read, in its direction.
PARSED = ("stream.open", "stanza", "stream.close")


def read_events(path):
    """The events of one file; lines that are not JSON objects are
    skipped (a log cut short by a crash ends with half a line)."""
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if isinstance(ev, dict):
                yield ev


def streams(paths):
    """{(file, session, dir): [(kind, xml bytes), ...]} in log order.
    An element the proxy injected (by: proxy) was never parsed: skipped."""
    out = {}
    for path in paths:
        for ev in read_events(path):
            if ev.get("event") not in PARSED or ev.get("by") == "proxy":
                continue
            xml, d = ev.get("xml"), ev.get("dir")
            if not isinstance(xml, str) or d not in ("c2s", "s2c"):
                continue
            key = (path, ev.get("session"), d)
            out.setdefault(key, []).append(
                (ev["event"], xml.encode("utf-8")))
    return out


class Writer:
    def __init__(self, outdir):
        self.dir = outdir
        self.written = 0
        self.seen = 0
        os.makedirs(outdir, exist_ok=True)

    def put(self, data):
        self.seen += 1
        name = os.path.join(self.dir, hashlib.sha1(data).hexdigest())
        if os.path.exists(name):
            return
        with open(name, "wb") as f:
            f.write(data)
        self.written += 1


def transcripts(items, max_bytes):
    """The transcript of one direction in pieces of at most max_bytes
    (a single larger element makes a piece of its own)."""
    piece, header = b"", b""
    for kind, xml in items:
        if kind == "stream.open":
            header = xml
        if piece and len(piece) + len(xml) > max_bytes:
            yield piece
            piece = header if kind != "stream.open" else b""
        piece += xml
    if piece:
        yield piece


def elements(items):
    """Each element after its direction's latest stream header."""
    header = None
    for kind, xml in items:
        if kind == "stream.open":
            header = xml
        elif header is not None:
            yield header + xml


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-o", "--out", default="seeds",
                    help="directory to write seeds to (default: seeds)")
    ap.add_argument("--max-bytes", type=int, default=32768,
                    help="largest transcript piece (default 32768; "
                         "fuzz-xmlstream skips inputs over 65536)")
    ap.add_argument("events", nargs="+", help="JSON-lines event files")
    a = ap.parse_args()
    w = Writer(a.out)
    dirs = streams(a.events)
    for items in dirs.values():
        for data in transcripts(items, a.max_bytes):
            w.put(data)
        for data in elements(items):
            w.put(data)
    print("%d streams, %d seeds, %d new in %s"
          % (len(dirs), w.seen, w.written, a.out), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
