#!/usr/bin/env bats
# show.bats - ckpt-show on images of real programs: what it says is
# what the image holds (its JSON checked by t/showcheck.py against the
# schema of formats/show.md and against the image's own members), the
# same from a raw stream, a packed image and a compressed pipe; a job's
# processes, its zombie and what its processes share; and a bad image
# is an error that names it, with nothing on stdout.

load helpers
load thaw
load tree

setup() {
	tree_setup
	need ckpt-run ckpt-freeze ckpt-pack ckpt-show
}

teardown() {
	tree_teardown
}

# show_ok IMG ARGS...: ckpt-show ARGS IMG into $T/show.out, silently
show_ok() {
	local img=$1
	shift
	stream_ok ckpt-show "$T/show.out" "$@" "$img"
}

# json_ok RAW: ckpt-show --json of RAW passes showcheck against RAW
json_ok() {
	show_ok "$1" --json
	"$PYTHON" "$CKPT_ROOT/t/showcheck.py" "$T/show.out" "$1"
}

# jq_py EXPR: EXPR (python, over the JSON as d) on $T/show.out
jq_py() {
	"$PYTHON" -c "import json,sys; d=json.load(open(sys.argv[1])); print($1)" "$T/show.out"
}

@test "a process: its command line, threads, every region with the bytes stored, every fd and what a restore does, every member" {
	need prog:counter
	start_prog counter -m 4 -i 50 -s 12
	freeze_ok "$T/raw" "$PID"
	json_ok "$T/raw"
	[ "$(jq_py "' '.join(d['processes'][0]['argv'][1:])")" = "-m 4 -i 50 -s 12" ]
	[ "$(jq_py "len(d['processes'][0]['threads'])")" = "$(ls "/proc/$PID/task" | wc -l)" ]
	# the 4 MiB of pattern are stored, in one region
	[ "$(jq_py "max(r['stored'] for r in d['processes'][0]['memory']['regions'])")" -ge $((4 << 20)) ]
	show_ok "$T/raw"
	cat "$T/show.out"
	grep -q "^process $PID: parent $$, " "$T/show.out"
	grep -qx "  command $PROGS/counter -m 4 -i 50 -s 12" "$T/show.out"
	grep -q "^ *1 file .*$OUT *reopened by path$" "$T/show.out"
	grep -q "^    pages .*MiB" "$T/show.out"
	alive "$PID"
}

@test "raw, packed, and compressed through a pipe: the same description, and the sizes as stored" {
	need prog:counter
	start_prog counter -m 16
	freeze_ok "$T/raw" "$PID"
	"$BIN/ckpt-pack" <"$T/raw" >"$T/packed"
	show_ok "$T/raw" --json
	mv "$T/show.out" "$T/raw.json"
	show_ok "$T/packed" --json
	mv "$T/show.out" "$T/packed.json"
	zstd -q <"$T/packed" | "$BIN/ckpt-show" --json >"$T/show.out"
	mv "$T/show.out" "$T/zstd.json"
	"$PYTHON" - "$T" "$(stat -c %s "$T/packed")" <<'EOF'
import json, sys
t, packed_size = sys.argv[1], int(sys.argv[2])
raw, packed, z = (json.load(open(f"{t}/{n}.json")) for n in ("raw", "packed", "zstd"))
for d in (raw, packed, z):
    d["image"]["packed"] = None
    b = d["image"].pop("bytes")
    d["sizes"] = b
    for m in d["members"] + d["processes"][0]["members"]:
        m.pop("stored")
assert raw == {**packed, "sizes": raw["sizes"]}, "raw and packed differ"
assert packed == {**z, "sizes": packed["sizes"]}, "packed and zstd differ"
# packed, the members are stored smaller
rb, pb, zb = raw["sizes"], packed["sizes"], z["sizes"]
assert rb["stored"] == rb["raw"] and pb["stored"] < rb["raw"], (rb, pb)
assert pb["input"] == packed_size, (pb, packed_size)
assert zb["input"] < pb["input"] and zb["raw"] == rb["raw"], (zb, pb)
print("same description; raw", rb, "packed", pb, "zstd", zb)
EOF
}

@test "a job: every process with its parent, group and session, its zombie's status, and the pipes and files its processes share" {
	need prog:pipestage prog:zombie
	start_job pipeline 4 2048
	freeze_ok "$T/raw" "$PID"
	json_ok "$T/raw"
	[ "$(jq_py "len(d['processes'])")" = 4 ]
	[ "$(jq_py "d['processes'][0]['pid']")" = "$PID" ]
	# each stage's stdin or stdout is the pipe of another stage
	[ "$(jq_py "sum(f['restore'].startswith('the same open file as pid') for p in d['processes'] for f in p['fds'])")" -ge 2 ]
	show_ok "$T/raw" --summary
	cat "$T/show.out"
	[ "$(grep -c "^process [0-9]*: parent " "$T/show.out")" = 4 ]
	# a zombie
	start_job zombie 2 7
	freeze_ok "$T/z" "$PID"
	json_ok "$T/z"
	[ "$(jq_py "[p['status'] for p in d['processes'] if p['zombie']][0]")" = $((7 << 8)) ]
}

@test "a command line with spaces, a tab, a newline and bytes that are not UTF-8 comes back exact in JSON" {
	need prog:counter
	ln -s "$PROGS/counter" "$T/cou nter"
	"$RUN" -- "$T/cou nter" -i 50 "$(printf 'a b\tc\nd\377')" >"$T/o" 2>"$T/e" 3>&- &
	PID=$!
	STARTED+=("$PID")
	wait_line "$T/o" '^ready ' 20
	freeze_ok "$T/raw" "$PID"
	json_ok "$T/raw"
	# a byte that is not UTF-8 is a lone surrogate (formats/show.md)
	jq_py "repr([a.encode('utf-8', 'surrogateescape') for a in d['processes'][0]['argv']])" >"$T/argv"
	cat "$T/argv"
	[ "$(cat "$T/argv")" = "[b'$T/cou nter', b'-i', b'50', b'a b\\tc\\nd\\xff']" ]
}

@test "a cut or corrupt image: exit 1, the input and the member named, nothing on stdout" {
	need prog:counter
	start_prog counter
	freeze_ok "$T/raw" "$PID"
	head -c 3000 "$T/raw" >"$T/cut"
	run --separate-stderr "$BIN/ckpt-show" "$T/cut"
	echo "exit $status; $stderr"
	[ "$status" -eq 1 ]
	[[ $stderr == "ckpt-show: $T/cut: "*proc/$PID/core* ]]
	[ -z "$output" ]
	printf 'not an image at all' >"$T/junk"
	run --separate-stderr "$BIN/ckpt-show" <"$T/junk"
	echo "exit $status; $stderr"
	[ "$status" -eq 1 ]
	[[ $stderr == "ckpt-show: stdin: "* ]]
	[ -z "$output" ]
	run "$BIN/ckpt-show" a b
	[ "$status" -eq 2 ]
}
