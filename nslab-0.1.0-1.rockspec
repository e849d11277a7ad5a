-- `luarocks --lua-version 5.4 make` builds with the Makefile and installs the
-- netns module (netns.so), the Lua layer (netns.*), the nslab program and
-- its man page into a LuaRocks tree; `require "netns"` then works from the
-- stock lua5.4 with that tree's paths (luarocks path).
rockspec_format = "3.0"
package = "nslab"
version = "0.1.0-1"
source = {
  url = "git+file:///nslab",
}
description = {
  summary = "Script, run and test Linux network labs: namespaces, veth, bridges over netlink",
  detailed = [[
The netns module (C on libnl-3 / libnl-route-3): namespaces, links, addresses,
routes, neighbours, sysctls, commands and ICMP echo in-process; the netns.lab
layer that turns a topology into a live lab and checks it; and the nslab
interpreter with all of it built in.]],
  license = "MIT",
  labels = { "network", "namespaces", "netlink", "testing" },
}
supported_platforms = { "linux" }
dependencies = {
  "lua >= 5.4",
  -- JSON (inspect --json, graph --format=json, lab.json) and YAML topology
  -- files; Debian ships them as lua-dkjson and lua-yaml.
  "dkjson >= 2.5",
  "lyaml >= 6",
}
external_dependencies = {
  LIBNL3 = { header = "libnl3/netlink/netlink.h", library = "nl-3" },
  LIBNL_ROUTE3 = { header = "libnl3/netlink/route/link.h", library = "nl-route-3" },
}
build = {
  type = "make",
  build_variables = {
    CFLAGS = "$(CFLAGS)",
    LUA = "$(LUA)",
  },
  install_variables = {
    PREFIX = "$(PREFIX)",
    BINDIR = "$(BINDIR)",
    CMODDIR = "$(LIBDIR)",
    LMODDIR = "$(LUADIR)",
    MANDIR = "$(PREFIX)/man",
  },
}
