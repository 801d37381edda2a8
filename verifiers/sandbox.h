/* sandbox.h — one Lua 5.4 state that runs untrusted verifier scripts inside
 * limits.
 *
 * What a script can reach: a fresh environment table (its _ENV) holding only
 * the safe parts of the base library (assert error ipairs next pairs pcall
 * rawequal rawget rawlen rawset select setmetatable getmetatable tonumber
 * tostring type xpcall _VERSION _G), string (without string.dump), table,
 * math (without math.randomseed) and utf8, plus the `rlvr` table filled by
 * every opener in verifiers/lua_modules.h. No io, os, debug, package,
 * coroutine, load, loadstring, dofile, loadfile, require, collectgarbage,
 * print or warn. Chunks are loaded as text only (mode "t"), never bytecode.
 *
 * Why each exception:
 *  - The string metatable is shared by every string; getmetatable("") returns
 *    `false` (its __metatable field) and its __index is a private copy of the
 *    string library, so a script can neither see nor change it.
 *  - setmetatable refuses a metatable with a __gc field: finalizers run at
 *    times the instruction budget does not govern (lua_close).
 *  - xpcall's message handler is skipped once the instruction budget has run
 *    out: Lua runs message handlers with hooks disabled, so a looping handler
 *    would otherwise escape the budget.
 *  - C loops whose length a script controls are bounded, since the count
 *    hook does not see them: table.move refuses ranges over 2^24 elements,
 *    table.insert and table.remove tables whose length (__len included) is
 *    over 2^24, and string.rep of an empty string returns "" at once.
 *  - coroutine is left out: each coroutine has its own hook count.
 *  - math.random stays, reseeded with a fixed seed before every call
 *    (rlvr_sandbox_call), so a score depends only on the call's inputs, not on
 *    which items came before it in the same state.
 *
 * Limits, armed by rlvr_sandbox_call for each call:
 *  - instructions: a count hook; once the budget is spent the hook fires on
 *    every instruction and raises an error each time, so pcall/xpcall inside
 *    the script cannot swallow it. Time spent inside C functions (pattern
 *    matching on long strings, C helpers) is not counted: the pool's
 *    wall-clock watchdog is the outer wall for that.
 *  - memory: the state's allocator refuses growth past memory_bytes. A
 *    refusal marks the call as out of memory even if the script catches the
 *    error, unless Lua's own retry of that request (after an emergency full
 *    collection) succeeds.
 *
 * A sandbox holds state between calls (the script's globals and upvalues);
 * the host throws a sandbox away after any call that did not end in OK. */
#ifndef RLVR_SANDBOX_H
#define RLVR_SANDBOX_H

#include <lua.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
  int64_t instructions; /* Lua VM instructions per rlvr_sandbox_call, > 0 */
  int64_t memory_bytes; /* bytes the state may hold, > 0 */
  /* Optional: called with the `rlvr` table on top of the stack after the
   * openers of lua_modules.h, to add functions (tests use it to add crash
   * and allocation helpers). Must leave the stack as it found it. */
  void (*open_extra)(lua_State *L);
} rlvr_sandbox_limits;

typedef enum {
  RLVR_SANDBOX_OK = 0,
  RLVR_SANDBOX_ERROR,   /* the script raised an error */
  RLVR_SANDBOX_TIMEOUT, /* the instruction budget ran out */
  RLVR_SANDBOX_NOMEM,   /* the memory budget ran out */
} rlvr_sandbox_outcome;

typedef struct rlvr_sandbox rlvr_sandbox;

/* Builds a state with the sandbox environment. Returns NULL with a message
 * (rlvr_error_message) when the libraries do not fit in memory_bytes. */
rlvr_sandbox *rlvr_sandbox_build(const rlvr_sandbox_limits *lim);
void rlvr_sandbox_free(rlvr_sandbox *sb); /* accepts NULL */

lua_State *rlvr_sandbox_state(rlvr_sandbox *sb);

/* Compiles the text chunk data[0..len) named chunkname ("@path" for files)
 * with the sandbox environment as its _ENV and pushes the function. Binary
 * chunks are refused. Returns RLVR_SANDBOX_OK, RLVR_SANDBOX_ERROR (syntax
 * error, or a bytecode chunk) or RLVR_SANDBOX_NOMEM; on failure nothing is
 * pushed and msg (capacity msgcap, always NUL-terminated) says why. */
rlvr_sandbox_outcome rlvr_sandbox_load(rlvr_sandbox *sb, const char *data, size_t len,
                                       const char *chunkname, char *msg, size_t msgcap);

/* Calls the function below nargs arguments on the stack, like
 * lua_pcall(L, nargs, nresults, traceback), with the budgets armed: the
 * instruction count starts from zero. On OK the results are on the stack; on
 * failure the function and arguments are popped, nothing is pushed and msg
 * holds the error with a traceback. A sticky limit (instructions, memory)
 * that was hit during the call decides the outcome even if the script caught
 * the error and returned normally; then the results are popped too. */
rlvr_sandbox_outcome rlvr_sandbox_call(rlvr_sandbox *sb, int nargs, int nresults, char *msg,
                                       size_t msgcap);

/* Bytes the state holds now, and the most it has held. */
size_t rlvr_sandbox_memory(const rlvr_sandbox *sb);
size_t rlvr_sandbox_peak_memory(const rlvr_sandbox *sb);

#endif
