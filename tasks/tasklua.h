/* tasklua.h — the restricted Lua states that task generators and prompt
 * templates run in.
 *
 * A state has the base, string, table and math libraries only, minus
 * everything that reaches outside the script or makes it irreproducible:
 * dofile, loadfile, load, print, require, math.random, math.randomseed.
 * Its allocator has a byte budget and a count hook stops a script after a
 * number of instructions, so a runaway generator is an error, not a hang.
 * These scripts are the user's own code (not model output, which verifiers
 * handle in their sandbox); the limits are there to turn mistakes into
 * messages. */
#ifndef RLVR_TASKLUA_H
#define RLVR_TASKLUA_H

#include <lua.h>
#include <stddef.h>
#include <stdint.h>

enum {
  RLVR_TASKLUA_MEMORY = 64 << 20,         /* bytes per state */
  RLVR_TASKLUA_INSTRUCTIONS = 20000000,   /* per load and per call */
};

typedef struct rlvr_tasklua rlvr_tasklua;

/* A fresh restricted state. NULL only if the allocator budget cannot even
 * hold the standard libraries (a bug). */
rlvr_tasklua *rlvr_tasklua_new(void);
void rlvr_tasklua_free(rlvr_tasklua *t); /* accepts NULL */
lua_State *rlvr_tasklua_state(rlvr_tasklua *t);

/* Loads text (named chunkname in messages, e.g. "@tasks/generators/arith.lua")
 * as a text chunk and runs it, leaving its one result on the stack.
 * On error returns RLVR_ERR_SCRIPT with "<what>: <lua message>" and leaves
 * the stack as it was. */
int rlvr_tasklua_run_chunk(rlvr_tasklua *t, const char *text, size_t len, const char *chunkname,
                           const char *what);

/* Calls the function below nargs arguments on the stack in protected mode
 * with a traceback handler and a fresh instruction budget; leaves nresults
 * on success. On error returns RLVR_ERR_SCRIPT with "<what>: <message and
 * traceback>", the function and arguments popped. */
int rlvr_tasklua_call(rlvr_tasklua *t, int nargs, int nresults, const char *what);

#endif
