/*
 * Files that appear whole or not at all, and never replace another.
 *
 * nsl_file_publish writes data into an unnamed file in the target's directory
 * (O_TMPFILE) and then gives it its name with linkat, which fails with EEXIST
 * if the name is taken: a reader, or a process killed at any moment, sees
 * either no file or the whole of it, and an existing file is never
 * overwritten. Journals under /run/nslab and the name of a new namespace
 * under /run/netns (which carries the namespace's mark until the namespace is
 * mounted on it) are made this way. Where the file system has no O_TMPFILE,
 * the file is created with O_EXCL and written (not atomic, still exclusive).
 */
#ifndef NSLAB_FILES_H
#define NSLAB_FILES_H

#include <stddef.h>
#include <sys/types.h>

/* 0 or -errno (EEXIST: the name is taken). */
int nsl_file_publish(const char *path, const void *data, size_t len, mode_t mode);

#endif
