#!/bin/bash
# t25: scripts/check-layers, the layer rule of docs/architecture.md, on
# small trees made here: a clean one passes, and each kind of violation
# planted in it fails its own check with a line naming the file, the line
# and the rule (what sits in a comment or a string does not count).
. "$(dirname "$0")/lib.sh"

CHECK=$E2E_DIR/../../scripts/check-layers

# clean_tree: a tree that keeps every rule: cli -> engine -> repo -> store
# -> util, the environment read in cli/, the store called from repo/, and
# the words the rules look for only in comments and strings.
clean_tree()
{
	mkdir -p t/src/cli t/src/engine t/src/repo t/src/store t/src/util t/docs
	printf '#include "util/log.h"\n' >t/src/store/store.h
	printf '#include "store/store.h"\nint cairn_repo_get(void) { return cairn_store_get(0); }\n' >t/src/repo/repo.c
	printf '/* #include "state/state.h" is not here, nor getenv("X") */\n#include "repo/repo.h"\n' >t/src/engine/backup.c
	printf 'static const char *s = "cairn_store_put(x) getenv(y)";\n' >>t/src/engine/backup.c
	printf '#include "engine/engine.h"\n#include "cairn/error.h"\nconst char *e(void) { return getenv("HOME"); }\n' >t/src/cli/main.c
	printf 'The design: docs/design.md section 4.\n' >t/docs/design.md
}

# run_check: the script's output in out, its exit status in rc.
run_check()
{
	rc=0
	python3 "$CHECK" --root t "$@" >out 2>&1 || rc=$?
	cat out
}

t_clean()
{
	clean_tree
	run_check
	[ "$rc" -eq 0 ] || fail "a clean tree failed (exit $rc)"
	[ "$(tail -n 1 out)" = "5 passed, 0 failed, 0 skipped" ] || fail "last line: $(tail -n 1 out)"
	[ "$(wc -l <out)" -eq 1 ] || fail "a clean tree printed more than the result line"
}

# planted WHAT EXPECTED-LINE [N]: plants a violation (the shell code in
# WHAT) in a clean tree and expects N violation lines (1), the first one
# EXPECTED-LINE (a grep -E pattern), and the rule's check alone failed.
planted()
{
	clean_tree
	eval "$1"
	run_check
	[ "$rc" -eq 1 ] || fail "exit $rc, not 1"
	[ "$(tail -n 1 out)" = "4 passed, 1 failed, 0 skipped" ] || fail "last line: $(tail -n 1 out)"
	[ "$(wc -l <out)" -eq $((${3:-1} + 1)) ] || fail "not ${3:-1} violation line(s)"
	head -n 1 out | grep -qE "$2" || fail "violation line: $(head -n 1 out)"
}

t_include()
{
	planted "printf '#include \"repo/repo.h\"\n\n#include \"state/jobs.h\"\n' >t/src/engine/run.c" \
		'^src/engine/run\.c:3: include: engine/ may not include state/ \(state/jobs\.h\)$'
}

t_include_up()
{
	planted "printf '#include \"engine/engine.h\"\n' >t/src/repo/pack.c" \
		'^src/repo/pack\.c:1: include: repo/ may not include engine/'
}

t_cycle()
{
	planted "printf '#include \"repo/pack.h\"\n' >t/src/repo/index.c; printf '#include \"repo/index.h\"\n' >t/src/repo/pack.c; touch t/src/repo/index.h t/src/repo/pack.h" \
		'^src/repo/index\.c:1: module-cycle: repo/index <-> repo/pack$' 2
	grep -qx 'src/repo/pack.c:1: module-cycle: repo/index <-> repo/pack' out || fail "pack.c's include not named"
}

t_store_call()
{
	planted "printf 'int f(void)\n{\n\treturn cairn_store_del (0, \"backups/x\");\n}\n' >t/src/engine/forget.c" \
		'^src/engine/forget\.c:3: store-calls: cairn_store_del '
}

t_getenv()
{
	planted "printf '\n/* settings */\nint t(void) { return !!getenv(\"CAIRN_THREADS\"); }\n' >t/src/engine/common.c" \
		'^src/engine/common\.c:3: getenv: '
}

t_design_ref()
{
	local name=DESIGN
	planted "printf 'Layers\n(see the %s.md, section 4)\n' $name >t/docs/notes.md" \
		'^docs/notes\.md:2: design-refs: '
}

t_graph()
{
	clean_tree
	run_check --graph
	[ "$rc" -eq 0 ] || fail "--graph exited $rc"
	grep -qx 'engine/  *-> repo/ 1' out || fail "no 'engine/ -> repo/ 1' line"
	grep -qE '^cli/ +-> engine/ 1  cairn/ 1$' out || fail "no 'cli/ -> engine/ 1  cairn/ 1' line"
}

test_case "a tree that keeps the rules passes, with the runner's result line alone" t_clean
test_case "engine including state/ fails the include check, naming file, line and header" t_include
test_case "repo including engine/ (upwards) fails the include check" t_include_up
test_case "index and pack including each other fail the module-cycle check" t_cycle
test_case "cairn_store_del called in engine/ fails the store-calls check" t_store_call
test_case "getenv in engine/ fails the getenv check" t_getenv
test_case "a reference to the design file outside the repository fails the design-refs check" t_design_ref
test_case "--graph prints folder -> folder include counts" t_graph

test_done
