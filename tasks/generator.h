/* generator.h — Lua task generators: scripts that make problems from a seed.
 *
 * A generator is a Lua 5.4 script that returns
 *
 *   return {
 *     name = "arith", version = "1", verifier = "math",
 *     generate = function(rng, difficulty)
 *       return { prompt = "...", answer = "42", solution = "...", meta = {...} }
 *     end,
 *   }
 *
 * generate's result: prompt (string, required), answer (string or number,
 * required: a correct final answer as the model should write it),
 * reference (optional string, number or table: what the verifier gets; a
 * table is passed as JSON; default: answer), solution (optional string:
 * worked steps), meta (optional table with string keys, passed as JSON),
 * verifier (optional string, overrides the script's). Any other field is
 * an error, so that a misspelt field does not vanish silently.
 *
 * rng is the only source of randomness (math.random is removed):
 *   rng:int(lo, hi)   uniform integer in [lo, hi]
 *   rng:float()       uniform in [0, 1)
 *   rng:choice(t)     a uniformly chosen element of the sequence t
 *   rng:shuffle(t)    shuffles the sequence t in place and returns it
 * difficulty is a table of settings: digits and steps from the config, then
 * every key=value of task.options (integers, numbers, true/false, or
 * strings).
 *
 * Each item runs in a fresh restricted state (tasklua.h), so an item depends
 * on its seed and the difficulty only, never on the items made before it. */
#ifndef RLVR_GENERATOR_H
#define RLVR_GENERATOR_H

#include <stdint.h>

#include "tasks/task.h"

typedef struct rlvr_generator rlvr_generator;

/* Finds a generator: a name containing '/' or ending in ".lua" is a path
 * used as it is; a bare name ([A-Za-z0-9_.-]+, no "..") is looked up as
 * <dir>/NAME.lua in each directory of the ':'-separated search_path, then
 * in builtin_dir (may be NULL). *path is malloc'd. Errors: RLVR_ERR_ARG
 * for an invalid name, RLVR_ERR_IO naming the places looked in. */
int rlvr_generator_find(const char *search_path, const char *builtin_dir, const char *name,
                        char **path);

/* Loads the script at path and checks its table (name, version, verifier,
 * generate). difficulty is "key=value,key=value" (see above; later keys
 * win). Errors name the script: RLVR_ERR_IO, RLVR_ERR_SCRIPT (syntax or
 * runtime error, wrong contract), RLVR_ERR_CONFIG (a malformed difficulty). */
int rlvr_generator_load(const char *path, const char *difficulty, rlvr_generator **out);
void rlvr_generator_free(rlvr_generator *g); /* accepts NULL */

const char *rlvr_generator_name(const rlvr_generator *g);
const char *rlvr_generator_version(const rlvr_generator *g);
const char *rlvr_generator_verifier(const rlvr_generator *g);
const char *rlvr_generator_path(const rlvr_generator *g);
/* Replaces the script's verifier (task.verifier); an item's own verifier
 * field still wins. */
void rlvr_generator_set_verifier(rlvr_generator *g, const char *verifier);
/* Hash of the script text and the difficulty. */
uint64_t rlvr_generator_fingerprint(const rlvr_generator *g);

/* Makes one item with an rng seeded by rng_seed. what names the item in
 * messages ("item train:42"). Fills every field of *out but id (NULL);
 * *out untouched on error (RLVR_ERR_SCRIPT naming the script and item). */
int rlvr_generator_make(rlvr_generator *g, uint64_t rng_seed, const char *what, rlvr_task_item *out);

#endif
