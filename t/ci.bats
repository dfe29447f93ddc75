#!/usr/bin/env bats
# .ci/tally, the last line of .ci/run: passed, failed and skipped
# counted apart from real bats output, and a skip as root is a failure

load helpers

# tap NAME BODY...: the TAP output of bats on a file of one-line tests
tap() {
	local f=$BATS_TEST_TMPDIR/$1.bats
	shift
	printf '%s\n' "$@" >"$f"
	bats --tap "$f" >"$f.tap" || true
	cat "$f.tap"
}

@test "ci: a skipped test is counted as skipped, not passed" {
	tap mixed '@test "a" { true; }' '@test "b" { skip "why"; }' '@test "c" { false; }'
	run "$CKPT_ROOT/.ci/tally" "$BATS_TEST_TMPDIR/mixed.bats.tap"
	echo "$output"
	[ "$status" -eq 1 ]
	[ "${lines[0]}" = "1 passed, 1 failed, 1 skipped" ]
}

@test "ci: as root, a skip fails the run and is named; else it does not" {
	tap skips '@test "a" { true; }' '@test "needs a thing" { skip "no thing"; }'
	run "$CKPT_ROOT/.ci/tally" "$BATS_TEST_TMPDIR/skips.bats.tap"
	echo "$output"
	[ "${lines[0]}" = "1 passed, 0 failed, 1 skipped" ]
	if [ "$(id -u)" = 0 ]; then
		[ "$status" -eq 1 ]
		[[ $output == *"needs a thing # skip"* ]]
	else
		[ "$status" -eq 0 ]
	fi
	tap clean '@test "a" { true; }' '@test "b" { true; }'
	run "$CKPT_ROOT/.ci/tally" "$BATS_TEST_TMPDIR/clean.bats.tap"
	[ "$status" -eq 0 ]
	[ "$output" = "2 passed, 0 failed, 0 skipped" ]
}
