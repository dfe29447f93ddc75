#!/usr/bin/env bats
# Bad usage, for the commands of the checkpoint side: exit 2 and the
# usage line on stderr, nothing on stdout; --help: usage on stdout, 0.

load helpers

# usage_error CMD ARG...: exit 2, "usage:" on stderr, stdout empty
usage_error() {
	run --separate-stderr "$@"
	echo "exit $status; stdout: $output; stderr: $stderr"
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[[ $stderr == *usage:* ]]
}

# help_ok CMD: exit 0, "usage:" on stdout, stderr empty
help_ok() {
	run --separate-stderr "$@" --help
	echo "exit $status; stdout: $output; stderr: $stderr"
	[ "$status" -eq 0 ]
	[[ $output == *usage:* ]]
	[ -z "$stderr" ]
}

@test "ckpt-freeze: no arguments is a usage error" {
	need ckpt-freeze
	usage_error "$BIN/ckpt-freeze"
}

@test "ckpt-freeze: --help prints usage on stdout" {
	need ckpt-freeze
	help_ok "$BIN/ckpt-freeze"
	[[ $output == *--kill* ]]
	[[ $output == *--timeout* ]]
}

@test "ckpt-freeze: a bad option is a usage error" {
	need ckpt-freeze
	usage_error "$BIN/ckpt-freeze" --bogus 1
	usage_error "$BIN/ckpt-freeze" -Z 1
}

@test "ckpt-freeze: two pids are a usage error" {
	need ckpt-freeze
	usage_error "$BIN/ckpt-freeze" 1 2
}

@test "ckpt-freeze: a pid that is not a number is a usage error" {
	need ckpt-freeze
	local p
	for p in abc 12x '' ' 7' 0x10 99999999999999999999; do
		usage_error "$BIN/ckpt-freeze" "$p"
		[[ $stderr == *"ckpt-freeze: $p: not a pid"* ]]
	done
	usage_error "$BIN/ckpt-freeze" -5
}

@test "ckpt-dumpmem, ckpt-dumpfds: a pid that is not a number is named" {
	need ckpt-dumpmem ckpt-dumpfds
	local c
	for c in ckpt-dumpmem ckpt-dumpfds; do
		usage_error "$BIN/$c" 12x
		[[ $stderr == *"$c: 12x: not a pid"* ]]
	done
}

@test "ckpt-freeze: --timeout without a number is a usage error" {
	need ckpt-freeze
	usage_error "$BIN/ckpt-freeze" --timeout
	usage_error "$BIN/ckpt-freeze" --timeout abc 1
	usage_error "$BIN/ckpt-freeze" --timeout -3 1
}

@test "ckpt-dumpmem: no arguments, --help, a bad option" {
	need ckpt-dumpmem
	usage_error "$BIN/ckpt-dumpmem"
	help_ok "$BIN/ckpt-dumpmem"
	usage_error "$BIN/ckpt-dumpmem" --bogus 1
	usage_error "$BIN/ckpt-dumpmem" abc
	usage_error "$BIN/ckpt-dumpmem" 1 2
	# ckpt-freeze's early start: --offset-fd instead of --offset, --after with it
	usage_error "$BIN/ckpt-dumpmem" --offset-fd 0 1
	usage_error "$BIN/ckpt-dumpmem" --control 0 --offset 0 --offset-fd 0 1
	usage_error "$BIN/ckpt-dumpmem" --control 0 --offset 0 --after 0 1
	[[ $stderr == *"--after goes with --offset-fd"* ]]
}

@test "ckpt-dumpfds: no arguments, --help, a bad option" {
	need ckpt-dumpfds
	usage_error "$BIN/ckpt-dumpfds"
	help_ok "$BIN/ckpt-dumpfds"
	usage_error "$BIN/ckpt-dumpfds" --bogus 1
	usage_error "$BIN/ckpt-dumpfds" abc
	usage_error "$BIN/ckpt-dumpfds" 1 2
}

@test "ckpt-run: no arguments, --help, a bad option" {
	need ckpt-run
	usage_error "$RUN"
	help_ok "$RUN"
	usage_error "$RUN" --bogus true
}

@test "ckpt-run: a program that does not exist: exit 1, naming it" {
	need ckpt-run
	run --separate-stderr "$RUN" -- /nonexistent/prog
	echo "exit $status; stderr: $stderr"
	[ "$status" -eq 1 ]
	[[ $stderr == ckpt-run:*/nonexistent/prog* ]]
}

@test "every command: --help exits 0, a bad option exits 2" {
	local c n=0
	for c in "$CKPT_BUILD"/bin/ckpt-*; do
		[ -x "$c" ] || continue
		n=$((n + 1))
		help_ok "$c"
		usage_error "$c" --no-such-option
	done
	[ "$n" -gt 0 ] || skip "no command built in $CKPT_BUILD/bin"
}

@test "every command: its messages start with its name, never its path" {
	local c n=0 name bad=0
	for c in "$CKPT_BUILD"/bin/ckpt-*; do
		[ -x "$c" ] || continue
		n=$((n + 1))
		name=${c##*/}
		run --separate-stderr "$c" --no-such-option
		while IFS= read -r l; do
			if [[ $l != usage:* && $l != "$name: "* ]]; then
				echo "$name: $l"
				bad=1
			fi
		done <<<"$stderr"
	done
	[ "$n" -gt 0 ] || skip "no command built in $CKPT_BUILD/bin"
	[ "$bad" -eq 0 ]
}
