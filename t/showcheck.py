#!/usr/bin/env python3
"""showcheck.py - check `ckpt-show --json` against its schema
(formats/show.md) and against the image it describes.

usage: showcheck.py JSON IMAGE

JSON is ckpt-show's output, IMAGE the raw stream it was made from.
Checks every key's presence and type, and then that the JSON tells the
truth about IMAGE: the members and their sizes as tar lists them, the
processes of the manifest, each region's stored bytes against pagemap,
every fd line of fds.  Prints "schema ok" and the counts, or "FAIL
..." for each difference and exits 1."""
import json
import sys
import tarfile

INT, STR, BOOL, HEX = int, str, bool, "hex"
NULLSTR = (str, type(None))

IMAGE = {"format": STR, "id": STR, "parent": NULLSTR, "tool": STR,
         "kernel": STR, "arch": STR, "time": STR, "packed": BOOL,
         "killed": BOOL, "root": INT, "bytes": dict}
PROC = {"pid": INT, "ppid": INT, "pgid": INT, "sid": INT, "zombie": BOOL,
        "comm": STR, "exe": STR, "cwd": STR, "argv": (list, type(None)),
        "uid": INT, "gid": INT, "threads": list, "memory": dict,
        "fds": list, "members": list}
ZOMBIE = {"pid": INT, "ppid": INT, "pgid": INT, "sid": INT, "zombie": BOOL,
          "status": INT}
REGION = {"start": HEX, "end": HEX, "perms": STR, "offset": HEX,
          "kind": STR, "path": STR, "stored": INT}
FD = {"fd": INT, "kind": STR, "path": NULLSTR, "restore": STR, "keys": dict}
MEMBER = {"name": STR, "size": INT, "stored": INT}
KINDS = {"private", "shared memory", "orphan", "shared file", "special"}

bad = []


def fail(msg):
    bad.append(msg)
    print("FAIL " + msg)


def typed(obj, schema, where):
    if not isinstance(obj, dict):
        return fail(f"{where}: not an object")
    if set(obj) != set(schema):
        fail(f"{where}: keys {sorted(obj)} are not {sorted(schema)}")
    for k, t in schema.items():
        v = obj.get(k)
        if t == HEX:
            ok = isinstance(v, str) and v.startswith("0x") and \
                int(v, 16) >= 0 and v == hex(int(v, 16))
        elif t is INT:
            ok = isinstance(v, int) and not isinstance(v, bool)
        else:
            ok = isinstance(v, t)
        if not ok:
            fail(f"{where}: {k} = {v!r} is not of its type")


def members_of(path):
    with tarfile.open(path) as tar:
        return [(m.name, m.size, tar.extractfile(m).read()) for m in tar]


def runs(text):
    for line in text.decode().split("\n"):
        if line:
            a, b = line.split("-")
            yield int(a, 16), int(b, 16)


def check_proc(p, raw):
    where = f"pid {p['pid']}"
    typed(p, ZOMBIE if p["zombie"] else PROC, where)
    if p["zombie"]:
        return
    for t in p["threads"]:
        typed(t, {"tid": INT, "role": NULLSTR}, where + " thread")
    for r in p["memory"]["regions"]:
        typed(r, REGION, where + " region")
        if r["kind"] not in KINDS:
            fail(f"{where}: region kind {r['kind']!r}")
    for f in p["fds"]:
        typed(f, FD, where + " fd")
    for m in p["members"]:
        typed(m, MEMBER, where + " member")
    pre = f"proc/{p['pid']}/"
    mine = [(n[len(pre):], s) for n, s, _ in raw if n.startswith(pre)]
    if mine != [(m["name"], m["size"]) for m in p["members"]]:
        fail(f"{where}: members {p['members']} are not the image's {mine}")
    data = {n: d for n, _, d in raw}
    stored = {}
    for a, b in runs(data.get(pre + "pagemap", b"")):
        stored[a] = b - a
    total = sum(stored.values())
    if p["memory"]["stored"] != total or \
            sum(r["stored"] for r in p["memory"]["regions"]) != total:
        fail(f"{where}: stored {p['memory']['stored']} is not pagemap's {total}")
    if total != len(data.get(pre + "pages", b"")):
        fail(f"{where}: pages member is not {total} bytes")
    fdl = [l for l in data[pre + "fds"].decode().split("\n")
           if l.startswith("fd ")]
    if [int(l.split()[1]) for l in fdl] != [f["fd"] for f in p["fds"]]:
        fail(f"{where}: fds {[f['fd'] for f in p['fds']]} are not the image's")


def main():
    doc = json.load(open(sys.argv[1]))
    raw = members_of(sys.argv[2])
    typed(doc, {"schema": INT, "image": dict, "processes": list,
                "members": list}, "top")
    typed(doc["image"], IMAGE, "image")
    typed(doc["image"]["bytes"], {"raw": INT, "stored": INT, "input": INT},
          "bytes")
    if doc["schema"] != 1:
        fail(f"schema {doc['schema']}")
    if [(m["name"], m["size"]) for m in doc["members"]] != \
            [(n, s) for n, s, _ in raw]:
        fail("members are not the image's, in its order")
    if doc["image"]["bytes"]["raw"] != sum(s for _, s, _ in raw):
        fail("bytes.raw is not the sum of the members")
    man = raw[0][2].decode().split("\n")
    pids = [int(l.split()[1]) for l in man if l.split()[:1] in (["proc"], ["zombie"])]
    if [p["pid"] for p in doc["processes"]] != pids:
        fail(f"processes {[p['pid'] for p in doc['processes']]} are not {pids}")
    for p in doc["processes"]:
        check_proc(p, raw)
    if bad:
        sys.exit(1)
    print(f"schema ok processes={len(pids)} members={len(raw)}")


main()
