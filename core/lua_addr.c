/* Placeholder: the addr area's bindings are being written; registers nothing yet. */
#include "lua_util.h"

void lnsl_open_addr(lua_State *L, int module, int methods)
{
	(void)L;
	(void)module;
	(void)methods;
}
