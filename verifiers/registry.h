/* registry.h — finding verifier scripts by name.
 *
 * A verifier is named either by a bare name, NAME matching [A-Za-z0-9_-]+
 * (dots allowed inside, never "..", never leading), looked up as
 * <dir>/NAME.lua in each directory of a ':'-separated search path in order
 * (the first hit wins), or by a path (anything containing '/' or ending in
 * ".lua"), used as it is. The search path the command line builds is the
 * config's verify.paths followed by the built-in verifiers/ directory, so a
 * user's script of the same name shadows a built-in one. */
#ifndef RLVR_REGISTRY_H
#define RLVR_REGISTRY_H

#include <stddef.h>

/* On success *path is a malloc'd path the caller frees. Errors:
 * RLVR_ERR_ARG for a name that is neither a valid name nor a path,
 * RLVR_ERR_IO when no file exists (the message lists the places looked in).
 * *path is untouched on error. */
int rlvr_registry_find(const char *search_path, const char *name, char **path);

/* The names of every NAME.lua in the search path, first occurrence of each
 * name only, sorted. The caller frees with rlvr_registry_list_free. */
int rlvr_registry_list(const char *search_path, char ***names, size_t *n);
void rlvr_registry_list_free(char **names, size_t n);

/* 1 if name is a bare verifier name (see above). */
int rlvr_registry_valid_name(const char *name);

#endif
