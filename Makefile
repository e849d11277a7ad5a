# nslab: a C core on libnl (the Lua module `netns`), a Lua lab layer, and the
# `nslab` interpreter that embeds both.
#
#   make            build build/netns.so and build/nslab
#   sudo make demo  install missing Debian packages, build, run examples/two_hosts.lua
#   sudo make test  install missing Debian packages, build, run every spec (busted, via prove)
#   sudo make bench build and run the benchmarks under bench/
#   sudo make leak-check  valgrind over a scenario that uses every area
#   make install    PREFIX=/usr/local DESTDIR=
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
LUAV    := 5.4
LUA     ?= lua$(LUAV)
PKGS    := libnl-3.0 libnl-route-3.0 lua$(LUAV)
# Where Lua 5.4 looks for modules under PREFIX (the defaults of Debian's lua5.4).
CMODDIR ?= $(PREFIX)/lib/lua/$(LUAV)
LMODDIR ?= $(PREFIX)/share/lua/$(LUAV)

CC      ?= cc
CFLAGS  ?= -O2 -g
WARN    := -std=c99 -Wall -Wextra -Wshadow -Wundef -Wwrite-strings \
           -Wmissing-prototypes -Wstrict-prototypes
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
NL_LIBS    = $(shell pkg-config --libs libnl-3.0 libnl-route-3.0)
LUA_LIBS   = $(shell pkg-config --libs lua$(LUAV))
# Line editing at the interactive prompt where libreadline is installed.
RL_CFLAGS  = $(shell pkg-config --exists readline && echo -DNSLAB_READLINE)
RL_LIBS    = $(shell pkg-config --exists readline && pkg-config --libs readline)
ALL_CFLAGS = $(WARN) -D_GNU_SOURCE -fPIC $(PKG_CFLAGS) $(CFLAGS)

B       := build
# core/*.c is the engine and the bindings (the module); nslab*.c the interpreter.
MOD_SRC := $(filter-out core/nslab%.c,$(wildcard core/*.c))
MOD_OBJ := $(MOD_SRC:core/%.c=$(B)/%.o)
LUA_SRC := $(wildcard lua/netns/*.lua)

.PHONY: all deps demo test bench leak-check install uninstall clean
all: $(B)/netns.so $(B)/nslab

$(B)/%.o: core/%.c $(wildcard core/*.h) | $(B)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/netns.so: $(MOD_OBJ)
	$(CC) -shared -o $@ $^ $(NL_LIBS) $(LDFLAGS)

# The Lua layer is compiled into nslab as preloaded chunks.
$(B)/embedded.c: tools/embed.lua $(LUA_SRC) | $(B)
	$(LUA) tools/embed.lua $@ $(LUA_SRC)

$(B)/nslab_repl.o: ALL_CFLAGS += $(RL_CFLAGS)
$(B)/nslab: $(B)/nslab.o $(B)/nslab_repl.o $(B)/embedded.o $(MOD_OBJ)
	$(CC) -o $@ $^ $(NL_LIBS) $(LUA_LIBS) $(RL_LIBS) $(LDFLAGS)

$(B)/embedded.o: $(B)/embedded.c
	$(CC) $(ALL_CFLAGS) -Icore -c -o $@ $<

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
test: deps all
	B=$(B) tools/run-specs

bench: deps all
	B=$(B) tools/run-bench

# valgrind over a scenario that uses every area: no leak, no error, no fd left.
leak-check: deps all
	B=$(B) tools/leak-check

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(CMODDIR) $(DESTDIR)$(LMODDIR)/netns
	install -m 755 $(B)/nslab $(DESTDIR)$(BINDIR)/nslab
	install -m 644 $(B)/netns.so $(DESTDIR)$(CMODDIR)/netns.so
	install -m 644 $(LUA_SRC) $(DESTDIR)$(LMODDIR)/netns/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/nslab $(DESTDIR)$(CMODDIR)/netns.so
	rm -rf $(DESTDIR)$(LMODDIR)/netns

clean:
	rm -rf $(B)
