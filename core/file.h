/* file.h — reading whole files and writing them atomically.
 *
 * Every file rlvr writes goes to "<path>.tmp.<pid>", is fsynced, renamed over
 * <path>, and the directory is fsynced: a crash leaves the old file or the new
 * one, never half of one. */
#ifndef RLVR_FILE_H
#define RLVR_FILE_H

#include <stddef.h>

/* Reads all of path into a NUL-terminated buffer the caller frees.
 * On error returns RLVR_ERR_IO with the path in the message; *out untouched. */
int rlvr_file_read(const char *path, char **out, size_t *len);

/* Atomically replaces path with len bytes of data. */
int rlvr_file_write_atomic(const char *path, const void *data, size_t len);

/* An open atomic write, for files written in pieces. */
typedef struct {
  int fd;
  char *path;
  char *tmp_path;
} rlvr_atomic_file;

int rlvr_atomic_open(rlvr_atomic_file *f, const char *path);
int rlvr_atomic_write(rlvr_atomic_file *f, const void *data, size_t len);
/* fsync, rename, fsync the directory; frees f. */
int rlvr_atomic_commit(rlvr_atomic_file *f);
/* Removes the temporary file; frees f. Accepts a failed open. */
void rlvr_atomic_abort(rlvr_atomic_file *f);

/* A read-only memory map of a whole file. */
typedef struct {
  const unsigned char *data;
  size_t len;
} rlvr_mapped_file;

int rlvr_file_map(const char *path, rlvr_mapped_file *m);
void rlvr_file_unmap(rlvr_mapped_file *m);

/* mkdir -p; existing directories are fine. */
int rlvr_mkdirs(const char *path);
/* mkdir -p of the directory part of a file's path ("a/b/c.json" -> a/b); a
 * path without a directory part needs nothing. For commands whose output
 * paths users name, so that `--output runs/x/out.jsonl` works on a fresh
 * tree. */
int rlvr_mkdirs_parent(const char *file_path);

int rlvr_file_exists(const char *path);

#endif
