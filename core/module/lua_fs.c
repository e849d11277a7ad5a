/*
 * The little file-system access the Lua layer needs and Lua lacks: making
 * and listing directories (/run/nslab journals, /etc/netns/NAME files),
 * setting a file's mode (a scenario's helper script), and files that appear
 * whole and never replace another (journals), so that the lab layer never
 * has to run a shell or a program for it; and reading a whole file, the
 * one reader every Lua module uses.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errors.h"
#include "files.h"
#include "lua_util.h"

/** netns.mkdir(path [, mode=0755]) -> boolean: true if it made the directory,
 * false if a directory was already there (as `mkdir -p` for the last part). */
static int l_mkdir(lua_State *L)
{
	const char *path = lnsl_checkstring(L, 1, NULL);
	lua_Integer mode = luaL_optinteger(L, 2, 0755);
	struct stat st;

	luaL_argcheck(L, mode >= 0 && mode <= 07777, 2, "mode out of range (0 to 07777)");
	if (mkdir(path, (mode_t)mode) == 0) {
		lua_pushboolean(L, 1);
		return 1;
	}
	if (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		lua_pushboolean(L, 0);
		return 1;
	}
	return lnsl_fail(L, -errno, "mkdir %s", path);
}

/** netns.rmdir(path): removes an empty directory. */
static int l_rmdir(lua_State *L)
{
	const char *path = lnsl_checkstring(L, 1, NULL);

	if (rmdir(path) < 0)
		return lnsl_fail(L, -errno, "rmdir %s", path);
	return 0;
}

/** netns.readdir(path) -> {name, ...}: the entries but "." and "..", sorted. */
static int l_readdir(lua_State *L)
{
	const char *path = lnsl_checkstring(L, 1, NULL);
	DIR *dir = opendir(path);
	struct dirent *e;
	int n = 0;

	if (!dir)
		return lnsl_fail(L, -errno, "read directory %s", path);
	lua_newtable(L);
	while ((e = readdir(dir)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		lua_pushstring(L, e->d_name);
		lua_rawseti(L, -2, ++n);
	}
	closedir(dir);
	lnsl_sort_strings(L, -1);
	return 1;
}

/** netns.chmod(path, mode): sets the permission bits (0 to 07777), as chmod(2). */
static int l_chmod(lua_State *L)
{
	const char *path = lnsl_checkstring(L, 1, NULL);
	lua_Integer mode = luaL_checkinteger(L, 2);

	luaL_argcheck(L, mode >= 0 && mode <= 07777, 2, "mode out of range (0 to 07777)");
	if (chmod(path, (mode_t)mode) < 0)
		return lnsl_fail(L, -errno, "chmod %s", path);
	return 0;
}

/** netns.readfile(path) -> contents | nil, message, code: the whole file (a
 * missing or unreadable file is not an error: nil, "path: reason", "ENOENT"). */
static int l_readfile(lua_State *L)
{
	const char *path = lnsl_checkstring(L, 1, NULL);
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;
	luaL_Buffer b;
	ssize_t n;

	if (fd < 0)
		goto fail;
	luaL_buffinit(L, &b);
	for (;;) {
		char *p = luaL_prepbuffer(&b);

		do
			n = read(fd, p, LUAL_BUFFERSIZE);
		while (n < 0 && errno == EINTR);
		if (n <= 0)
			break;
		luaL_addsize(&b, (size_t)n);
	}
	err = errno;
	close(fd);
	if (n < 0) {
		errno = err;
		goto fail;
	}
	luaL_pushresult(&b);
	return 1;
fail:
	err = errno;
	lua_pushnil(L);
	lua_pushfstring(L, "%s: %s", path, strerror(err));
	lua_pushstring(L, nsl_errname(err));
	return 3;
}

/** netns.write_new(path, data [, mode=0644]): creates path holding exactly
 * data; the name appears with the whole content at once (a reader or a kill
 * never sees half of it), and an existing path is never replaced: raises
 * with code EEXIST. */
static int l_write_new(lua_State *L)
{
	const char *path = lnsl_checkstring(L, 1, NULL);
	size_t len;
	const char *data = lnsl_checkstring(L, 2, &len);
	lua_Integer mode = luaL_optinteger(L, 3, 0644);
	int err;

	luaL_argcheck(L, mode >= 0 && mode <= 07777, 3, "mode out of range (0 to 07777)");
	if ((err = nsl_file_publish(path, data, len, (mode_t)mode)) < 0)
		return lnsl_fail(L, err, "create %s", path);
	return 0;
}

static const luaL_Reg funcs[] = {
	{ "readfile", l_readfile },
	{ "write_new", l_write_new },
	{ "mkdir", l_mkdir },
	{ "chmod", l_chmod },
	{ "rmdir", l_rmdir },
	{ "readdir", l_readdir },
	{ NULL, NULL }
};

void lnsl_open_fs(lua_State *L, int module, int methods)
{
	(void)methods;
	lnsl_setfuncs(L, module, funcs);
}
