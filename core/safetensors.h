/* safetensors.h — reading and writing the safetensors tensor file format.
 *
 * The format (https://github.com/huggingface/safetensors):
 *   bytes [0, 8)        N, the header length, unsigned 64-bit little-endian
 *   bytes [8, 8+N)      a JSON object, UTF-8, starting with '{' and possibly
 *                       padded with trailing spaces:
 *                         { "__metadata__": {"format": "pt", ...},   (optional; string values)
 *                           "<tensor name>": {"dtype": "BF16", "shape": [V, C],
 *                                             "data_offsets": [begin, end]}, ... }
 *   bytes [8+N, len)    the data section; each tensor's bytes lie at
 *                       [begin, end) relative to its start, row-major,
 *                       little-endian.
 *
 * What a parse checks (every check names the file and the tensor or field):
 * N fits in the file and is at most RLVR_ST_MAX_HEADER; the header is one JSON
 * object starting with '{' followed only by whitespace; every entry has a
 * known dtype, a shape of non-negative integers and two integer offsets with
 * begin <= end; numel * dtype size == end - begin without overflow; no name
 * appears twice; sorted by begin, the tensors tile the data section exactly
 * (the first starts at 0, each starts where the previous ended, the last ends
 * at the end of the file): so no gaps, no overlaps, nothing out of bounds.
 * These are the rules of the reference implementation's validation.
 *
 * Reading converts F32, F16 and BF16 to float32 exactly (every f16 and bf16
 * value, subnormals, infinities and NaNs included, is a float32 value). Other
 * dtypes of the format (I64, F64, U8, ...) parse, so a file holding them can
 * be listed, but reading one as float is RLVR_ERR_UNSUPPORTED. A dtype string
 * the format does not define fails the parse with RLVR_ERR_UNSUPPORTED.
 *
 * Writing produces F32 or BF16 tensors from float32 data, the header padded
 * with spaces to a multiple of 8 bytes as the reference writer does, written
 * atomically (file.h). The host must be little-endian (checked). */
#ifndef RLVR_SAFETENSORS_H
#define RLVR_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "core/file.h"

enum {
  RLVR_ST_MAX_DIMS = 8,
  /* The reference implementation refuses headers above 100 MB. */
  RLVR_ST_MAX_HEADER = 100000000,
};

typedef enum {
  RLVR_DTYPE_F32 = 0,
  RLVR_DTYPE_F16,
  RLVR_DTYPE_BF16,
  RLVR_DTYPE_F64,
  RLVR_DTYPE_I64,
  RLVR_DTYPE_U64,
  RLVR_DTYPE_I32,
  RLVR_DTYPE_U32,
  RLVR_DTYPE_I16,
  RLVR_DTYPE_U16,
  RLVR_DTYPE_I8,
  RLVR_DTYPE_U8,
  RLVR_DTYPE_BOOL,
  RLVR_DTYPE_F8_E4M3,
  RLVR_DTYPE_F8_E5M2,
  RLVR_DTYPE_COUNT
} rlvr_dtype;

/* "F32", "BF16", ... as the format spells them. */
const char *rlvr_dtype_name(rlvr_dtype d);
/* Bytes per element. */
size_t rlvr_dtype_size(rlvr_dtype d);

/* One tensor of a parsed file. data points into the caller's buffer (or the
 * mapping of rlvr_safetensors_open) and is not aligned in general. */
typedef struct {
  char *name;
  rlvr_dtype dtype;
  int ndim;                        /* 0 (a scalar) to RLVR_ST_MAX_DIMS */
  int64_t shape[RLVR_ST_MAX_DIMS];
  size_t numel;                    /* product of shape; 1 for a scalar */
  size_t begin, end;               /* byte offsets in the data section */
  const unsigned char *data;       /* end - begin bytes */
} rlvr_st_tensor;

typedef struct {
  char *key, *value;
} rlvr_st_meta;

/* A parsed file. Tensors are in the order of their offsets. */
typedef struct {
  char *path;                /* for messages */
  rlvr_mapped_file map;      /* set by rlvr_safetensors_open only */
  rlvr_st_tensor *tensors;
  int num_tensors;
  rlvr_st_meta *meta;        /* __metadata__ entries, in file order */
  int num_meta;
  size_t header_len;         /* N */
} rlvr_safetensors;

/* Parses buf[0, len) (a whole file); path only names it in messages. The
 * result points into buf, which must outlive it. On error returns
 * RLVR_ERR_FORMAT (malformed) or RLVR_ERR_UNSUPPORTED (unknown dtype), with a
 * message "<path>: ...", and leaves *st zeroed. */
int rlvr_safetensors_parse(const unsigned char *buf, size_t len, const char *path,
                           rlvr_safetensors *st);

/* Maps path read-only and parses it; the mapping lives until close. On error
 * (RLVR_ERR_IO or a parse error) *st is zeroed and nothing stays mapped. */
int rlvr_safetensors_open(const char *path, rlvr_safetensors *st);

/* Frees and unmaps; accepts NULL and a zeroed or failed *st. */
void rlvr_safetensors_close(rlvr_safetensors *st);

/* The tensor called name, or NULL. */
const rlvr_st_tensor *rlvr_safetensors_find(const rlvr_safetensors *st, const char *name);

/* The value of a __metadata__ key, or NULL. */
const char *rlvr_safetensors_meta(const rlvr_safetensors *st, const char *key);

/* Converts tensor t (F32, F16 or BF16) to t->numel floats at out.
 * Other dtypes: RLVR_ERR_UNSUPPORTED naming the file, tensor and dtype. */
int rlvr_safetensors_read_f32(const rlvr_safetensors *st, const rlvr_st_tensor *t, float *out);

/* Exact conversions of one element, and float -> bf16 rounded to nearest
 * even as PyTorch does (NaN stays a quiet NaN). */
float rlvr_f16_to_f32(uint16_t h); /* a NaN comes out quiet, as torch gives it */
float rlvr_bf16_to_f32(uint16_t b);
uint16_t rlvr_f32_to_bf16(float f);

/* A tensor to write: numel float32 values at data, stored as dtype
 * (RLVR_DTYPE_F32 or RLVR_DTYPE_BF16). */
typedef struct {
  const char *name;
  rlvr_dtype dtype;
  int ndim;
  int64_t shape[RLVR_ST_MAX_DIMS];
  const float *data;
} rlvr_st_write_tensor;

/* Writes the n tensors, in the order given, to path atomically, with the
 * metadata pairs meta[0..num_meta) (NULL/0 for none; transformers wants
 * {"format": "pt"}). Names must be distinct (checked: RLVR_ERR_ARG). */
int rlvr_safetensors_write(const char *path, const rlvr_st_write_tensor *ts, int n,
                           const rlvr_st_meta *meta, int num_meta);

/* Bytes a file written with these tensors occupies (header included). */
size_t rlvr_safetensors_file_size(const rlvr_st_write_tensor *ts, int n,
                                  const rlvr_st_meta *meta, int num_meta);

#endif
