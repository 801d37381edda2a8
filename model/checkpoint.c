/* checkpoint.c — loading and saving Hugging Face model directories; see
 * checkpoint.h for the contract and docs/checkpoints.md for the checks.
 *
 * Loading is two passes over the memory-mapped files: first every check
 * (config.json, the index, each tensor's name, shape and dtype against the
 * model's tensor table), and only then the copy/convert into the parameter
 * allocation, so that no bad tensor is half-copied when an error is found. */
#include "model/checkpoint.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/check.h"
#include "core/error.h"
#include "core/file.h"
#include "core/safetensors.h"

static char *join_path(const char *dir, const char *name) {
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = xmalloc(n);
  snprintf(p, n, "%s/%s", dir, name);
  return p;
}

/* ---- the files of a directory ----------------------------------------- */

/* The safetensors files of a checkpoint and, when sharded, the index's map
 * from tensor name to file (an index into files). */
typedef struct {
  rlvr_safetensors *files;
  int num_files;
  char *index_path; /* NULL for a single file */
  char **map_names; /* weight_map keys */
  int *map_file;    /* weight_map values as indices into files */
  int map_len;
} ckpt_files;

static void files_free(ckpt_files *cf) {
  for (int i = 0; i < cf->num_files; i++) rlvr_safetensors_close(&cf->files[i]);
  free(cf->files);
  for (int i = 0; i < cf->map_len; i++) free(cf->map_names[i]);
  free(cf->map_names);
  free(cf->map_file);
  free(cf->index_path);
  memset(cf, 0, sizeof *cf);
}

/* A shard name from an index: a plain file name in the same directory. */
static int shard_name_ok(const char *s) {
  return s[0] && !strchr(s, '/') && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

/* Reads model.safetensors.index.json and opens every shard it names. */
static int open_sharded(const char *dir, ckpt_files *cf) {
  cf->index_path = join_path(dir, "model.safetensors.index.json");
  const char *path = cf->index_path;
  char *text = NULL;
  size_t len = 0;
  int rc = rlvr_file_read(path, &text, &len);
  if (rc) return rc;
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
  if (!root) {
    rc = rlvr_error(RLVR_ERR_FORMAT, "%s: not valid JSON (at byte %td)", path, end ? end - text : (ptrdiff_t)0);
    free(text);
    return rc;
  }
  free(text);
  const cJSON *wm = cJSON_GetObjectItemCaseSensitive(root, "weight_map");
  if (!cJSON_IsObject(wm)) {
    cJSON_Delete(root);
    return rlvr_error(RLVR_ERR_FORMAT, "%s: field 'weight_map' missing or not an object", path);
  }
  int n = cJSON_GetArraySize(wm);
  cf->map_names = xcalloc((size_t)n + 1, sizeof *cf->map_names);
  cf->map_file = xcalloc((size_t)n + 1, sizeof *cf->map_file);
  char **shard_names = xcalloc((size_t)n + 1, sizeof *shard_names);
  int num_shards = 0;
  const cJSON *kv;
  cJSON_ArrayForEach(kv, wm) {
    if (!cJSON_IsString(kv) || !shard_name_ok(kv->valuestring)) {
      rc = rlvr_error(RLVR_ERR_FORMAT, "%s: field 'weight_map.%.96s' is not a file name in this directory", path,
                      kv->string);
      break;
    }
    for (int i = 0; i < cf->map_len; i++)
      if (strcmp(cf->map_names[i], kv->string) == 0) {
        rc = rlvr_error(RLVR_ERR_FORMAT, "%s: field 'weight_map': tensor '%.96s' appears twice", path, kv->string);
        break;
      }
    if (rc) break;
    int s = 0;
    while (s < num_shards && strcmp(shard_names[s], kv->valuestring) != 0) s++;
    if (s == num_shards) shard_names[num_shards++] = xstrdup(kv->valuestring);
    cf->map_names[cf->map_len] = xstrdup(kv->string);
    cf->map_file[cf->map_len++] = s;
  }
  cJSON_Delete(root);
  if (rc == RLVR_OK && num_shards == 0) rc = rlvr_error(RLVR_ERR_FORMAT, "%s: field 'weight_map' is empty", path);
  if (rc == RLVR_OK) {
    cf->files = xcalloc((size_t)num_shards, sizeof *cf->files);
    for (int s = 0; s < num_shards && rc == RLVR_OK; s++) {
      char *sp = join_path(dir, shard_names[s]);
      rc = rlvr_safetensors_open(sp, &cf->files[s]);
      if (rc == RLVR_OK) cf->num_files++;
      else if (rc == RLVR_ERR_IO) rlvr_error_wrap(rc, "%s: shard '%s' named in field 'weight_map'", path, shard_names[s]);
      free(sp);
    }
  }
  for (int s = 0; s < num_shards; s++) free(shard_names[s]);
  free(shard_names);
  return rc;
}

static int open_files(const char *dir, ckpt_files *cf) {
  memset(cf, 0, sizeof *cf);
  char *single = join_path(dir, "model.safetensors");
  char *index = join_path(dir, "model.safetensors.index.json");
  int rc;
  /* As transformers does: a single file wins over an index. */
  if (rlvr_file_exists(single)) {
    cf->files = xcalloc(1, sizeof *cf->files);
    rc = rlvr_safetensors_open(single, &cf->files[0]);
    if (rc == RLVR_OK) cf->num_files = 1;
  } else if (rlvr_file_exists(index)) {
    rc = open_sharded(dir, cf);
  } else {
    rc = rlvr_error(RLVR_ERR_IO, "%s: neither model.safetensors nor model.safetensors.index.json exists", dir);
  }
  free(single);
  free(index);
  if (rc) files_free(cf);
  return rc;
}

/* ---- loading ------------------------------------------------------------ */

static void format_shape(char *buf, size_t n, int ndim, const int64_t *shape) {
  size_t at = (size_t)snprintf(buf, n, "[");
  for (int d = 0; d < ndim && at < n; d++)
    at += (size_t)snprintf(buf + at, n - at, d ? ", %lld" : "%lld", (long long)shape[d]);
  if (at < n) snprintf(buf + at, n - at, "]");
}

/* Where each tensor of the model comes from. */
typedef struct {
  const rlvr_safetensors *file;
  const rlvr_st_tensor *t;
} source;

/* Checks every tensor of every file against the table of a model allocated
 * for cfg (names, shapes, dtypes, the index), filling src[table index]; a
 * tied lm_head.weight goes to *tied_head. */
static int match_tensors(const char *dir, const ckpt_files *cf, const rlvr_model *m, source *src,
                         source *tied_head) {
  const char *cfg_name = "config.json";
  int extra = 0, rc = RLVR_OK, rc_is_extra = 0;
  for (int f = 0; f < cf->num_files; f++) {
    const rlvr_safetensors *st = &cf->files[f];
    for (int i = 0; i < st->num_tensors; i++) {
      const rlvr_st_tensor *t = &st->tensors[i];
      if (cf->index_path) {
        int k = 0;
        while (k < cf->map_len && strcmp(cf->map_names[k], t->name) != 0) k++;
        if (k == cf->map_len) {
          if (!rc) rc = rlvr_error(RLVR_ERR_MISMATCH, "%s: tensor '%s' is not in the weight_map of %s", st->path,
                                   t->name, cf->index_path);
          continue;
        }
        if (cf->map_file[k] != f) {
          if (!rc) rc = rlvr_error(RLVR_ERR_MISMATCH, "%s: tensor '%s' is here, but %s maps it to %s", st->path,
                                   t->name, cf->index_path, cf->files[cf->map_file[k]].path);
          continue;
        }
      }
      const rlvr_tensor_info *info = rlvr_model_find_tensor(m, t->name);
      int is_head = strcmp(t->name, "lm_head.weight") == 0;
      if (!info && !(is_head && m->cfg.tie_embeddings)) {
        if (!rc) {
          rc = rlvr_error(RLVR_ERR_MISMATCH, "%s: tensor '%s' is not part of the model %s/%s describes", st->path,
                          t->name, dir, cfg_name);
          rc_is_extra = 1;
        }
        extra++;
        continue;
      }
      source *slot = info ? &src[info - m->tensors] : tied_head;
      const int64_t *want = info ? info->shape : rlvr_model_find_tensor(m, "model.embed_tokens.weight")->shape;
      int want_nd = info ? info->ndim : 2;
      if (slot->t) {
        if (!rc) rc = rlvr_error(RLVR_ERR_MISMATCH, "%s: tensor '%s' is also in %s", st->path, t->name,
                                 slot->file->path);
        continue;
      }
      int same = t->ndim == want_nd;
      for (int d = 0; same && d < want_nd; d++) same = t->shape[d] == want[d];
      if (!same) {
        char got_s[160], want_s[64];
        format_shape(got_s, sizeof got_s, t->ndim, t->shape);
        format_shape(want_s, sizeof want_s, want_nd, want);
        if (!rc) rc = rlvr_error(RLVR_ERR_MISMATCH, "%s: tensor '%s' has shape %s but %s/%s gives %s", st->path,
                                 t->name, got_s, dir, cfg_name, want_s);
        continue;
      }
      if (t->dtype != RLVR_DTYPE_F32 && t->dtype != RLVR_DTYPE_F16 && t->dtype != RLVR_DTYPE_BF16) {
        if (!rc) rc = rlvr_error(RLVR_ERR_UNSUPPORTED, "%s: tensor '%s': dtype %s is not supported (F32, F16, BF16 are)",
                                 st->path, t->name, rlvr_dtype_name(t->dtype));
        continue;
      }
      slot->file = st;
      slot->t = t;
    }
  }
  if (rc) {
    if (rc_is_extra && extra > 1) rlvr_error_wrap(rc, "%d tensors not in the model; the first", extra);
    return rc;
  }
  /* Index entries whose shard lacks the tensor. */
  for (int k = 0; k < cf->map_len; k++)
    if (!rlvr_safetensors_find(&cf->files[cf->map_file[k]], cf->map_names[k]))
      return rlvr_error(RLVR_ERR_MISMATCH, "%s: field 'weight_map': tensor '%s' is mapped to %s, which does not hold it",
                        cf->index_path, cf->map_names[k], cf->files[cf->map_file[k]].path);
  int missing = 0, first = -1;
  for (int i = 0; i < m->num_tensors; i++)
    if (!src[i].t) {
      if (first < 0) first = i;
      missing++;
    }
  if (missing) {
    const char *where = cf->index_path ? cf->index_path : cf->files[0].path;
    if (missing == 1)
      return rlvr_error(RLVR_ERR_MISMATCH, "%s: tensor '%s' is missing (%s/%s needs it)", where,
                        m->tensors[first].name, dir, cfg_name);
    return rlvr_error(RLVR_ERR_MISMATCH, "%s: %d tensors are missing, the first '%s' (%s/%s needs them)", where, missing,
                      m->tensors[first].name, dir, cfg_name);
  }
  return RLVR_OK;
}

/* Before allocating for cfg: could the files hold such a model at all? Lower
 * bounds on the tensor count and the parameter count (in double, so that an
 * absurd config.json cannot overflow) against what the files hold, so that
 * num_hidden_layers: 1000000000 is an error and not an allocation failure.
 * Only a config needing more than twice what the files hold is refused here;
 * smaller disagreements get the precise per-tensor message of match_tensors.
 * So loading never allocates more than about twice the files' values. */
static int check_capacity(const char *dir, const ckpt_files *cf, const rlvr_model_config *c) {
  double have_tensors = 0, have_values = 0;
  for (int f = 0; f < cf->num_files; f++)
    for (int i = 0; i < cf->files[f].num_tensors; i++) {
      have_tensors += 1;
      have_values += (double)cf->files[f].tensors[i].numel;
    }
  const double L = c->num_layers, C = c->hidden_size, F = c->intermediate_size, V = c->vocab_size;
  const double QD = (double)c->num_heads * c->head_dim, KD = (double)c->num_kv_heads * c->head_dim;
  double need_tensors = 2 + 9 * L; /* embed, final norm; 9 per layer at least */
  double need_values = V * C + C + L * (2 * C + 2 * QD * C + 2 * KD * C + 3 * F * C);
  if (need_tensors > 2 * have_tensors + 64 || need_values > 2 * have_values + (1 << 20))
    return rlvr_error(RLVR_ERR_MISMATCH,
                      "%s/config.json: fields 'num_hidden_layers' %d, 'hidden_size' %d, 'intermediate_size' %d, "
                      "'vocab_size' %d describe at least %.0f tensors of %.0f values, but the weights files hold %.0f "
                      "tensors of %.0f",
                      dir, c->num_layers, c->hidden_size, c->intermediate_size, c->vocab_size, need_tensors,
                      need_values, have_tensors, have_values);
  return RLVR_OK;
}

int rlvr_model_load(const char *dir, rlvr_model *out) {
  rlvr_model_config cfg;
  int rc = rlvr_hf_config_read(dir, &cfg);
  if (rc) return rc;
  ckpt_files cf;
  rc = open_files(dir, &cf);
  if (rc) return rc;
  rc = check_capacity(dir, &cf, &cfg);
  if (rc) {
    files_free(&cf);
    return rc;
  }

  rlvr_model m;
  rlvr_model_alloc(&m, &cfg);
  source *src = xcalloc((size_t)m.num_tensors, sizeof *src);
  source head = {0};
  rc = match_tensors(dir, &cf, &m, src, &head);
  for (int i = 0; i < m.num_tensors && rc == RLVR_OK; i++)
    rc = rlvr_safetensors_read_f32(src[i].file, src[i].t, m.params_memory + m.tensors[i].offset);
  if (rc == RLVR_OK && head.t) {
    /* A tied model with lm_head.weight stored: accepted when it is the
     * embedding matrix, since either way the model uses embed for both. */
    size_t n = head.t->numel;
    float *h = xmalloc(n * sizeof *h);
    rc = rlvr_safetensors_read_f32(head.file, head.t, h);
    if (rc == RLVR_OK && memcmp(h, m.params.embed, n * sizeof *h) != 0)
      rc = rlvr_error(RLVR_ERR_MISMATCH,
                      "%s: tensor 'lm_head.weight' differs from model.embed_tokens.weight, but %s/config.json says "
                      "tie_word_embeddings true",
                      head.file->path, dir);
    free(h);
  }
  free(src);
  files_free(&cf);
  if (rc) {
    rlvr_model_free(&m);
    return rc;
  }
  *out = m;
  return RLVR_OK;
}

/* ---- saving ------------------------------------------------------------- */

static const char *const tokenizer_files[] = {
    "tokenizer.json",          "tokenizer_config.json", "special_tokens_map.json",
    "generation_config.json",  "chat_template.jinja",   "chat_template.json",
};

static int same_dir(const char *a, const char *b) {
  char ra[PATH_MAX], rb[PATH_MAX];
  if (!realpath(a, ra) || !realpath(b, rb)) return 0;
  return strcmp(ra, rb) == 0;
}

static int copy_file(const char *from, const char *to) {
  char *data = NULL;
  size_t len = 0;
  int rc = rlvr_file_read(from, &data, &len);
  if (rc == RLVR_OK) rc = rlvr_file_write_atomic(to, data, len);
  free(data);
  return rc;
}

/* Removes dir/name if it exists (a stale entry file of the other layout). */
static int remove_stale(const char *dir, const char *name) {
  char *p = join_path(dir, name);
  int rc = RLVR_OK;
  if (unlink(p) != 0 && errno != ENOENT) rc = rlvr_error(RLVR_ERR_IO, "%s: cannot remove: %s", p, strerror(errno));
  free(p);
  return rc;
}

/* The index file of a sharded save. */
static char *format_index(const rlvr_st_write_tensor *ts, const int *shard_of, int n, int num_shards,
                          size_t total_bytes) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  RLVR_CHECK(f);
  fprintf(f, "{\n  \"metadata\": {\"total_size\": %zu},\n  \"weight_map\": {\n", total_bytes);
  for (int i = 0; i < n; i++)
    fprintf(f, "    \"%s\": \"model-%05d-of-%05d.safetensors\"%s\n", ts[i].name, shard_of[i] + 1, num_shards,
            i + 1 < n ? "," : "");
  fprintf(f, "  }\n}\n");
  RLVR_CHECK(fclose(f) == 0);
  return text;
}

int rlvr_model_save(const rlvr_model *m, const char *dir, const rlvr_save_options *opts) {
  rlvr_save_options o = {0};
  if (opts) o = *opts;
  int rc = rlvr_mkdirs(dir);
  if (rc) return rc;

  const int n = m->num_tensors;
  rlvr_st_write_tensor *ts = xcalloc((size_t)n, sizeof *ts);
  int *shard_of = xcalloc((size_t)n, sizeof *shard_of);
  const rlvr_dtype dt = o.bf16 ? RLVR_DTYPE_BF16 : RLVR_DTYPE_F32;
  const size_t esize = rlvr_dtype_size(dt);
  size_t total = 0, in_shard = 0;
  int num_shards = 1;
  for (int i = 0; i < n; i++) {
    const rlvr_tensor_info *t = &m->tensors[i];
    /* Tensor names come from the table: plain ASCII, nothing to escape. */
    ts[i] = (rlvr_st_write_tensor){.name = t->name, .dtype = dt, .ndim = t->ndim, .data = m->params_memory + t->offset};
    ts[i].shape[0] = t->shape[0];
    ts[i].shape[1] = t->shape[1];
    size_t bytes = t->numel * esize;
    if (o.max_shard_bytes && in_shard > 0 && in_shard + bytes > o.max_shard_bytes) {
      num_shards++;
      in_shard = 0;
    }
    shard_of[i] = num_shards - 1;
    in_shard += bytes;
    total += bytes;
  }
  const rlvr_st_meta meta = {"format", "pt"};
  if (num_shards == 1) {
    char *p = join_path(dir, "model.safetensors");
    rc = rlvr_safetensors_write(p, ts, n, &meta, 1);
    free(p);
    if (rc == RLVR_OK) rc = remove_stale(dir, "model.safetensors.index.json");
  } else {
    for (int s = 0, first = 0; s < num_shards && rc == RLVR_OK; s++) {
      int last = first;
      while (last < n && shard_of[last] == s) last++;
      char name[64];
      snprintf(name, sizeof name, "model-%05d-of-%05d.safetensors", s + 1, num_shards);
      char *p = join_path(dir, name);
      rc = rlvr_safetensors_write(p, ts + first, last - first, &meta, 1);
      free(p);
      first = last;
    }
    if (rc == RLVR_OK) {
      char *text = format_index(ts, shard_of, n, num_shards, total);
      char *p = join_path(dir, "model.safetensors.index.json");
      rc = rlvr_file_write_atomic(p, text, strlen(text));
      free(p);
      free(text);
    }
    if (rc == RLVR_OK) rc = remove_stale(dir, "model.safetensors");
  }
  free(ts);
  free(shard_of);
  if (rc) return rc;

  char *cfg_text = rlvr_hf_config_format(&m->cfg, o.bf16 ? "bfloat16" : "float32");
  char *p = join_path(dir, "config.json");
  rc = rlvr_file_write_atomic(p, cfg_text, strlen(cfg_text));
  free(p);
  free(cfg_text);
  if (rc || !o.tokenizer_dir || same_dir(o.tokenizer_dir, dir)) return rc;

  for (size_t i = 0; i < sizeof tokenizer_files / sizeof *tokenizer_files && rc == RLVR_OK; i++) {
    char *from = join_path(o.tokenizer_dir, tokenizer_files[i]);
    char *to = join_path(dir, tokenizer_files[i]);
    if (rlvr_file_exists(from)) rc = copy_file(from, to);
    free(from);
    free(to);
  }
  return rc;
}
