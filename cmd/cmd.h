/* cmd.h — the rlvr command line: one binary, one function per subcommand.
 *
 * A subcommand returns its exit code: 0 success, 1 failure, 2 usage error.
 * Each takes `--help`, and those that run something take a config file
 * (positional or --config FILE) and repeated `--set key=value`. */
#ifndef RLVR_CMD_H
#define RLVR_CMD_H

#include <stdio.h>

#include "core/config.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

typedef struct {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *summary;
} rlvr_command;

int cmd_config(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_score(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_tasks(int argc, char **argv);
int cmd_rollout(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_sft(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_select(int argc, char **argv);
int cmd_learner(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_report(int argc, char **argv);
/* `rlvr bench verify` (verifiers/bench_verify.h), with the built-in script paths. */
int cmd_bench_verify(int argc, char **argv);

/* Common options. Parses argv[1..] for --config FILE, a positional *.lua
 * (one that does not follow an option, which may be taking it as its value),
 * --set key=value (repeatable) and -h/--help; every other argument is left
 * in rest[0..*nrest) in order for the command's own parser. Loads the config
 * over the defaults. Returns EXIT_OK, EXIT_USAGE (bad option, message
 * printed) or EXIT_FAIL (config error, message printed); *help is set when
 * --help was given. cfg must be initialised by the caller. */
int cmd_parse_common(int argc, char **argv, rlvr_config *cfg, char **rest, int *nrest, int *help);

/* Prints "rlvr <cmd>: <message>" and returns EXIT_FAIL, for errors from outside. */
int cmd_fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Same with "usage:" hint; returns EXIT_USAGE. */
int cmd_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* An option that is a shorthand for --set KEY=VALUE ("--model DIR"). */
typedef struct {
  const char *flag, *key;
} cmd_shorthand;

/* Applies the shorthands found in rest[0..*nrest) ("--flag VALUE" or
 * "--flag=VALUE") to cfg and removes them from rest, keeping the others in
 * order. Returns EXIT_OK, EXIT_USAGE (a flag without its value) or EXIT_FAIL
 * (a bad value; message printed). */
int cmd_apply_shorthands(const char *cmd, rlvr_config *cfg, char **rest, int *nrest,
                         const cmd_shorthand *table, int ntable);

/* The whole command line of a command that takes only the common options
 * and its shorthands: initialises cfg, runs cmd_parse_common and
 * cmd_apply_shorthands, and rejects any other argument. When the command
 * should not go on (--help: usage printed, EXIT_OK; or an error: message
 * printed, EXIT_USAGE / EXIT_FAIL) it frees cfg, sets *done and returns the
 * exit code; otherwise *done is 0, it returns EXIT_OK and cfg is the
 * caller's to free. */
int cmd_parse_simple(const char *cmd, int argc, char **argv, rlvr_config *cfg, const cmd_shorthand *table,
                     int ntable, const char *usage, int *done);

/* Applies run.threads and log.level; call after the config is final. */
int cmd_apply_runtime(const char *cmd, const rlvr_config *cfg);

#endif
