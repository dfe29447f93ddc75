#!/usr/bin/env bats
# progress.bats - the progress line of ckpt-freeze, ckpt-pack,
# ckpt-unpack and ckpt-thaw (lib/progress.c): on a terminal (a pty
# that script(1) makes) each shows bytes and rate, with percent and
# time left where the total is known, and ends with one last line; on
# a pipe or a file nothing, unless --progress; -q silences it; and the
# stream is byte for byte the same either way.

load helpers
load thaw

# on_pty FILE CMD: run the shell command CMD with a pty as its stdin,
# stdout and stderr; what the terminal got into FILE, \r as newlines
on_pty() {
	local file=$1
	shift
	script -qfec "$1" /dev/null | tr '\r' '\n' >"$file"
	cat "$file"
}

# last_line_ok FILE NAME: FILE's progress ends with NAME's last line
last_line_ok() {
	grep -Eq "^$2: [0-9.]+ (B|KiB|MiB|GiB) in [0-9.]+ s, [0-9.]+ (B|KiB|MiB|GiB)/s" "$1"
}

@test "on a terminal: ckpt-freeze, ckpt-pack and ckpt-unpack show how far they are, and write the same bytes" {
	need ckpt-run ckpt-freeze ckpt-pack ckpt-unpack prog:counter
	start_prog counter -m 128
	freeze_ok "$T/raw0" "$PID"
	on_pty "$T/freeze.tty" "$BIN/ckpt-freeze $PID > $T/raw"
	last_line_ok "$T/freeze.tty" ckpt-freeze
	on_pty "$T/pack.tty" "$BIN/ckpt-pack < $T/raw > $T/packed"
	last_line_ok "$T/pack.tty" ckpt-pack
	# a file's size is known: percent and time left
	on_pty "$T/unpack.tty" "$BIN/ckpt-unpack $T/packed > $T/raw2"
	last_line_ok "$T/unpack.tty" ckpt-unpack
	"$BIN/ckpt-pack" <"$T/raw" >"$T/packed.quiet"
	cmp "$T/packed" "$T/packed.quiet"
	cmp "$T/raw" "$T/raw2"
	alive "$PID"
}

@test "a file the size of which is known: percent of it and time left, as it goes" {
	need ckpt-run ckpt-freeze ckpt-pack ckpt-unpack prog:counter
	start_prog counter -m 256
	freeze_ok "$T/raw" "$PID"
	# --progress on a pipe: every line, slowed by a slow reader
	"$BIN/ckpt-unpack" --progress "$T/raw" 2>"$T/err" | (sleep 0.5; cat >/dev/null)
	tr '\r' '\n' <"$T/err" >"$T/lines"
	cat "$T/lines"
	grep -Eq "^ckpt-unpack: +[0-9]+% [0-9.]+ [KMG]iB of [0-9.]+ MiB, [0-9.]+ [KMG]?i?B/s, [0-9]+ s left" "$T/lines"
	last_line_ok "$T/lines" ckpt-unpack
}

@test "not a terminal: nothing on stderr; --progress forces the line, -q silences a terminal's" {
	need ckpt-run ckpt-freeze ckpt-pack prog:counter
	start_prog counter -m 64
	freeze_ok "$T/raw" "$PID"
	"$BIN/ckpt-pack" <"$T/raw" >"$T/p1" 2>"$T/err"
	[ ! -s "$T/err" ]
	"$BIN/ckpt-pack" --progress <"$T/raw" >"$T/p2" 2>"$T/err"
	tr '\r' '\n' <"$T/err" | last_line_ok /dev/stdin ckpt-pack
	on_pty "$T/q.tty" "$BIN/ckpt-pack -q < $T/raw > $T/p3"
	[ ! -s "$T/q.tty" ]
	on_pty "$T/fq.tty" "$BIN/ckpt-freeze -q $PID > $T/raw3"
	[ ! -s "$T/fq.tty" ]
	cmp "$T/p1" "$T/p2"
	cmp "$T/p1" "$T/p3"
}

@test "ckpt-thaw on a terminal: the line ends before the job runs on" {
	KEY=tick checkpoint_kill counter -m 64
	on_pty "$T/thaw.tty" "$THAW $T/img" &
	TPIDS+=("$!")
	restored counter
	wait_past "$OUT" tick "$(last_num "$OUT" tick)"
	kill -TERM "$PID"
	wait_line "$OUT" '^done ok'
	wait "${TPIDS[-1]}" || true
	last_line_ok "$T/thaw.tty" ckpt-thaw
	no_fail "$OUT"
}
