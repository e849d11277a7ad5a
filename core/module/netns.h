/*
 * The public interface of the `netns` Lua module: its entry point, and nothing
 * else. build/netns.so is built with hidden visibility, so this is the one
 * symbol of ours it exports; nslab links the same objects and calls it to
 * preload the module.
 */
#ifndef NSLAB_NETNS_H
#define NSLAB_NETNS_H

#include <lua.h>

#define NETNS_API __attribute__((visibility("default")))

NETNS_API int luaopen_netns(lua_State *L);

#endif
