/* Shared by nslab.c (main, options, running scenarios) and nslab_readline.c. */
#ifndef NSLAB_NSLAB_H
#define NSLAB_NSLAB_H

#include <lua.h>

/* Prints "nslab: msg" on stderr. */
void nslab_message(const char *msg);
/* Prints the error on top of the stack (and pops it) unless status is LUA_OK. */
int nslab_report(lua_State *L, int status);
/* lua_pcall with a traceback message handler. */
int nslab_docall(lua_State *L, int narg, int nres);
/* luaopen for the preloaded module netns.readline (the prompt's line reader). */
int nslab_open_readline(lua_State *L);

#endif
