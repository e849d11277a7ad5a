/* The Lua layer compiled into nslab (build/embedded.c, made by tools/embed.lua). */
#ifndef NSLAB_EMBEDDED_H
#define NSLAB_EMBEDDED_H

#include <stddef.h>

struct nslab_embedded {
	const char *module;	/* "netns.lab" */
	const char *chunkname;	/* "@lua/netns/lab.lua" */
	const char *source;
	size_t len;
};

extern const struct nslab_embedded nslab_embedded[];

#endif
