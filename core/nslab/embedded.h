/* The Lua layer compiled into nslab as bytecode (build/embedded.c, made by
 * tools/luadump and tools/embed.lua). */
#ifndef NSLAB_EMBEDDED_H
#define NSLAB_EMBEDDED_H

#include <stddef.h>

struct nslab_embedded {
	const char *module;	/* "netns.lab" */
	const char *chunkname;	/* "@lua/netns/lab.lua": names the module if its chunk does not load */
	const char *chunk;	/* bytecode, with debug information */
	size_t len;
};

extern const struct nslab_embedded nslab_embedded[];

#endif
