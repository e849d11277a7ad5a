# nslab: a C core on libnl (the Lua module `netns`), a Lua lab layer, and the
# `nslab` interpreter that embeds both. As root, or with sudo in front:
#
#   make             build build/netns.so and build/nslab
#   make demo        install missing Debian packages, build, run examples/two_hosts.lua
#   make test        install missing Debian packages, build, run every spec (busted, via prove)
#   make test-vm     the same specs in qemu guests on Debian's stock kernel
#   make bench       build and run the benchmarks under bench/
#   make leak-check  valgrind over a scenario that uses every area
#   make install     PREFIX=/usr/local DESTDIR=   (make uninstall removes exactly that)
#   make graph-svg   regenerate doc/two_routers.svg (the README's picture)
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
LUAV    := 5.4
LUA     ?= lua$(LUAV)
PKGS    := libnl-3.0 libnl-route-3.0 lua$(LUAV)
# Where Lua 5.4 looks for modules under PREFIX (the defaults of Debian's lua5.4).
CMODDIR ?= $(PREFIX)/lib/lua/$(LUAV)
LMODDIR ?= $(PREFIX)/share/lua/$(LUAV)
MANDIR  ?= $(PREFIX)/share/man

CC      ?= cc
CFLAGS  ?= -O2 -g
WARN    := -std=c99 -Wall -Wextra -Wshadow -Wundef -Wwrite-strings \
           -Wmissing-prototypes -Wstrict-prototypes
NL_CFLAGS  = $(shell pkg-config --cflags libnl-3.0 libnl-route-3.0)
LUA_CFLAGS = $(shell pkg-config --cflags lua$(LUAV))
NL_LIBS    = $(shell pkg-config --libs libnl-3.0 libnl-route-3.0)
LUA_LIBS   = $(shell pkg-config --libs lua$(LUAV))
# Line editing at the interactive prompt where libreadline is installed.
RL_CFLAGS  = $(shell pkg-config --exists readline && echo -DNSLAB_READLINE)
RL_LIBS    = $(shell pkg-config --exists readline && pkg-config --libs readline)
# Everything is hidden unless marked (NETNS_API): netns.so exports luaopen_netns only.
BASE_CFLAGS = $(WARN) -D_GNU_SOURCE -fPIC -fvisibility=hidden $(CFLAGS)

# The layers of core/ are folders, and the include paths are the boundary:
#   core/engine  plain C on libnl; compiled WITHOUT Lua's include path, so an
#                #include <lua.h> there does not build
#   core/module  the Lua bindings (luaopen_netns): engine headers + Lua
#   core/nslab   the interpreter: the module's public header + Lua
ENGINE_CFLAGS = $(BASE_CFLAGS) $(NL_CFLAGS) -Icore/engine
MODULE_CFLAGS = $(BASE_CFLAGS) $(NL_CFLAGS) $(LUA_CFLAGS) -Icore/engine -Icore/module
NSLAB_CFLAGS  = $(BASE_CFLAGS) $(LUA_CFLAGS) -Icore/engine -Icore/module -Icore/nslab

B       := build
ENGINE_SRC := $(wildcard core/engine/*.c)
MODULE_SRC := $(wildcard core/module/*.c)
NSLAB_SRC  := $(wildcard core/nslab/*.c)
ENGINE_OBJ := $(ENGINE_SRC:core/engine/%.c=$(B)/engine/%.o)
MODULE_OBJ := $(MODULE_SRC:core/module/%.c=$(B)/module/%.o)
NSLAB_OBJ  := $(NSLAB_SRC:core/nslab/%.c=$(B)/nslab.d/%.o)
MOD_OBJ    := $(ENGINE_OBJ) $(MODULE_OBJ)
LUA_SRC := $(wildcard lua/netns/*.lua)

.PHONY: all deps demo test check test-vm bench leak-check install uninstall graph-svg clean engine-cc
all: $(B)/netns.so $(B)/nslab

# The engine's compile command, for spec/layout_spec.lua's probe: an engine
# file that includes lua.h must fail to build with exactly these flags.
engine-cc:
	@echo $(CC) $(ENGINE_CFLAGS)

$(B)/engine/%.o: core/engine/%.c $(wildcard core/engine/*.h)
	@mkdir -p $(@D)
	$(CC) $(ENGINE_CFLAGS) -c -o $@ $<

$(B)/module/%.o: core/module/%.c $(wildcard core/engine/*.h core/module/*.h)
	@mkdir -p $(@D)
	$(CC) $(MODULE_CFLAGS) -c -o $@ $<

$(B)/nslab.d/%.o: core/nslab/%.c $(wildcard core/engine/*.h core/module/*.h core/nslab/*.h)
	@mkdir -p $(@D)
	$(CC) $(NSLAB_CFLAGS) $(RL_CFLAGS) -c -o $@ $<

$(B)/netns.so: $(MOD_OBJ)
	$(CC) -shared -o $@ $^ $(NL_LIBS) $(LDFLAGS)

# The Lua layer is compiled into nslab as preloaded chunks of bytecode,
# written by a program linked with nslab's own Lua library (tools/luadump.c).
LUA_CHUNKS := $(LUA_SRC:lua/netns/%.lua=$(B)/chunks/%.luac)

$(B)/luadump: tools/luadump.c | $(B)
	$(CC) $(WARN) -D_GNU_SOURCE $(CFLAGS) $(LUA_CFLAGS) -o $@ $< $(LUA_LIBS) $(LDFLAGS)

$(B)/chunks/%.luac: lua/netns/%.lua $(B)/luadump
	@mkdir -p $(@D)
	$(B)/luadump $< $@

$(B)/embedded.c: tools/embed.lua $(LUA_CHUNKS) | $(B)
	$(LUA) tools/embed.lua $@ $(LUA_CHUNKS)

$(B)/nslab: $(NSLAB_OBJ) $(B)/embedded.o $(MOD_OBJ)
	$(CC) -o $@ $^ $(NL_LIBS) $(LUA_LIBS) $(RL_LIBS) $(LDFLAGS)

$(B)/embedded.o: $(B)/embedded.c core/nslab/embedded.h
	$(CC) $(NSLAB_CFLAGS) -c -o $@ $<

$(B):
	mkdir -p $(B)

# Installs the Debian packages the build, the tests and the examples need,
# only those that are missing.
deps:
	@tools/install-deps

demo: deps all
	$(B)/nslab examples/two_hosts.lua

# Every spec file is one TAP test for prove; the last spec checks the machine
# is as it was (no namespace or link of ours left behind).
# SPECS="spec/a_spec.lua ...": only those (make test-vm SPECS=... too).
test: deps all
	B=$(B) tools/run-specs $(SPECS)

# The specs that need no root and touch no namespace (parsing, validation of
# lab descriptions, reports, the check core, the layout of core/): any user
# can run them, on a built tree.
CHECK_SPECS := spec/ipaddr_spec.lua spec/topo_spec.lua spec/report_spec.lua \
               spec/check_core_spec.lua spec/layout_spec.lua
check: all
	B=$(B) LUA_PATH="./lua/?.lua;./?.lua;;" LUA_CPATH="./$(B)/?.so;;" \
	  prove --exec '$(LUA) /usr/bin/busted -o TAP' $(CHECK_SPECS)

# The same suite in a qemu guest booted with Debian's stock kernel, which has
# what this machine's may lack (netem, dummy, vlan, vrf, bonding as modules),
# split over two guests side by side (tools/vm-test over tools/vm-run); kernel
# cache in /var/cache/nslab-vm.
test-vm: deps all
	@tools/install-deps vm
	B=$(B) tools/vm-test $(SPECS)

bench: deps all
	B=$(B) tools/run-bench

# valgrind over a scenario that uses every area: no leak, no error, no fd left.
leak-check: deps all
	B=$(B) tools/leak-check

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(CMODDIR) $(DESTDIR)$(LMODDIR)/netns $(DESTDIR)$(MANDIR)/man1
	install -m 755 $(B)/nslab $(DESTDIR)$(BINDIR)/nslab
	install -m 644 $(B)/netns.so $(DESTDIR)$(CMODDIR)/netns.so
	install -m 644 $(LUA_SRC) $(DESTDIR)$(LMODDIR)/netns/
	install -m 644 doc/nslab.1 $(DESTDIR)$(MANDIR)/man1/nslab.1

# Exactly the files install put, then the netns directory if that left it empty.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/nslab $(DESTDIR)$(CMODDIR)/netns.so $(DESTDIR)$(MANDIR)/man1/nslab.1
	rm -f $(addprefix $(DESTDIR)$(LMODDIR)/netns/,$(notdir $(LUA_SRC)))
	-rmdir $(DESTDIR)$(LMODDIR)/netns 2>/dev/null

# The README's picture: the lab of examples/two_routers.lua, drawn without
# bringing it up.
graph-svg: $(B)/nslab
	$(B)/nslab graph examples/two_routers.lua | dot -Tsvg > doc/two_routers.svg

clean:
	rm -rf $(B)
