/* lua_modules.h — C helpers exposed to verifier scripts.
 *
 * The verifier host creates one table, `rlvr`, in every sandbox environment
 * and calls each opener below with that table at the top of the stack; an
 * opener adds its functions as fields (rlvr.rat, rlvr.expr, rlvr.exec, ...)
 * and leaves the stack as it found it. Openers must only add functions that
 * are safe inside the sandbox. A module adds itself with one line here:
 *   X(mathlib)   ->   void rlvr_lua_open_mathlib(lua_State *L);
 */
#ifndef RLVR_LUA_MODULES_H
#define RLVR_LUA_MODULES_H

#include <lua.h>

#define RLVR_LUA_MODULES(X) /* modules are added here, one X(name) each */ \
  X(exec) /* exec_lua.c: rlvr.exec, the sandboxed code executor */ \
  X(mathlib) /* mathlib_lua.c: rlvr.math_*, rlvr.arith_eval, rlvr.rat (exact math) */

#define RLVR_LUA_MODULE_DECL(name) void rlvr_lua_open_##name(lua_State *L);
RLVR_LUA_MODULES(RLVR_LUA_MODULE_DECL)
#undef RLVR_LUA_MODULE_DECL

#endif
