/* common.c — option handling shared by subcommands; see cmd.h. */
#include <omp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "core/error.h"
#include "core/log.h"

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

int cmd_fail(const char *cmd, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "rlvr %s: ", cmd);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return EXIT_FAIL;
}

int cmd_usage_error(const char *cmd, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "rlvr %s: ", cmd);
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n(see `rlvr %s --help`)\n", cmd);
  va_end(ap);
  return EXIT_USAGE;
}

int cmd_parse_common(int argc, char **argv, rlvr_config *cfg, char **rest, int *nrest, int *help) {
  const char *cmd = argv[0];
  const char *config_path = NULL;
  /* --set applies after the file whatever the order on the line. */
  const char **sets = calloc((size_t)argc + 1, sizeof *sets);
  int nsets = 0;
  *nrest = 0;
  *help = 0;
  int rc = EXIT_OK;
  for (int i = 1; i < argc && rc == EXIT_OK; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      *help = 1;
    } else if (!strcmp(a, "--config") || !strcmp(a, "--set")) {
      if (i + 1 >= argc) rc = cmd_usage_error(cmd, "%s needs a value", a);
      else if (a[2] == 'c') config_path = argv[++i];
      else sets[nsets++] = argv[++i];
    } else if (!strncmp(a, "--config=", 9)) {
      config_path = a + 9;
    } else if (!strncmp(a, "--set=", 6)) {
      sets[nsets++] = a + 6;
    } else if (a[0] != '-' && ends_with(a, ".lua") && !config_path && (i == 1 || argv[i - 1][0] != '-')) {
      /* A positional *.lua is the config, unless it follows an option (which
       * may be that option's value: --verifier my.lua). */
      config_path = a;
    } else {
      rest[(*nrest)++] = argv[i];
    }
  }
  if (rc == EXIT_OK && !*help && config_path && rlvr_config_load(cfg, config_path) != RLVR_OK)
    rc = cmd_fail(cmd, "%s", rlvr_error_message());
  for (int i = 0; rc == EXIT_OK && !*help && i < nsets; i++)
    if (rlvr_config_set(cfg, sets[i]) != RLVR_OK) rc = cmd_fail(cmd, "%s", rlvr_error_message());
  free(sets);
  return rc;
}

int cmd_apply_runtime(const char *cmd, const rlvr_config *cfg) {
  static const char *levels[] = {"debug", "info", "warn", "error"};
  int level = -1;
  for (int i = 0; i < 4; i++)
    if (!strcmp(cfg->log_level, levels[i])) level = i;
  if (level < 0)
    return cmd_fail(cmd, "config: key 'log.level' must be one of debug, info, warn, error; got '%s'", cfg->log_level);
  rlvr_log_set_level((rlvr_log_level)level);
  if (cfg->run_threads < 0) return cmd_fail(cmd, "config: key 'run.threads' must be >= 0");
  if (cfg->run_threads > 0) omp_set_num_threads((int)cfg->run_threads);
  return EXIT_OK;
}

int cmd_apply_shorthands(const char *cmd, rlvr_config *cfg, char **rest, int *nrest,
                         const cmd_shorthand *table, int ntable) {
  int keep = 0;
  for (int i = 0; i < *nrest; i++) {
    const char *a = rest[i], *value = NULL;
    const cmd_shorthand *hit = NULL;
    for (int j = 0; j < ntable && !hit; j++) {
      size_t n = strlen(table[j].flag);
      if (!strcmp(a, table[j].flag)) {
        if (i + 1 >= *nrest) return cmd_usage_error(cmd, "%s needs a value", a);
        hit = &table[j];
        value = rest[++i];
      } else if (!strncmp(a, table[j].flag, n) && a[n] == '=') {
        hit = &table[j];
        value = a + n + 1;
      }
    }
    if (!hit) {
      rest[keep++] = rest[i];
      continue;
    }
    size_t len = strlen(hit->key) + strlen(value) + 2;
    char *assignment = malloc(len);
    snprintf(assignment, len, "%s=%s", hit->key, value);
    int rc = rlvr_config_set(cfg, assignment);
    free(assignment);
    if (rc != RLVR_OK) return cmd_fail(cmd, "%s: %s", hit->flag, rlvr_error_message());
  }
  *nrest = keep;
  return EXIT_OK;
}

int cmd_parse_simple(const char *cmd, int argc, char **argv, rlvr_config *cfg, const cmd_shorthand *table,
                     int ntable, const char *usage, int *done) {
  rlvr_config_init(cfg);
  char **rest = calloc((size_t)argc + 1, sizeof *rest);
  int nrest = 0, help = 0;
  int rc = cmd_parse_common(argc, argv, cfg, rest, &nrest, &help);
  if (rc == EXIT_OK && !help) rc = cmd_apply_shorthands(cmd, cfg, rest, &nrest, table, ntable);
  for (int i = 0; rc == EXIT_OK && !help && i < nrest; i++) rc = cmd_usage_error(cmd, "unknown argument '%s'", rest[i]);
  free(rest);
  *done = rc != EXIT_OK || help;
  if (*done) {
    if (help && rc == EXIT_OK) fputs(usage, stdout);
    rlvr_config_free(cfg);
  }
  return rc;
}
