#!/usr/bin/env bats
# pack.bats - ckpt-pack and ckpt-unpack on streams of real processes:
# pack then unpack gives the raw stream back byte for byte, plain tar
# reads images, and a flipped byte or a cut anywhere stops unpack
# before it passes on anything it has not verified.

load helpers

setup() {
	ckpt_setup
	need ckpt-pack ckpt-unpack
}

teardown() {
	ckpt_teardown
}

PART=$((8 << 20))   # original bytes in one lz4 part (formats/packing.md)

# raw_of NAME ARGS...: start a program, freeze it into $T/NAME.raw
raw_of() {
	local name=$1
	shift
	need ckpt-run ckpt-freeze "prog:$name"
	start_prog "$name" "$@"
	freeze_ok "$BATS_TEST_TMPDIR/$name.raw" "$PID"
}

# pack_ok RAW IMG [ARGS]: ckpt-pack ARGS < RAW > IMG, silently
pack_ok() {
	local rc=0
	"$BIN/ckpt-pack" "${@:3}" <"$1" >"$2" 2>"$2.err" || rc=$?
	if [ "$rc" -ne 0 ] || [ -s "$2.err" ]; then
		echo "ckpt-pack exited $rc:" >&2
		cat "$2.err" >&2
		return 1
	fi
}

# roundtrip RAW: pack, unpack, compare; leaves the image in RAW.img
roundtrip() {
	pack_ok "$1" "$1.img"
	"$BIN/ckpt-unpack" <"$1.img" >"$1.back"
	cmp "$1" "$1.back"
	tar xOf "$1.img" ckpt/manifest 2>/dev/null | grep -qx 'packed 1'
	tar xOf "$1" ckpt/manifest | grep -qx 'packed 0'
}

# is_prefix OUT RAW: OUT is the first bytes of RAW (maybe none)
is_prefix() {
	head -c "$(stat -c %s "$1")" "$2" | cmp - "$1"
}

# members IMG: "NAME DATA_OFFSET SIZE" per member
members() {
	python3 -c '
import sys, tarfile
for m in tarfile.open(sys.argv[1]).getmembers():
    print(m.name, m.offset_data, m.size)' "$1"
}

# raw_start RAW NAME: where member NAME starts in RAW (its pax header
# included), and where its data starts
raw_start() {
	python3 -c '
import sys, tarfile
for m in tarfile.open(sys.argv[1]).getmembers():
    if m.name == sys.argv[2]:
        print(m.offset, m.offset_data)' "$1" "$2"
}

# flip FILE OFFSET: xor one byte of FILE with 0x55
flip() {
	python3 -c '
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2])); b = f.read(1); f.seek(int(sys.argv[2]))
    f.write(bytes([b[0] ^ 0x55]))' "$1" "$2"
}

@test "usage: bad options and operands exit 2 with the usage line" {
	run -2 "$BIN/ckpt-pack" --bogus
	[[ $output == *"usage: ckpt-pack"* ]]
	run -2 "$BIN/ckpt-pack" extra
	[[ $output == *"usage: ckpt-pack"* ]]
	run -2 "$BIN/ckpt-pack" --level 13
	[[ $output == *"--level 13"* ]]
	run -2 "$BIN/ckpt-pack" --level x
	run -2 "$BIN/ckpt-pack" --threads 0
	run -2 "$BIN/ckpt-unpack" --bogus
	[[ $output == *"usage: ckpt-unpack"* ]]
	run -0 "$BIN/ckpt-pack" --help
	[[ $output == "usage: ckpt-pack"* ]]
	run -0 "$BIN/ckpt-unpack" --help
	[[ $output == "usage: ckpt-unpack"* ]]
}

@test "input that is not an image fails clearly, with nothing out" {
	run -1 --separate-stderr "$BIN/ckpt-unpack" </dev/null
	[[ $stderr == "ckpt-unpack: empty input" ]]
	[ -z "$output" ]
	run -1 --separate-stderr "$BIN/ckpt-unpack" < <(head -c 4000 /dev/urandom)
	[[ $stderr == "ckpt-unpack: "* ]]
	[ -z "$output" ]
	run -1 --separate-stderr "$BIN/ckpt-pack" < <(tar cf - -C "$CKPT_ROOT" Makefile)
	[[ $stderr == "ckpt-pack: not an image: first member is Makefile, not ckpt/manifest" ]]
	[ -z "$output" ]
	run -1 "$BIN/ckpt-unpack" /nonexistent/img
	[[ $output == "ckpt-unpack: /nonexistent/img: No such file or directory" ]]
}

@test "unpack of a packed counter gives its raw stream back, byte for byte" {
	raw_of counter -m 20
	R=$BATS_TEST_TMPDIR/counter.raw
	roundtrip "$R"
	# the pages went in lz4 parts, and they compress
	tar tf "$R.img" 2>/dev/null | grep -qx "proc/$PID/pages.lz4"
	tar tf "$R.img" 2>/dev/null | grep -qx "proc/$PID/pages.lz4.1"
	! tar tf "$R.img" 2>/dev/null | grep -qx "proc/$PID/pages" || false
	[ "$(stat -c %s "$R.img")" -lt "$(stat -c %s "$R")" ]
	# the file operand reads the same
	"$BIN/ckpt-unpack" "$R.img" | cmp - "$R"
	# and the program never noticed
	verify_prog
}

@test "unpack of a packed multi-threaded program gives its raw stream back" {
	raw_of mt 6
	roundtrip "$BATS_TEST_TMPDIR/mt.raw"
}

@test "unpack of a packed 128 MiB incompressible program gives its raw stream back" {
	raw_of pack_mem 128
	R=$BATS_TEST_TMPDIR/pack_mem.raw
	[ "$(stat -c %s "$R")" -gt $((128 << 20)) ]
	roundtrip "$R"
	# stored uncompressed inside the frames: hardly bigger than raw
	[ "$(stat -c %s "$R.img")" -lt $(($(stat -c %s "$R") * 101 / 100)) ]
	# the HC level and one thread make the same stream back
	pack_ok "$R" "$R.hc" --level 9 --threads 1
	"$BIN/ckpt-unpack" <"$R.hc" | cmp - "$R"
}

@test "a 64 MiB text program packs 3 to 1 or better, and comes back" {
	raw_of pack_mem 64 text
	R=$BATS_TEST_TMPDIR/pack_mem.raw
	roundtrip "$R"
	[ "$(stat -c %s "$R.img")" -lt $(($(stat -c %s "$R") / 3)) ]
}

@test "members at the edges (0, 4095, 4096 bytes, a part and a byte, long names, alignment) come back" {
	need prog:pack_gen
	R=$BATS_TEST_TMPDIR/gen.raw
	"$PROGS/pack_gen" >"$R"
	roundtrip "$R"
	tar tf "$R.img" 2>/dev/null >"$R.list"
	grep -qx proc/1/m4095 "$R.list"
	grep -qx proc/1/m4096.lz4 "$R.list"
	grep -qx proc/1/m8388608.lz4 "$R.list"
	! grep -qx proc/1/m8388608.lz4.1 "$R.list" || false
	grep -qx proc/1/m8388609.lz4.1 "$R.list"
	grep -q '^proc/1/files/0*7.lz4$' "$R.list"
	for t in 1 3; do
		pack_ok "$R" "$R.t$t" --threads "$t" --level 12
		"$BIN/ckpt-unpack" "$R.t$t" | cmp - "$R"
	done
	cmp "$R.t1" "$R.t3"
}

@test "pack of a packed image leaves it unchanged; unpack of a raw stream too" {
	raw_of counter -m 4
	R=$BATS_TEST_TMPDIR/counter.raw
	pack_ok "$R" "$R.img"
	pack_ok "$R.img" "$R.img2"
	cmp "$R.img" "$R.img2"
	"$BIN/ckpt-unpack" <"$R" | cmp - "$R"
}

@test "GNU tar and bsdtar list and extract an image, without a warning; lz4 reads the parts" {
	raw_of counter -m 12
	R=$BATS_TEST_TMPDIR/counter.raw
	pack_ok "$R" "$R.img"
	tar tvf "$R.img" >"$R.gnu" 2>"$R.gnu.err"
	cat "$R.gnu.err"
	[ ! -s "$R.gnu.err" ]
	grep -q "proc/$PID/pages.lz4$" "$R.gnu"
	bsdtar tvf "$R.img" >"$R.bsd" 2>"$R.bsd.err"
	cat "$R.bsd.err"
	[ ! -s "$R.bsd.err" ]
	grep -q "proc/$PID/pages.lz4.1$" "$R.bsd"
	[ "$(wc -l <"$R.gnu")" -eq "$(wc -l <"$R.bsd")" ]
	mkdir "$BATS_TEST_TMPDIR/x"
	bsdtar xf "$R.img" -C "$BATS_TEST_TMPDIR/x"
	cmp "$BATS_TEST_TMPDIR/x/proc/$PID/core" <(tar xOf "$R" "proc/$PID/core")
	tar xOf "$R.img" --wildcards "proc/$PID/pages.lz4*" | lz4 -dc |
		cmp - <(tar xOf "$R" "proc/$PID/pages")
}

@test "unpack reads compressed images and pack compressed raw streams" {
	raw_of counter -m 4
	R=$BATS_TEST_TMPDIR/counter.raw
	pack_ok "$R" "$R.img"
	zstd -q <"$R.img" | "$BIN/ckpt-unpack" | cmp - "$R"
	gzip <"$R.img" | "$BIN/ckpt-unpack" | cmp - "$R"
	xz -T1 -0 <"$R" | "$BIN/ckpt-pack" | "$BIN/ckpt-unpack" | cmp - "$R"
}

@test "a flipped byte in any member's data: unpack names it and stops before it" {
	raw_of counter -m 20
	R=$BATS_TEST_TMPDIR/counter.raw
	pack_ok "$R" "$R.img"
	local name off size start dstart limit k base n=0
	while read -r name off size; do
		[ "$size" -gt 0 ] || continue
		cp "$R.img" "$R.bad"
		flip "$R.bad" $((off + size / 2))
		rc=0
		"$BIN/ckpt-unpack" <"$R.bad" >"$R.out" 2>"$R.err" || rc=$?
		echo "$name: exit $rc: $(cat "$R.err")"
		[ "$rc" -eq 1 ]
		grep -Eq "^ckpt-unpack: $name: (checksum mismatch|corrupt lz4 frame)" "$R.err"
		is_prefix "$R.out" "$R"
		# nothing of the bad part went out: a first part or a plain
		# member not even its header, part k no byte from k * PART
		base=${name%.lz4*}
		read -r start dstart < <(raw_start "$R" "$base")
		case $name in
		*.lz4.*) k=${name##*.}; limit=$((dstart + k * PART)) ;;
		*) limit=$start ;;
		esac
		[ "$(stat -c %s "$R.out")" -le "$limit" ]
		n=$((n + 1))
	done < <(members "$R.img")
	[ "$n" -ge 9 ]
}

@test "a damaged packed line cannot pass an image off as a raw stream" {
	raw_of counter -m 4
	R=$BATS_TEST_TMPDIR/counter.raw
	pack_ok "$R" "$R.img"
	python3 -c '
import sys
d = bytearray(open(sys.argv[1], "rb").read())
d[d.index(b"\npacked 1\n") + 8] = ord("0")
open(sys.argv[2], "wb").write(d)' "$R.img" "$R.bad"
	run -1 --separate-stderr "$BIN/ckpt-unpack" "$R.bad"
	[[ $stderr == "ckpt-unpack: ckpt/manifest: checksum mismatch" ]]
	[ -z "$output" ]
}

@test "an image cut anywhere: unpack says truncated, exit 1, no trailer" {
	raw_of counter -m 12
	R=$BATS_TEST_TMPDIR/counter.raw
	pack_ok "$R" "$R.img"
	local size cut rc
	size=$(stat -c %s "$R.img")
	for cut in 0 100 512 700 1536 3000 $((size / 3)) $((size / 2)) \
		$((size - 1024 - 700)) $((size - 1024)) $((size - 512)) $((size - 1)); do
		rc=0
		head -c "$cut" "$R.img" | "$BIN/ckpt-unpack" >"$R.out" 2>"$R.err" || rc=$?
		echo "cut at $cut: exit $rc: $(cat "$R.err")"
		[ "$rc" -eq 1 ]
		grep -Eq "^ckpt-unpack: (.*truncated|empty input)" "$R.err"
		is_prefix "$R.out" "$R"
		[ "$(stat -c %s "$R.out")" -lt "$(stat -c %s "$R")" ]
	done
}

@test "a raw stream cut short: pack says truncated, exit 1, its image has no trailer" {
	raw_of counter -m 20
	R=$BATS_TEST_TMPDIR/counter.raw
	local cut rc
	for cut in 1000 $(($(stat -c %s "$R") / 2)) $(($(stat -c %s "$R") - 512)); do
		rc=0
		head -c "$cut" "$R" | "$BIN/ckpt-pack" >"$R.img" 2>"$R.err" || rc=$?
		echo "cut at $cut: exit $rc: $(cat "$R.err")"
		[ "$rc" -eq 1 ]
		grep -q "^ckpt-pack: .*truncated" "$R.err"
		run -1 --separate-stderr "$BIN/ckpt-unpack" "$R.img"
		[[ $stderr == *truncated* || $stderr == *"empty input" ]]
	done
}

@test "an image missing a part: unpack names the part" {
	raw_of counter -m 20
	R=$BATS_TEST_TMPDIR/counter.raw
	pack_ok "$R" "$R.img"
	# the part's pax header, header and data cut out
	python3 -c '
import sys, tarfile
src = open(sys.argv[1], "rb").read()
ms = tarfile.open(sys.argv[1]).getmembers()
i = [m.name for m in ms].index(sys.argv[3])
cut_from, cut_to = ms[i].offset, ms[i + 1].offset
open(sys.argv[2], "wb").write(src[:cut_from] + src[cut_to:])' "$R.img" "$R.cut" "proc/$PID/pages.lz4.1"
	run -1 --separate-stderr "$BIN/ckpt-unpack" "$R.cut"
	[[ $stderr == "ckpt-unpack: proc/$PID/pages.lz4: part proc/$PID/pages.lz4.1 missing" ]]
}

@test "unpack of a chain whose link is missing names it (chains: t/incr.bats)" {
	run -1 --separate-stderr "$BIN/ckpt-unpack" "$BATS_TEST_TMPDIR/a" b
	[[ $stderr == "ckpt-unpack: $BATS_TEST_TMPDIR/a: No such file or directory" ]]
	[ -z "$output" ]
}

# tsan_pack ARGS: the ThreadSanitizer build of ckpt-pack (make SAN=thread
# tsan; make check builds it), with any race report an exit of 66
tsan_pack() {
	TSAN_OPTIONS=halt_on_error=1:exitcode=66 "${CKPT_TSAN_BUILD:-$CKPT_ROOT/build-tsan}/bin/ckpt-pack" "$@"
}

@test "ckpt-pack under ThreadSanitizer: to /dev/full, a pipe closed early and a pipe, no race" {
	[ -x "${CKPT_TSAN_BUILD:-$CKPT_ROOT/build-tsan}/bin/ckpt-pack" ] ||
		skip "the ThreadSanitizer build is not made (make SAN=thread tsan)"
	raw_of counter -m 24
	R=$BATS_TEST_TMPDIR/counter.raw
	local rc t
	for t in 1 4; do
		rc=0
		tsan_pack --threads "$t" <"$R" >/dev/full 2>"$R.err" || rc=$?
		cat "$R.err"
		[ "$rc" -eq 1 ]
		grep -q "No space left on device" "$R.err"
		! grep -q ThreadSanitizer "$R.err"
		# a reader gone: EPIPE or SIGPIPE, either way no race
		tsan_pack --threads "$t" <"$R" 2>"$R.err" | head -c 5000 >/dev/null
		rc=${PIPESTATUS[0]}
		cat "$R.err"
		[ "$rc" -eq 1 ] || [ "$rc" -eq 141 ]
		! grep -q ThreadSanitizer "$R.err"
		tsan_pack --threads "$t" <"$R" 2>"$R.err" | cat >"$R.img"
		cat "$R.err"
		[ ! -s "$R.err" ]
		"$BIN/ckpt-unpack" "$R.img" | cmp - "$R"
	done
}
