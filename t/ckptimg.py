#!/usr/bin/env python3
"""ckptimg.py - look inside a raw ckpt stream, for the tests.

usage:
  ckptimg.py list IMG                 member names, in stream order
  ckptimg.py cat IMG MEMBER           a member's data on stdout
  ckptimg.py check [--parts P] [--bare PID] IMG...
                                      check each stream against
                                      formats/stream.md; P is a comma
                                      list of the per-process members
                                      required (default: all); --bare:
                                      no manifest, one process PID
  ckptimg.py runs IMG PID             the pagemap runs, "START END" hex
  ckptimg.py stored IMG PID ADDR      exit 0 if the page at ADDR is
                                      stored, 1 if not
  ckptimg.py peek IMG PID ADDR LEN    LEN stored bytes at ADDR on stdout
                                      (exit 1 if any page is absent)
  ckptimg.py pagesum IMG PID [ADDR...]
                                      per region of maps (those holding
                                      an ADDR, hex, when given):
                                      "START-END SHA256 PATH" of its
                                      stored pages (addresses and bytes)
  ckptimg.py index IMG PID [ADDR...]  check a full image's index and
                                      hashes (formats/index.md): the
                                      index's runs are the pagemap's,
                                      and each hash is XXH64 of its page
                                      (of the regions of maps holding an
                                      ADDR, hex, when given)
  ckptimg.py threads IMG PID          "TID ROLE" per thread record
  ckptimg.py edit IMG MEMBER FILE     the stream on stdout with MEMBER's
                                      data replaced by FILE's
  ckptimg.py dup IMG MEMBER           the stream on stdout with MEMBER
                                      twice in a row
  ckptimg.py move IMG MEMBER NEXT     the stream on stdout with MEMBER
                                      moved to just before member NEXT
  ckptimg.py join MANIFEST IMG...     one stream on stdout: MANIFEST's
                                      bytes as ckpt/manifest, then the
                                      members of each IMG but its
                                      manifest, in order (a tree image
                                      from one-process images)
                                      (edit, dup, move, join: crafted
                                      images for the tests, pax records
                                      kept)

It reads the tar itself (tarfile) and checks what plain tar does not:
the member order, the manifest, the 4096 alignment of page data, the
pagemap against the size of pages, the trailer.  Exit 0 when fine, 1
with a message naming the image and member when not, 2 on bad usage.
"""
import copy
import io
import sys
import tarfile

PAGE = 4096
PROC_PARTS = ["core", "threads", "fds", "maps", "vmflags", "mapfiles", "pagemap", "pages"]


class Bad(Exception):
    pass


def members(path):
    try:
        with tarfile.open(path, "r:") as tf:
            return [(m, m.offset, m.offset_data) for m in tf.getmembers()]
    except tarfile.TarError as e:
        raise Bad("%s: not a tar stream: %s" % (path, e))


def read_member(path, name):
    with tarfile.open(path, "r:") as tf:
        try:
            m = tf.getmember(name)
        except KeyError:
            raise Bad("%s: no member %s" % (path, name))
        return tf.extractfile(m).read()


def parse_runs(text, path):
    runs = []
    for ln in text.decode().splitlines():
        ln = ln.strip()
        if not ln or ln.startswith("#"):
            continue
        tok = ln.split()[0]
        try:
            a, b = tok.split("-")
            start, end = int(a, 16), int(b, 16)
        except ValueError:
            raise Bad("%s: pagemap: bad line %r" % (path, ln))
        if start % PAGE or end % PAGE or end <= start:
            raise Bad("%s: pagemap: bad run %r" % (path, ln))
        runs.append((start, end))
    return runs


def check_manifest(path, data):
    lines = data.decode().splitlines()
    if not lines or lines[0] != "ckpt-image 1":
        raise Bad("%s: ckpt/manifest: first line %r, want 'ckpt-image 1'"
                  % (path, lines[0] if lines else ""))
    root = [l.split()[1] for l in lines if l.startswith("root ")]
    procs = [l.split()[1] for l in lines if l.startswith("proc ")]
    if len(root) != 1:
        raise Bad("%s: ckpt/manifest: %d root lines" % (path, len(root)))
    if not procs or procs[0] != root[0]:
        raise Bad("%s: ckpt/manifest: first proc %s is not root %s"
                  % (path, procs[:1], root[0]))
    return procs


def check_trailer(path, mems):
    with open(path, "rb") as f:
        data = f.read()
    if mems:
        m, _, off = mems[-1]
        end = off + (m.size + 511) // 512 * 512
    else:
        end = 0
    tail = data[end:]
    if len(tail) < 1024 or tail[:1024] != b"\0" * 1024:
        raise Bad("%s: no trailer (two zero blocks) after the last member" % path)
    if len(tail) != 1024:
        raise Bad("%s: %d bytes after the trailer" % (path, len(tail) - 1024))


def check(path, parts, bare=None):
    mems = members(path)
    names = [m.name for m, _, _ in mems]
    if bare:
        procs = [bare]
    elif not names or names[0] != "ckpt/manifest":
        raise Bad("%s: first member is %s, not ckpt/manifest"
                  % (path, names[0] if names else "nothing"))
    else:
        procs = check_manifest(path, read_member(path, "ckpt/manifest"))
    prev = 0
    for pid in procs:
        last = -1
        for part in parts:
            name = "proc/%s/%s" % (pid, part)
            if name not in names:
                raise Bad("%s: no member %s" % (path, name))
            i = names.index(name)
            if i < last:
                raise Bad("%s: %s out of order" % (path, name))
            last = i
        owned = [i for i, n in enumerate(names) if n.startswith("proc/%s/" % pid)]
        if owned and (owned[0] < prev or owned[-1] - owned[0] + 1 != len(owned)):
            raise Bad("%s: members of proc %s are not together, in manifest order"
                      % (path, pid))
        if owned:
            prev = owned[-1]
        if "pages" in parts:
            check_pages(path, pid, mems)
    for m, _, _ in mems:
        if not m.isfile():
            raise Bad("%s: %s is not a regular member" % (path, m.name))
        if m.mode & 0o777 != 0o600:
            raise Bad("%s: %s has mode %o, want 600" % (path, m.name, m.mode & 0o777))
    check_trailer(path, mems)


def check_pages(path, pid, mems):
    runs = parse_runs(read_member(path, "proc/%s/pagemap" % pid), path)
    m = [x for x in mems if x[0].name == "proc/%s/pages" % pid][0]
    if m[2] % PAGE:
        raise Bad("%s: proc/%s/pages data at offset %d, not a multiple of 4096"
                  % (path, pid, m[2]))
    want = sum(e - s for s, e in runs)
    if m[0].size != want:
        raise Bad("%s: proc/%s/pages holds %d bytes, pagemap says %d"
                  % (path, pid, m[0].size, want))
    for (s1, e1), (s2, e2) in zip(runs, runs[1:]):
        if s2 < e1:
            raise Bad("%s: pagemap runs overlap or go back: %x-%x then %x-%x"
                      % (path, s1, e1, s2, e2))


def locate(path, pid, addr, runs=None):
    """offset in the pages data of the byte at addr, or None"""
    if runs is None:
        runs = parse_runs(read_member(path, "proc/%s/pagemap" % pid), path)
    off = 0
    for s, e in runs:
        if s <= addr < e:
            return off + addr - s
        off += e - s
    return None


def peek(path, pid, addr, n):
    runs = parse_runs(read_member(path, "proc/%s/pagemap" % pid), path)
    pages = read_member(path, "proc/%s/pages" % pid)
    out = []
    while n > 0:
        off = locate(path, pid, addr, runs)
        if off is None:
            raise Bad("%s: page 0x%x not stored" % (path, addr & ~(PAGE - 1)))
        # the rest of this run, at most n
        run_end = [e for s, e in runs if s <= addr < e][0]
        chunk = min(n, run_end - addr)
        out.append(pages[off:off + chunk])
        addr += chunk
        n -= chunk
    return b"".join(out)


def pagesum(path, pid, only=()):
    import hashlib
    runs = parse_runs(read_member(path, "proc/%s/pagemap" % pid), path)
    pages = read_member(path, "proc/%s/pages" % pid)
    out = []
    for line in read_member(path, "proc/%s/maps" % pid).decode().splitlines():
        f = line.split(None, 5)
        lo, hi = (int(x, 16) for x in f[0].split("-"))
        if only and not [a for a in only if lo <= a < hi]:
            continue
        h, off = hashlib.sha256(), 0
        for s, e in runs:
            for a in range(max(s, lo), min(e, hi), PAGE):
                h.update(b"%x" % a + pages[off + a - s:off + a - s + PAGE])
            off += e - s
        out.append("%s %s %s" % (f[0], h.hexdigest(), f[5] if len(f) > 5 else ""))
    return out


M64 = (1 << 64) - 1
P1, P2, P3, P4, P5 = (11400714785074694791, 14029467366897019727, 1609587929392839161,
                      9650029242287828579, 2870177450012600261)


def xxh64(data):
    """XXH64, seed 0, of a buffer whose length is a multiple of 32"""
    import struct
    rotl = lambda x, r: ((x << r) | (x >> (64 - r))) & M64
    rnd = lambda acc, x: (rotl((acc + x * P2) & M64, 31) * P1) & M64
    v = [(P1 + P2) & M64, P2, 0, (-P1) & M64]
    words = struct.unpack("<%dQ" % (len(data) // 8), data)
    for i in range(0, len(words), 4):
        v = [rnd(v[j], words[i + j]) for j in range(4)]
    h = (rotl(v[0], 1) + rotl(v[1], 7) + rotl(v[2], 12) + rotl(v[3], 18)) & M64
    for x in v:
        h = ((h ^ rnd(0, x)) * P1 + P4) & M64
    h = (h + len(data)) & M64
    h ^= h >> 33
    h = (h * P2) & M64
    h ^= h >> 29
    h = (h * P3) & M64
    return h ^ (h >> 32)


def check_index(path, pid, only=(), stride=0):
    import struct
    runs = parse_runs(read_member(path, "proc/%s/pagemap" % pid), path)
    held = parse_runs(read_member(path, "proc/%s/index" % pid), path)
    if runs != held:
        raise Bad("%s: proc/%s/index is not the pagemap's runs" % (path, pid))
    pages = read_member(path, "proc/%s/pages" % pid)
    hashes = read_member(path, "proc/%s/hashes" % pid)
    if len(hashes) != len(pages) // PAGE * 8:
        raise Bad("%s: proc/%s/hashes: %d bytes for %d pages" % (path, pid, len(hashes),
                                                                len(pages) // PAGE))
    regions = []
    for line in read_member(path, "proc/%s/maps" % pid).decode().splitlines():
        lo, hi = (int(x, 16) for x in line.split()[0].split("-"))
        if [a for a in only if lo <= a < hi]:
            regions.append((lo, hi))
    addrs = [a for s, e in runs for a in range(s, e, PAGE)]
    n = len(pages) // PAGE
    for i in range(n):
        if only and not [1 for lo, hi in regions if lo <= addrs[i] < hi]:
            continue
        # stride: every stride-th page, the first and last two, and
        # the four around the middle (where a split of the work falls)
        if stride and i % stride and not (i < 2 or i >= n - 2 or abs(i - n // 2) <= 2):
            continue
        want = xxh64(pages[i * PAGE:(i + 1) * PAGE])
        if struct.unpack_from("<Q", hashes, 8 * i)[0] != want:
            raise Bad("%s: proc/%s/hashes: page %x: not its XXH64" % (path, pid, addrs[i]))


def threads(path, pid):
    out, tid = [], None
    for ln in read_member(path, "proc/%s/threads" % pid).decode().splitlines():
        f = ln.split()
        if f and f[0] == "thread":
            tid = f[1]
        elif f and f[0] == "role" and tid:
            out.append("%s %s" % (tid, f[1]))
            tid = None
    return out


def load(path):
    with tarfile.open(path, "r:") as tf:
        return [(m, tf.extractfile(m).read() if m.isfile() else None)
                for m in tf.getmembers()]


def index(mems, name, path):
    for i, (m, _) in enumerate(mems):
        if m.name == name:
            return i
    raise Bad("%s: no member %s" % (path, name))


def write(mems):
    out = tarfile.open(fileobj=sys.stdout.buffer, mode="w|", format=tarfile.PAX_FORMAT)
    for m, data in mems:
        if data is not None:
            m.size = len(data)
            m.pax_headers.pop("size", None)
        out.addfile(m, io.BytesIO(data) if data is not None else None)
    out.close()
    return 0


def join(manifest, imgs):
    mems = []
    for path in imgs:
        got = load(path)
        i = index(got, "ckpt/manifest", path)
        if not mems:
            with open(manifest, "rb") as f:
                mems.append((got[i][0], f.read()))
        mems += got[:i] + got[i + 1:]
    return write(mems)


def rewrite(cmd, args):
    mems = load(args[0])
    i = index(mems, args[1], args[0])
    if cmd == "edit":
        with open(args[2], "rb") as f:
            mems[i] = (mems[i][0], f.read())
    elif cmd == "dup":
        m, data = mems[i]
        mems.insert(i + 1, (copy.copy(m), data))
    else:
        item = mems.pop(i)
        mems.insert(index(mems, args[2], args[0]), item)
    return write(mems)


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, args = argv[1], argv[2:]
    try:
        if cmd == "list" and len(args) == 1:
            for m, _, _ in members(args[0]):
                print(m.name)
        elif cmd == "cat" and len(args) == 2:
            sys.stdout.buffer.write(read_member(args[0], args[1]))
        elif cmd == "check" and args:
            parts, bare = PROC_PARTS, None
            while len(args) > 2 and args[0] in ("--parts", "--bare"):
                if args[0] == "--parts":
                    parts = args[1].split(",") if args[1] else []
                else:
                    bare = args[1]
                args = args[2:]
            for a in args:
                check(a, parts, bare)
        elif cmd == "runs" and len(args) == 2:
            for s, e in parse_runs(read_member(args[0], "proc/%s/pagemap" % args[1]), args[0]):
                print("%x %x" % (s, e))
        elif cmd == "stored" and len(args) == 3:
            return 0 if locate(args[0], args[1], int(args[2], 16)) is not None else 1
        elif cmd == "peek" and len(args) == 4:
            sys.stdout.buffer.write(peek(args[0], args[1], int(args[2], 16), int(args[3], 0)))
        elif cmd == "pagesum" and len(args) >= 2:
            print("\n".join(pagesum(args[0], args[1], [int(a, 16) for a in args[2:]])))
        elif cmd == "index-sample" and len(args) == 3:
            check_index(args[0], args[1], stride=int(args[2]))
        elif cmd == "index" and len(args) >= 2:
            check_index(args[0], args[1], [int(a, 16) for a in args[2:]])
        elif cmd == "threads" and len(args) == 2:
            print("\n".join(threads(args[0], args[1])))
        elif cmd == "join" and len(args) >= 2:
            return join(args[0], args[1:])
        elif (cmd in ("edit", "move") and len(args) == 3) or (cmd == "dup" and len(args) == 2):
            return rewrite(cmd, args)
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except Bad as e:
        print("ckptimg: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
