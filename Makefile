# hull — GNU Makefile. `make` builds, `make check` runs every test (as root),
# `make bench` runs the side-by-side benchmarks.

CC      ?= cc
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -MMD -MP \
           -Wno-format-truncation -fno-strict-aliasing -Isrc
# hull-runtime is linked statically: the dynamic loader would otherwise cost
# more instructions than the whole container set-up (see bench/README.md).
STATIC_LIBS = -ljansson -lcap -lseccomp
# hull (the engine) is linked dynamically: images need libarchive and
# libcrypto, whose static closure is large. libcurl is loaded only when a
# registry is spoken to (src/image/curl_lazy.c).
ENGINE_LIBS = -larchive -lcrypto -ljansson -lcap -lseccomp
FUZZ_LIBS = $(ENGINE_LIBS)
B := build

LIB_SRC := $(filter-out $(LIB_EXCLUDE),$(wildcard src/common/*.c src/spec/*.c src/linux/*.c src/runtime/*.c src/vm/*.c src/image/*.c src/engine/*.c src/net/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(B)/%.o)

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)

FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(B)/fuzz/%)

GUEST_SRC := $(wildcard src/guest/*.c)
GUEST_OBJ := $(GUEST_SRC:%.c=$(B)/%.o)

HULL_SRC := $(wildcard src/cli/hull.c src/cli/hull_*.c)
HULL_OBJ := $(HULL_SRC:%.c=$(B)/%.o)

# The per-container monitor of the engine: small and static, it lives as
# long as its container (its resident memory is part of the density cost).
MONITOR_SRC := $(wildcard src/cli/hull-monitor.c)
MONITOR := $(MONITOR_SRC:src/cli/%.c=$(B)/%)

PROGRAMS := $(B)/hull-runtime $(B)/hull $(MONITOR) $(B)/hull-init $(B)/guest/initramfs.cpio

.PHONY: all check unit integration fuzz fuzz-smoke bench clean guest-kernel

all: $(PROGRAMS)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(B)/libhull.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/hull-runtime: $(B)/src/cli/hull-runtime.o $(B)/libhull.a
	$(CC) $(CFLAGS) -static -o $@ $^ $(STATIC_LIBS)
	ln -sf hull-runtime $(B)/hull-runtime-vm

$(B)/hull: $(HULL_OBJ) $(B)/libhull.a
	$(CC) $(CFLAGS) -o $@ $^ $(ENGINE_LIBS)

$(B)/hull-monitor: $(B)/src/cli/hull-monitor.o $(B)/libhull.a
	$(CC) $(CFLAGS) -static -o $@ $^ $(STATIC_LIBS)

# hull-init: PID 1 of a VM guest, static, alone in a tiny initramfs.
$(B)/hull-init: $(GUEST_OBJ) $(B)/libhull.a
	$(CC) $(CFLAGS) -static -o $@ $^ $(STATIC_LIBS)

$(B)/guest/initramfs.cpio: $(B)/hull-init scripts/mkinitramfs
	@mkdir -p $(dir $@)
	scripts/mkinitramfs $@ $(B)/hull-init

# The guest kernel: built once from Debian's linux-source and cached
# outside the clone (scripts/guest-kernel), linked into build/guest.
guest-kernel:
	@mkdir -p $(B)/guest
	scripts/guest-kernel
	ln -sf "$$(scripts/guest-kernel --print-path)" $(B)/guest/vmlinux

$(B)/tests/%: tests/unit/%.c $(B)/libhull.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(B)/libhull.a -lcmocka $(ENGINE_LIBS)

# Fuzz targets: libFuzzer under clang with address and undefined sanitizers.
comma := ,
FUZZ_CC ?= clang
FUZZ_FLAGS = -std=gnu11 -g -O1 -D_GNU_SOURCE -Isrc \
             -fsanitize=fuzzer,address,undefined
# The library is compiled once with the sanitizers (-fsanitize=fuzzer-no-link
# in the objects, the libFuzzer main only in the targets).
FUZZ_OBJ := $(LIB_SRC:%.c=$(B)/fuzz/obj/%.o)
$(B)/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(subst fuzzer$(comma),fuzzer-no-link$(comma),$(FUZZ_FLAGS)) -MMD -MP -c -o $@ $<
$(B)/fuzz/libhull-fuzz.a: $(FUZZ_OBJ)
	@rm -f $@
	ar rcs $@ $^
$(B)/fuzz/%: tests/fuzz/%.c $(B)/fuzz/libhull-fuzz.a
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(B)/fuzz/libhull-fuzz.a $(FUZZ_LIBS)

unit: $(UNIT_BIN)
	@tests/run-unit $(UNIT_BIN)

integration: all
	@tests/integration/run

fuzz: $(FUZZ_BIN)

# Each fuzz target runs briefly over its seed corpus as part of `make check`.
fuzz-smoke: $(FUZZ_BIN)
	@tests/fuzz/run-smoke $(FUZZ_BIN)

check: all $(UNIT_BIN) $(FUZZ_BIN)
	@tests/check

bench: all
	@bench/run

clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
