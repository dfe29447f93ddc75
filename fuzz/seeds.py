#!/usr/bin/env python3
"""seeds.py - fuzz seeds from a real raw stream (ckpt-freeze's output).

usage: fuzz/seeds.py IMG TAG

Writes t/fuzz-corpus/members/TAG-{manifest,core,threads,fds,memory,maps}
and TAG-timers if the process has POSIX timers (the dispatch byte of
fuzz/members.c, then the member's text; memory is maps NUL mapfiles NUL
pagemap NUL vmflags) and t/fuzz-corpus/thaw/TAG.tar (the
stream up to the data of its pages member: fuzz/thaw.c stops there).
"""
import os
import sys
import tarfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "t", "fuzz-corpus")


def main(img, tag):
    with tarfile.open(img, "r:") as tf:
        ms = {}
        for m in tf.getmembers():
            key = m.name.split("/", 2)[-1] if m.name.startswith("proc/") else m.name
            ms[key] = (m, tf.extractfile(m).read())
    seeds = {
        "manifest": (0, ms["ckpt/manifest"][1]),
        "core": (1, ms["core"][1]),
        "threads": (2, ms["threads"][1]),
        "fds": (3, ms["fds"][1]),
        "memory": (4, ms["maps"][1] + b"\0" + ms["mapfiles"][1] + b"\0" + ms["pagemap"][1] +
                   (b"\0" + ms["vmflags"][1] if "vmflags" in ms else b"")),
        "maps": (6, ms["maps"][1]),
    }
    if "timers" in ms:
        seeds["timers"] = (7, ms["timers"][1])
    for name, (byte, text) in seeds.items():
        with open(os.path.join(ROOT, "members", "%s-%s" % (tag, name)), "wb") as f:
            f.write(bytes([byte]) + text)
    with open(img, "rb") as f:
        head = f.read(ms["pages"][0].offset_data)
    with open(os.path.join(ROOT, "thaw", tag + ".tar"), "wb") as f:
        f.write(head)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
