/* test_config.c — Lua config files, --set overrides, unknown keys. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/error.h"
#include "testing.h"

static const char *write_tmp(const char *name, const char *text) {
  static char path[256];
  snprintf(path, sizeof path, "/tmp/rlvr_test_config_%d_%s", (int)getpid(), name);
  FILE *f = fopen(path, "w");
  fputs(text, f);
  fclose(f);
  return path;
}

int main(void) {
  rlvr_config c;
  rlvr_config_init(&c);
  CHECK(c.run_seed == 1);
  CHECK(strcmp(c.run_dir, "runs/default") == 0);
  CHECK(c.sample_temperature == 1.0);

  /* A file merges over defaults; computed values work. */
  const char *p = write_tmp("ok.lua", "local t = 0.5\nreturn { sample = { temperature = t * 2 - 0.3, top_k = 40 }, run = { dir = 'x/y' } }\n");
  CHECK(rlvr_config_load(&c, p) == RLVR_OK);
  CHECK(c.sample_temperature > 0.699 && c.sample_temperature < 0.701);
  CHECK(c.sample_top_k == 40);
  CHECK(strcmp(c.run_dir, "x/y") == 0);
  CHECK(c.run_seed == 1); /* untouched keys keep defaults */
  unlink(p);

  /* Unknown key: error names the file and the nearest valid key; c unchanged. */
  p = write_tmp("typo.lua", "return { sample = { temprature = 0.1 } }\n");
  CHECK(rlvr_config_load(&c, p) == RLVR_ERR_CONFIG);
  CHECK_MSG(strstr(rlvr_error_message(), "sample.temprature") != NULL, "%s", rlvr_error_message());
  CHECK_MSG(strstr(rlvr_error_message(), "did you mean 'sample.temperature'") != NULL, "%s", rlvr_error_message());
  CHECK(strstr(rlvr_error_message(), p) != NULL);
  CHECK(c.sample_temperature > 0.699 && c.sample_temperature < 0.701);
  unlink(p);

  /* A right leaf in the wrong place still finds its key. */
  CHECK(strcmp(rlvr_config_nearest_key("temperature"), "sample.temperature") == 0);

  /* Wrong type. */
  p = write_tmp("type.lua", "return { sample = { top_k = 'forty' } }\n");
  CHECK(rlvr_config_load(&c, p) == RLVR_ERR_CONFIG);
  CHECK_MSG(strstr(rlvr_error_message(), "sample.top_k") && strstr(rlvr_error_message(), "integer"), "%s", rlvr_error_message());
  CHECK(c.sample_top_k == 40);
  unlink(p);

  /* Partial failure leaves everything unchanged (first key valid, second not). */
  p = write_tmp("partial.lua", "return { run = { seed = 99, sed = 3 } }\n");
  CHECK(rlvr_config_load(&c, p) == RLVR_ERR_CONFIG);
  CHECK(c.run_seed == 1);
  unlink(p);

  /* Syntax error and non-table return name the file. */
  p = write_tmp("syntax.lua", "return { run = \n");
  CHECK(rlvr_config_load(&c, p) == RLVR_ERR_CONFIG);
  CHECK_MSG(strstr(rlvr_error_message(), "syntax.lua") != NULL, "%s", rlvr_error_message());
  unlink(p);
  p = write_tmp("num.lua", "return 3\n");
  CHECK(rlvr_config_load(&c, p) == RLVR_ERR_CONFIG);
  CHECK(strstr(rlvr_error_message(), "must return a table") != NULL);
  unlink(p);
  CHECK(rlvr_config_load(&c, "/nonexistent/cfg.lua") == RLVR_ERR_CONFIG);
  CHECK(strstr(rlvr_error_message(), "/nonexistent/cfg.lua") != NULL);

  /* Bytecode is refused: configs are text. */
  p = write_tmp("bc.lua", "\x1bLua\x54\x00");
  CHECK(rlvr_config_load(&c, p) == RLVR_ERR_CONFIG);
  unlink(p);

  /* --set. */
  CHECK(rlvr_config_set(&c, "sample.temperature=0.25") == RLVR_OK);
  CHECK(c.sample_temperature == 0.25);
  CHECK(rlvr_config_set(&c, "run.seed=7") == RLVR_OK && c.run_seed == 7);
  CHECK(rlvr_config_set(&c, "run.seed=7.5") == RLVR_ERR_CONFIG && c.run_seed == 7);
  CHECK(rlvr_config_set(&c, "run.sed=7") == RLVR_ERR_CONFIG);
  CHECK(strstr(rlvr_error_message(), "'run.seed'") != NULL);
  CHECK(rlvr_config_set(&c, "novalue") == RLVR_ERR_CONFIG);
  CHECK(rlvr_config_set(&c, "sample.temperature=nan") == RLVR_ERR_CONFIG);
  CHECK(rlvr_config_set(&c, "generate.prompt=a=b") == RLVR_OK && strcmp(c.generate_prompt, "a=b") == 0);

  /* Saved config reads back to the same values. */
  CHECK(rlvr_config_set(&c, "generate.prompt=quote \" and \\ and\nnewline") == RLVR_OK);
  char path[256];
  snprintf(path, sizeof path, "/tmp/rlvr_test_config_%d_saved.lua", (int)getpid());
  CHECK(rlvr_config_save(&c, path) == RLVR_OK);
  rlvr_config d;
  rlvr_config_init(&d);
  CHECK(rlvr_config_load(&d, path) == RLVR_OK);
  CHECK(d.sample_temperature == c.sample_temperature && d.run_seed == c.run_seed && d.sample_top_k == 40);
  CHECK(strcmp(d.generate_prompt, c.generate_prompt) == 0);
  CHECK(strcmp(d.run_dir, "x/y") == 0);
  unlink(path);
  rlvr_config_free(&d);
  rlvr_config_free(&c);
  return test_done();
}
