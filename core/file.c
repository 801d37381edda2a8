/* file.c — see file.h. */
#include "core/file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"

int rlvr_file_read(const char *path, char **out, size_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return rlvr_error(RLVR_ERR_IO, "%s: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return rlvr_error(RLVR_ERR_IO, "%s: not a regular file", path);
  }
  size_t n = (size_t)st.st_size, got = 0;
  char *buf = xmalloc(n + 1);
  while (got < n) {
    ssize_t r = read(fd, buf + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      int e = errno;
      free(buf);
      close(fd);
      return rlvr_error(RLVR_ERR_IO, "%s: read failed: %s", path, r < 0 ? strerror(e) : "file shrank");
    }
    got += (size_t)r;
  }
  close(fd);
  buf[n] = '\0';
  *out = buf;
  if (len) *len = n;
  return RLVR_OK;
}

static int write_all(int fd, const void *data, size_t len) {
  const unsigned char *p = data;
  while (len > 0) {
    ssize_t w = write(fd, p, len);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return -1;
    p += w;
    len -= (size_t)w;
  }
  return 0;
}

int rlvr_atomic_open(rlvr_atomic_file *f, const char *path) {
  size_t n = strlen(path) + 32;
  f->path = xstrdup(path);
  f->tmp_path = xmalloc(n);
  snprintf(f->tmp_path, n, "%s.tmp.%d", path, (int)getpid());
  f->fd = open(f->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (f->fd < 0) {
    int e = errno;
    free(f->path);
    free(f->tmp_path);
    f->path = f->tmp_path = NULL;
    return rlvr_error(RLVR_ERR_IO, "%s: cannot create: %s", path, strerror(e));
  }
  return RLVR_OK;
}

int rlvr_atomic_write(rlvr_atomic_file *f, const void *data, size_t len) {
  if (write_all(f->fd, data, len) != 0)
    return rlvr_error(RLVR_ERR_IO, "%s: write failed: %s", f->path, strerror(errno));
  return RLVR_OK;
}

static void fsync_dir_of(const char *path) {
  char *copy = xstrdup(path);
  int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  free(copy);
}

int rlvr_atomic_commit(rlvr_atomic_file *f) {
  int rc = RLVR_OK;
  if (fsync(f->fd) != 0) rc = rlvr_error(RLVR_ERR_IO, "%s: fsync failed: %s", f->path, strerror(errno));
  if (close(f->fd) != 0 && rc == RLVR_OK)
    rc = rlvr_error(RLVR_ERR_IO, "%s: close failed: %s", f->path, strerror(errno));
  f->fd = -1;
  if (rc == RLVR_OK && rename(f->tmp_path, f->path) != 0)
    rc = rlvr_error(RLVR_ERR_IO, "%s: rename failed: %s", f->path, strerror(errno));
  if (rc == RLVR_OK) fsync_dir_of(f->path);
  else unlink(f->tmp_path);
  free(f->path);
  free(f->tmp_path);
  f->path = f->tmp_path = NULL;
  return rc;
}

void rlvr_atomic_abort(rlvr_atomic_file *f) {
  if (!f || !f->tmp_path) return;
  if (f->fd >= 0) close(f->fd);
  unlink(f->tmp_path);
  free(f->path);
  free(f->tmp_path);
  f->path = f->tmp_path = NULL;
  f->fd = -1;
}

int rlvr_file_write_atomic(const char *path, const void *data, size_t len) {
  rlvr_atomic_file f;
  int rc = rlvr_atomic_open(&f, path);
  if (rc) return rc;
  rc = rlvr_atomic_write(&f, data, len);
  if (rc) {
    rlvr_atomic_abort(&f);
    return rc;
  }
  return rlvr_atomic_commit(&f);
}

int rlvr_file_map(const char *path, rlvr_mapped_file *m) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return rlvr_error(RLVR_ERR_IO, "%s: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return rlvr_error(RLVR_ERR_IO, "%s: not a regular file", path);
  }
  size_t n = (size_t)st.st_size;
  const unsigned char *p = NULL;
  if (n > 0) {
    void *q = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0);
    if (q == MAP_FAILED) {
      int e = errno;
      close(fd);
      return rlvr_error(RLVR_ERR_IO, "%s: mmap failed: %s", path, strerror(e));
    }
    p = q;
  }
  close(fd);
  m->data = p;
  m->len = n;
  return RLVR_OK;
}

void rlvr_file_unmap(rlvr_mapped_file *m) {
  if (!m) return;
  if (m->data && m->len) munmap((void *)m->data, m->len);
  m->data = NULL;
  m->len = 0;
}

int rlvr_mkdirs(const char *path) {
  char *p = xstrdup(path);
  for (char *s = p + 1;; s++) {
    if (*s == '/' || *s == '\0') {
      char c = *s;
      *s = '\0';
      if (mkdir(p, 0755) != 0 && errno != EEXIST) {
        int e = errno;
        int rc = rlvr_error(RLVR_ERR_IO, "%s: cannot create directory: %s", p, strerror(e));
        free(p);
        return rc;
      }
      *s = c;
      if (c == '\0') break;
    }
  }
  free(p);
  return RLVR_OK;
}

int rlvr_mkdirs_parent(const char *file_path) {
  const char *slash = strrchr(file_path, '/');
  if (!slash || slash == file_path) return RLVR_OK;
  char *dir = xstrdup(file_path);
  dir[slash - file_path] = '\0';
  const int rc = rlvr_mkdirs(dir);
  free(dir);
  return rc;
}

int rlvr_file_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}
