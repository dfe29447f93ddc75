# ckpt - plain make.  What a packager overrides comes first.
PREFIX  = /usr/local
DESTDIR =
CC      = cc
CFLAGS  = -O2 -g
LDFLAGS =

# SAN=1 builds the commands with ASan/UBSan into build-san/ (the shim and
# the restorer are never built so: they run in frozen or bare processes);
# SAN=thread the threaded ones (TSAN_CMDS) with ThreadSanitizer into
# build-tsan/
SAN =
TSAN_CMDS = ckpt-pack
ifeq ($(SAN),1)
B       = build-san
SANFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
else ifeq ($(SAN),thread)
B       = build-tsan
SANFLAGS = -fsanitize=thread -fno-omit-frame-pointer
else
B       = build
SANFLAGS =
endif

# arch code lives in lib/$(ARCH), preload/$(ARCH), restorer/$(ARCH)
ARCH      = x86_64
# vim: a test dependency (t/seize.bats restores Debian's vim, whose
# SIGEV_THREAD timer helper blocks every signal); expect, tmux, screen:
# t/pty.bats (programs on pseudo-terminals nobody here wrote); socat:
# t/unixsock.bats restores it as a unix socket server and client;
# redis-server, redis-tools: t/inet.bats restores a real TCP server
# with a client in its job and one outside (doc/design.md, Testing)
DEPS_PKGS = musl-tools libarchive-dev liblz4-dev bats libarchive-tools lz4 zstd xz-utils bzip2 python3 \
	clang-14 libclang-rt-14-dev libtsan2 vim openssh-server openssh-client expect tmux screen socat \
	redis-server redis-tools
WARN      = -std=gnu11 -Wall -Wextra -Werror
CPPFLAGS  = -D_GNU_SOURCE -Ilib -Ilib/$(ARCH)
LIBS      = -larchive -llz4 -lpthread
# libarchive (with libxml2, ICU and libstdc++ behind it) costs 1.4 ms of
# dynamic linking at each start: only the commands that read or write
# packed images link it; the others leave out the code they never call
# (--gc-sections), and ckpt-freeze starts two stages per process
PACK_CMDS = ckpt-pack ckpt-unpack ckpt-thaw ckpt-show
SECTIONS  = -ffunction-sections -fdata-sections

CMDS     = $(patsubst cmd/%.c,%,$(wildcard cmd/*.c))
LIB_SRC  = $(wildcard lib/*.c)
LIB_OBJ  = $(patsubst lib/%.c,$(B)/obj/lib/%.o,$(LIB_SRC))
SHIM_SRC = $(wildcard preload/*.c)
SHIM_ASM = $(wildcard preload/$(ARCH)/*.S)
PROGS    = $(patsubst t/progs/%.c,$(B)/t/%,$(wildcard t/progs/*.c)) \
	$(patsubst t/progs/%.sh,$(B)/t/%,$(wildcard t/progs/*.sh))
HDRS     = $(wildcard lib/*.h lib/$(ARCH)/*.h preload/*.h include/*.h)
MANS     = $(wildcard doc/*.1)
MANS7    = $(wildcard doc/*.7)
MANS3    = $(wildcard doc/*.3)

all: $(patsubst %,$(B)/bin/%,$(CMDS)) $(B)/lib/ckpt/libckpt.so $(B)/lib/ckpt/ckpt-restorer $(PROGS) \
	$(B)/share/ckpt/ckpt.bash

# the bats helper library, where ckpt-run --bats-helper finds it
$(B)/share/ckpt/ckpt.bash: share/ckpt.bash
	@mkdir -p $(@D)
	cp $< $@

$(B)/obj/lib/%.o: lib/%.c $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(WARN) $(CPPFLAGS) $(CFLAGS) $(SANFLAGS) $(SECTIONS) -c -o $@ $<

$(B)/libckptutil.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $(LIB_OBJ)

$(B)/bin/%: cmd/%.c $(B)/libckptutil.a $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(WARN) $(CPPFLAGS) $(CFLAGS) $(SANFLAGS) $(SECTIONS) $(LDFLAGS) -Wl,--gc-sections -o $@ $< \
		$(filter %.o,$^) $(B)/libckptutil.a $(if $(filter $*,$(PACK_CMDS)),$(LIBS),-lpthread)

# ckpt-freeze runs its stages, ckpt-dumpfds and ckpt-dumpmem, in a
# forked child without an exec: the same commands linked in, each main
# renamed (ckpt_dumpfds_main ...); each still builds as itself above
STAGES = ckpt-dumpfds ckpt-dumpmem
$(B)/bin/ckpt-freeze: $(patsubst %,$(B)/obj/stage/%.o,$(STAGES))
$(B)/obj/stage/%.o: cmd/%.c $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(WARN) $(CPPFLAGS) $(CFLAGS) $(SANFLAGS) $(SECTIONS) -Dmain=$(subst -,_,$*)_main \
		-c -o $@ $<

# the shim: no sanitizers, no stdio on its frozen paths (preload/README)
$(B)/lib/ckpt/libckpt.so: $(SHIM_SRC) $(SHIM_ASM) $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(WARN) $(CPPFLAGS) $(CFLAGS) -fPIC -shared -pthread -fvisibility=hidden \
		-Ilib/$(ARCH) -Wl,-z,defs -Wl,-z,now -o $@ $(SHIM_SRC) $(SHIM_ASM) -ldl

# the restorer: a static PIE on musl, linked by hand with rcrt1.o since
# Debian's musl-gcc cannot make one (kernel/NOTES.md 6a/6b); no
# sanitizers in either tree, and a PT_INTERP is a build error
MUSL_LIB = /usr/lib/x86_64-linux-musl
MUSL_INC = /usr/include/x86_64-linux-musl
# lib/mapsline.c and lib/num.c: the one /proc/PID/maps line parser
RST_SRC  = $(wildcard restorer/*.c restorer/$(ARCH)/*.S) lib/mapsline.c lib/num.c
RST_HDRS = $(wildcard restorer/*.h restorer/$(ARCH)/*.h lib/$(ARCH)/*.h) lib/plan.h lib/proto.h \
	lib/maps.h lib/num.h lib/rawsys.h
RST_FLAGS = $(WARN) -O2 -g -fPIE -fno-stack-protector -fno-asynchronous-unwind-tables \
	-D_GNU_SOURCE -nostdinc -isystem $(MUSL_INC) -Ilib -Ilib/$(ARCH) -Irestorer -Irestorer/$(ARCH)

$(B)/lib/ckpt/ckpt-restorer: $(RST_SRC) $(RST_HDRS)
	@mkdir -p $(@D)
	$(CC) -static-pie $(RST_FLAGS) -nostdlib -nostartfiles -o $@.tmp \
		$(MUSL_LIB)/rcrt1.o $(MUSL_LIB)/crti.o $$($(CC) -print-file-name=crtbeginS.o) \
		$(RST_SRC) -L$(MUSL_LIB) -lc $$($(CC) -print-libgcc-file-name) \
		$$($(CC) -print-file-name=crtendS.o) $(MUSL_LIB)/crtn.o
	@if readelf -lW $@.tmp | grep -q INTERP || ! readelf -hW $@.tmp | grep -q 'DYN'; then \
		echo "$@: not a static PIE" >&2; rm -f $@.tmp; exit 1; fi
	mv $@.tmp $@

$(B)/t/%: t/progs/%.c t/progs/prog.h include/ckpt.h
	@mkdir -p $(@D)
	$(CC) $(WARN) $(CPPFLAGS) -O1 -g -pthread -o $@ $<

# test tools that link the lib (a window on it for the tests)
$(B)/t/dirtyscan: t/progs/dirtyscan.c $(B)/libckptutil.a $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(WARN) $(CPPFLAGS) -O1 -g $(SANFLAGS) -o $@ $< $(B)/libckptutil.a -lpthread

# test programs that include lib/ sources (they link nothing)
$(B)/t/pack_gen: lib/io.c lib/tar.c lib/progress.h
$(B)/t/procstate: lib/sockdir.h

# the test scripts: beside the programs they run, without the .sh
$(B)/t/%: t/progs/%.sh
	@mkdir -p $(@D)
	install -m 0755 $< $@

tsan: $(patsubst %,$(B)/bin/%,$(TSAN_CMDS))

# install what is missing (as root), or say what to install
deps:
	@missing=""; for p in $(DEPS_PKGS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "deps: installing$$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || exit 1; \
		else \
			echo "deps: missing packages:$$missing; run as root: apt-get install$$missing" >&2; exit 1; \
		fi; \
	fi

check: deps
	$(MAKE) all
	$(MAKE) SAN=1 all
	$(MAKE) SAN=thread tsan
	$(MAKE) fuzz-check
	CKPT_BUILD=$(CURDIR)/build CKPT_SAN_BUILD=$(CURDIR)/build-san \
		CKPT_TSAN_BUILD=$(CURDIR)/build-tsan bats t/

demo: deps
	$(MAKE) all
	CKPT_BUILD=$(CURDIR)/build sh t/demo.sh

bench: all
	CKPT_BUILD=$(CURDIR)/build sh bench/dump
	CKPT_BUILD=$(CURDIR)/build bash bench/pack
	CKPT_BUILD=$(CURDIR)/build sh bench/restore
	CKPT_BUILD=$(CURDIR)/build sh bench/tree
	CKPT_BUILD=$(CURDIR)/build sh bench/sockets
	CKPT_BUILD=$(CURDIR)/build sh bench/pause
	CKPT_BUILD=$(CURDIR)/build sh bench/incremental
	CKPT_BUILD=$(CURDIR)/build sh bench/incremental-tracking

# libFuzzer (clang) on every parser of the restore side, one harness
# per entry point: fuzz/unpack.c (the packed image reader), fuzz/members.c
# (each text member, chosen by the first byte), fuzz/thaw.c (ckpt-thaw's
# stream path up to making the process), fuzz/show.c (ckpt-show's reader).  Seeds in t/fuzz-corpus/NAME/
# (fuzz/seeds.py makes them from a real stream of ckpt-freeze),
# new inputs in build/fuzz/corpus/NAME/, crashes build/fuzz/NAME-*.
# make check runs each FUZZ_CHECK_SECONDS, make fuzz FUZZ_SECONDS.
# Small parts (64 KiB) and read-ahead (4 KiB) keep each run cheap and
# reach the reader's edges sooner; the code is the same
FUZZ_CC    = clang-14
FUZZ_SECONDS = 180
FUZZ_CHECK_SECONDS = 3
FUZZERS    = unpack members thaw show chain
FUZZ_FLAGS = $(WARN) $(CPPFLAGS) -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all \
	-DPACK_PART=65536 -DBUFSZ=4096
FUZZ_OBJ   = $(patsubst lib/%.c,build/fuzz/obj/%.o,$(LIB_SRC))

build/fuzz/obj/%.o: lib/%.c $(HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

build/fuzz/libckptutil.a: $(FUZZ_OBJ)
	rm -f $@
	ar rcs $@ $(FUZZ_OBJ)

build/fuzz/%: fuzz/%.c build/fuzz/libckptutil.a cmd/ckpt-thaw.c $(HDRS)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $< build/fuzz/libckptutil.a $(LIBS)

# each harness for $$secs on its seeds; its output in build/fuzz/NAME.log
FUZZ_RUN = for f in $(FUZZERS); do \
	mkdir -p build/fuzz/corpus/$$f; echo "fuzz: $$f for $$secs s"; \
	FUZZ_DIR=$(CURDIR)/build/fuzz build/fuzz/$$f -max_total_time=$$secs -max_len=65536 \
		-timeout=60 -artifact_prefix=build/fuzz/$$f- build/fuzz/corpus/$$f \
		t/fuzz-corpus/$$f >build/fuzz/$$f.log 2>&1 || \
		{ tail -n 60 build/fuzz/$$f.log; echo "fuzz: $$f failed" >&2; exit 1; }; \
	done

fuzz-build: $(patsubst %,build/fuzz/%,$(FUZZERS))

fuzz: deps fuzz-build
	secs=$(FUZZ_SECONDS); $(FUZZ_RUN)

fuzz-check: fuzz-build
	secs=$(FUZZ_CHECK_SECONDS); $(FUZZ_RUN)

install: all
	mkdir -p $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/ckpt $(DESTDIR)$(PREFIX)/share/man/man1
	cp $(patsubst %,$(B)/bin/%,$(CMDS)) $(DESTDIR)$(PREFIX)/bin/
	cp $(B)/lib/ckpt/libckpt.so $(B)/lib/ckpt/ckpt-restorer $(DESTDIR)$(PREFIX)/lib/ckpt/
	cp $(MANS) $(DESTDIR)$(PREFIX)/share/man/man1/
	mkdir -p $(DESTDIR)$(PREFIX)/share/man/man7 $(DESTDIR)$(PREFIX)/share/ckpt
	cp $(MANS7) $(DESTDIR)$(PREFIX)/share/man/man7/
	cp share/ckpt.bash $(DESTDIR)$(PREFIX)/share/ckpt/
	mkdir -p $(DESTDIR)$(PREFIX)/share/man/man3 $(DESTDIR)$(PREFIX)/include
	cp $(MANS3) $(DESTDIR)$(PREFIX)/share/man/man3/
	cp include/ckpt.h $(DESTDIR)$(PREFIX)/include/

clean:
	rm -rf build build-san build-tsan

.PHONY: all deps check tsan demo bench fuzz fuzz-build fuzz-check install clean
