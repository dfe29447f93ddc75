#!/usr/bin/env bats
# bats-helper.bats - the bats helper library users load in their own
# tests (share/ckpt.bash, ckpt-bats(7)), tried the way they use it: the
# example suite of doc/example/ passes, checkpoints at random moments
# really checkpoint and restore, a program whose output changes is
# caught, and a test that fails half-way leaves no process behind.

CKPT_RUN_BIN=${CKPT_BUILD:-$BATS_TEST_DIRNAME/../build}/bin
load "$("$CKPT_RUN_BIN/ckpt-run" --bats-helper)"
# the library's ckpt_teardown under another name: helpers.bash has its own
eval "$(declare -f ckpt_teardown | sed '1s/ckpt_teardown/lib_teardown/')"
load helpers

setup() {
	ckpt_setup
	need ckpt-run ckpt-freeze ckpt-pack ckpt-thaw
}

teardown() {
	lib_teardown
	ckpt_teardown
}

@test "ckpt-run --bats-helper names the library beside it" {
	run "$CKPT_RUN_BIN/ckpt-run" --bats-helper
	[ "$status" -eq 0 ]
	[ "$output" = "$(readlink -f "$CKPT_BUILD/share/ckpt/ckpt.bash")" ]
}

@test "the example suite of doc/example passes, as a user runs it" {
	run env PATH="$CKPT_RUN_BIN:$PATH" bats --tap "$CKPT_ROOT/doc/example"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(grep -c '^ok ' <<<"$output")" -eq 3 ]
}

@test "ckpt_random 3: three checkpoints with --kill and three restores, and the output of a run without them" {
	ckpt_random 3 bash -c 'for ((i = 0; i < 150; i++)); do echo "line $i"; sleep 0.01; done'
	[ "$(ls "$CKPT_DIR"/at*.img | wc -l)" -eq 3 ]
	[ "$(wc -l <"$CKPT_OUT")" -eq 150 ]
	[ "${#CKPT_THAWS[@]}" -eq 3 ]
}

@test "a program whose output is not the same with a checkpoint: ckpt_roundtrip fails and shows the difference" {
	run ckpt_roundtrip bash -c 'echo "random $RANDOM$RANDOM"; sleep 1; echo end'
	echo "$output"
	[ "$status" -eq 1 ]
	[[ $output == *"the output differs with a checkpoint and restore"*"+random "* ]]
}

@test "a test that fails half-way leaves none of its jobs behind" {
	# (printf: bats would take a test line of a here-document for its own)
	printf '%s\n' "load \"$("$CKPT_RUN_BIN/ckpt-run" --bats-helper)\"" \
		'teardown() { ckpt_teardown; }' \
		'@test "fails" {' \
		'	ckpt_start sleep 1000' \
		"	echo \"\$CKPT_PID\" >$BATS_TEST_TMPDIR/started" \
		'	ckpt_checkpoint "$BATS_TEST_TMPDIR/img" --kill' \
		'	ckpt_restore "$BATS_TEST_TMPDIR/img"' \
		"	echo \"\$CKPT_PID \$CKPT_THAW\" >>$BATS_TEST_TMPDIR/started" \
		'	false' '}' >"$BATS_TEST_TMPDIR/fails.bats"
	cat "$BATS_TEST_TMPDIR/fails.bats"
	run bats --tap "$BATS_TEST_TMPDIR/fails.bats"
	echo "$output"
	[ "$status" -eq 1 ]
	cat "$BATS_TEST_TMPDIR/started"
	[ "$(wc -w <"$BATS_TEST_TMPDIR/started")" -eq 3 ]
	for p in $(cat "$BATS_TEST_TMPDIR/started"); do
		dead "$p"
	done
}

@test "the example suite passes as an unprivileged user too (restores in a new user+pid namespace)" {
	[ "$(id -u)" = 0 ] || skip "making a user needs root"
	throwaway_user ckbh
	run setpriv --reuid="$NEW_USER" --regid="$NEW_USER" --init-groups \
		env HOME="/home/$NEW_USER" TMPDIR="/home/$NEW_USER" PATH="$CKPT_RUN_BIN:$PATH" \
		bats --tap "$CKPT_ROOT/doc/example"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(grep -c '^ok ' <<<"$output")" -eq 3 ]
}

@test "installed: make install puts the library where the installed ckpt-run finds it, and it uses the installed tools" {
	make -s -C "$CKPT_ROOT" install PREFIX="$BATS_TEST_TMPDIR/inst" DESTDIR= >/dev/null
	local lib
	lib=$("$BATS_TEST_TMPDIR/inst/bin/ckpt-run" --bats-helper)
	[ "$lib" = "$BATS_TEST_TMPDIR/inst/share/ckpt/ckpt.bash" ]
	[ -f "$BATS_TEST_TMPDIR/inst/share/man/man7/ckpt-bats.7" ]
	(CKPT_BIN= && source "$lib" && [ "$CKPT_BIN" = "$BATS_TEST_TMPDIR/inst/bin" ])
}
