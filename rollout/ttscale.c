/* ttscale.c — budget-forcing sweeps and their table and page; see ttscale.h.
 *
 * The page's plots are drawn here as inline SVG: a frame of W x H pixels, a
 * plotting area inside margins, "nice" ticks (1, 2 or 5 times a power of
 * ten), one polyline with dots per series, the legend to the right of the
 * area (the frame grows with it), and every attribute inline so that a
 * figure copied out of the page renders the same. */
#include "rollout/ttscale.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/check.h"
#include "core/error.h"
#include "core/json.h"
#include "core/svg.h"

static const char *axis_names[RLVR_TTSCALE_NAXES] = {"max_think_tokens", "max_waits", "min_think_tokens"};

enum { MAX_VALUE = 1 << 20 };

const char *rlvr_ttscale_axis_name(rlvr_ttscale_axis a) {
  RLVR_CHECK(a >= 0 && a < RLVR_TTSCALE_NAXES);
  return axis_names[a];
}

int rlvr_ttscale_parse_axis(rlvr_ttscale_axes *a, const char *spec) {
  const char *s = !strncmp(spec, "budget.", 7) ? spec + 7 : spec;
  const char *eq = strchr(s, '=');
  int axis = -1;
  for (int i = 0; eq && i < RLVR_TTSCALE_NAXES; i++)
    if (strlen(axis_names[i]) == (size_t)(eq - s) && !strncmp(s, axis_names[i], (size_t)(eq - s))) axis = i;
  if (axis < 0)
    return rlvr_error(RLVR_ERR_CONFIG, "budget sweep '%s': want KEY=V1,V2,... with KEY max_think_tokens, max_waits or min_think_tokens", spec);
  if (a->nvalues[axis]) return rlvr_error(RLVR_ERR_CONFIG, "budget sweep: %s is swept twice", axis_names[axis]);
  int nv = 0, vals[RLVR_TTSCALE_MAX_VALUES];
  const char *p = eq + 1;
  while (1) {
    char *end;
    long v = strtol(p, &end, 10);
    if (end == p || v < 0 || v > MAX_VALUE || (*end && *end != ','))
      return rlvr_error(RLVR_ERR_CONFIG, "budget sweep '%s': each %s must be an integer in 0..%d", spec, axis_names[axis], MAX_VALUE);
    if (nv == RLVR_TTSCALE_MAX_VALUES)
      return rlvr_error(RLVR_ERR_CONFIG, "budget sweep '%s': at most %d values", spec, RLVR_TTSCALE_MAX_VALUES);
    for (int i = 0; i < nv; i++)
      if (vals[i] == (int)v) return rlvr_error(RLVR_ERR_CONFIG, "budget sweep '%s': %ld is listed twice", spec, v);
    vals[nv++] = (int)v;
    if (!*end) break;
    p = end + 1;
  }
  a->nvalues[axis] = nv;
  memcpy(a->values[axis], vals, sizeof(int) * (size_t)nv);
  return RLVR_OK;
}

static int *axis_field(rlvr_engine_params *p, int axis) {
  return axis == RLVR_TTSCALE_MAX_THINK ? &p->max_think_tokens
         : axis == RLVR_TTSCALE_MAX_WAITS ? &p->max_waits
                                          : &p->min_think_tokens;
}

int rlvr_ttscale_grid(const rlvr_ttscale_axes *a, const rlvr_eval_options *base, rlvr_eval_options **out, int *n) {
  *out = NULL;
  *n = 0;
  long total = 1;
  int swept = 0;
  for (int i = 0; i < RLVR_TTSCALE_NAXES; i++)
    if (a->nvalues[i]) total *= a->nvalues[i], swept++;
  if (!swept) return rlvr_error(RLVR_ERR_CONFIG, "budget sweep: no axis (max_think_tokens, max_waits, min_think_tokens) given");
  if (total > RLVR_TTSCALE_MAX_SETTINGS)
    return rlvr_error(RLVR_ERR_CONFIG, "budget sweep: %ld settings, at most %d", total, RLVR_TTSCALE_MAX_SETTINGS);
  /* s1's "Wait" count: suppress every end of thinking until the waits are spent. */
  const int min_rule = a->nvalues[RLVR_TTSCALE_MAX_WAITS] && !a->nvalues[RLVR_TTSCALE_MIN_THINK] &&
                       base->params.min_think_tokens == 0;
  rlvr_eval_options *o = xcalloc((size_t)total, sizeof *o);
  for (long s = 0; s < total; s++) {
    o[s] = *base;
    o[s].params.budget = 1;
    if (min_rule) o[s].params.min_think_tokens = base->params.max_tokens;
    long rest = s;
    for (int i = RLVR_TTSCALE_NAXES - 1; i >= 0; i--) { /* the first axis varies slowest */
      if (!a->nvalues[i]) continue;
      *axis_field(&o[s].params, i) = a->values[i][rest % a->nvalues[i]];
      rest /= a->nvalues[i];
    }
    int rc = rlvr_engine_params_validate(&o[s].params);
    if (rc) {
      char label[256];
      rlvr_ttscale_label(a, &o[s], label, sizeof label);
      free(o);
      return rlvr_error_wrap(rc, "budget sweep setting %s", label);
    }
  }
  *out = o;
  *n = (int)total;
  return RLVR_OK;
}

void rlvr_ttscale_label(const rlvr_ttscale_axes *a, const rlvr_eval_options *o, char *buf, size_t cap) {
  size_t k = 0;
  buf[0] = 0;
  for (int i = 0; i < RLVR_TTSCALE_NAXES && k < cap; i++) {
    if (!a->nvalues[i]) continue;
    int w = snprintf(buf + k, cap - k, "%s%s=%d", k ? " " : "", axis_names[i], *axis_field((rlvr_engine_params *)&o->params, i));
    if (w < 0) break;
    k += (size_t)w;
  }
}

char *rlvr_ttscale_json(const rlvr_ttscale_info *info, const rlvr_ttscale_axes *a, const rlvr_eval_options *opts,
                        const rlvr_eval_summary *sums, const char *const *files, int n) {
  RLVR_CHECK(n >= 1);
  cJSON *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "model", info && info->model ? info->model : "");
  cJSON_AddStringToObject(j, "task", info && info->task ? info->task : "");
  cJSON_AddStringToObject(j, "split", info && info->split ? info->split : "");
  cJSON_AddNumberToObject(j, "problems", (double)sums[0].problems);
  cJSON_AddNumberToObject(j, "samples_per_problem", opts[0].samples);
  cJSON *ax = cJSON_AddObjectToObject(j, "axes");
  for (int i = 0; i < RLVR_TTSCALE_NAXES; i++)
    if (a->nvalues[i]) cJSON_AddItemToObject(ax, axis_names[i], cJSON_CreateIntArray(a->values[i], a->nvalues[i]));
  cJSON *arr = cJSON_AddArrayToObject(j, "settings");
  for (int s = 0; s < n; s++) {
    cJSON *e = cJSON_CreateObject();
    char label[256];
    rlvr_ttscale_label(a, &opts[s], label, sizeof label);
    cJSON_AddStringToObject(e, "label", label);
    for (int i = 0; i < RLVR_TTSCALE_NAXES; i++)
      cJSON_AddNumberToObject(e, axis_names[i], *axis_field((rlvr_engine_params *)&opts[s].params, i));
    if (files && files[s]) cJSON_AddStringToObject(e, "samples_file", files[s]);
    char *text = rlvr_eval_summary_json(&opts[s], &sums[s]);
    cJSON *sj = cJSON_Parse(text);
    free(text);
    RLVR_CHECK(sj != NULL);
    cJSON_AddItemToObject(e, "summary", sj);
    cJSON_AddItemToArray(arr, e);
  }
  char *text = rlvr_json_print(j, 1);
  cJSON_Delete(j);
  return text;
}

/* ---- reading a record ---- */

typedef struct {
  cJSON *root;
  const cJSON *settings; /* array of {label, summary, ...} */
  cJSON *wrapped;        /* a single summary wrapped as a one-setting array */
  int n, samples;
} record;

static double num(const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static const cJSON *summary_of(const cJSON *setting) { return cJSON_GetObjectItemCaseSensitive(setting, "summary"); }

static int read_record(const char *json, record *r) {
  memset(r, 0, sizeof *r);
  r->root = cJSON_Parse(json);
  if (!cJSON_IsObject(r->root)) {
    cJSON_Delete(r->root);
    return rlvr_error(RLVR_ERR_FORMAT, "test-time scaling record: not a JSON object");
  }
  r->settings = cJSON_GetObjectItemCaseSensitive(r->root, "settings");
  if (!r->settings && cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(r->root, "accuracy"))) {
    /* one eval summary: a sweep of one setting */
    r->wrapped = cJSON_CreateArray();
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "label", "eval");
    cJSON_AddItemReferenceToObject(e, "summary", r->root);
    cJSON_AddItemToArray(r->wrapped, e);
    r->settings = r->wrapped;
  }
  if (!cJSON_IsArray(r->settings) || cJSON_GetArraySize(r->settings) < 1) {
    cJSON_Delete(r->root);
    return rlvr_error(RLVR_ERR_FORMAT, "test-time scaling record: no settings array");
  }
  r->n = cJSON_GetArraySize(r->settings);
  for (int i = 0; i < r->n; i++) {
    const cJSON *e = cJSON_GetArrayItem(r->settings, i), *s = summary_of(e);
    if (!cJSON_IsObject(s) || !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e, "label")) ||
        !isfinite(num(s, "accuracy")) || !isfinite(num(s, "samples_per_problem"))) {
      cJSON_Delete(r->wrapped);
      cJSON_Delete(r->root);
      return rlvr_error(RLVR_ERR_FORMAT, "test-time scaling record: setting %d lacks label, summary.accuracy or summary.samples_per_problem", i);
    }
  }
  const double samples = num(summary_of(cJSON_GetArrayItem(r->settings, 0)), "samples_per_problem");
  if (!(samples >= 1 && samples <= 1e6)) {
    cJSON_Delete(r->wrapped);
    cJSON_Delete(r->root);
    return rlvr_error(RLVR_ERR_FORMAT, "test-time scaling record: samples_per_problem %g is not in 1..1e6", samples);
  }
  r->samples = (int)samples;
  return RLVR_OK;
}

static void free_record(record *r) {
  cJSON_Delete(r->wrapped);
  cJSON_Delete(r->root);
}

static void sb_num(rlvr_svg_buf *b, double v, int dec) {
  if (isfinite(v)) rlvr_svg_printf(b, "%.*f", dec, v);
  else rlvr_svg_printf(b, "-");
}

/* ---- the table ---- */

typedef struct {
  const char *head;
  double (*get)(const cJSON *summary, int n);
  int dec;
} column;

static double c_acc(const cJSON *s, int n) { return (void)n, num(s, "accuracy"); }
static double c_think(const cJSON *s, int n) {
  return (void)n, num(cJSON_GetObjectItemCaseSensitive(s, "budget"), "mean_think_tokens");
}
static double c_tokens(const cJSON *s, int n) { return (void)n, num(s, "mean_completion_tokens"); }
static double c_waits(const cJSON *s, int n) { return (void)n, num(cJSON_GetObjectItemCaseSensitive(s, "budget"), "mean_waits"); }
static double c_cut(const cJSON *s, int n) { return (void)n, num(cJSON_GetObjectItemCaseSensitive(s, "budget"), "thinking_cut"); }
static double c_pass(const cJSON *s, int n) {
  char key[32];
  snprintf(key, sizeof key, "pass@%d", n);
  return num(s, key);
}
static double c_maj(const cJSON *s, int n) {
  char key[32];
  snprintf(key, sizeof key, "maj@%d", n);
  return num(s, key);
}

static const column columns[] = {
    {"accuracy", c_acc, 4},     {"mean thinking tokens", c_think, 1}, {"mean completion tokens", c_tokens, 1},
    {"waits / sample", c_waits, 2}, {"thinking cut", c_cut, 0},     {"pass@n", c_pass, 4},
    {"maj@n", c_maj, 4},
};
enum { NCOLUMNS = sizeof columns / sizeof columns[0] };

static void column_head(char *buf, size_t cap, int c, int n) {
  if (columns[c].get == c_pass) snprintf(buf, cap, "pass@%d", n);
  else if (columns[c].get == c_maj) snprintf(buf, cap, "maj@%d", n);
  else snprintf(buf, cap, "%s", columns[c].head);
}

static int column_shown(const record *r, int c) {
  if ((columns[c].get == c_pass || columns[c].get == c_maj) && r->samples <= 1) return 0;
  return 1;
}

int rlvr_ttscale_markdown(const char *json, char **out) {
  record r;
  int rc = read_record(json, &r);
  if (rc) return rc;
  rlvr_svg_buf b = {0};
  char head[64];
  rlvr_svg_printf(&b, "| # | setting |");
  for (int c = 0; c < NCOLUMNS; c++)
    if (column_shown(&r, c)) column_head(head, sizeof head, c, r.samples), rlvr_svg_printf(&b, " %s |", head);
  rlvr_svg_printf(&b, "\n|--:|---------|");
  for (int c = 0; c < NCOLUMNS; c++)
    if (column_shown(&r, c)) rlvr_svg_printf(&b, "--:|");
  rlvr_svg_printf(&b, "\n");
  for (int i = 0; i < r.n; i++) {
    const cJSON *e = cJSON_GetArrayItem(r.settings, i), *s = summary_of(e);
    rlvr_svg_printf(&b, "| %d | %s |", i, cJSON_GetObjectItemCaseSensitive(e, "label")->valuestring);
    for (int c = 0; c < NCOLUMNS; c++)
      if (column_shown(&r, c)) {
        rlvr_svg_printf(&b, " ");
        sb_num(&b, columns[c].get(s, r.samples), columns[c].dec);
        rlvr_svg_printf(&b, " |");
      }
    rlvr_svg_printf(&b, "\n");
  }
  free_record(&r);
  *out = b.s;
  return RLVR_OK;
}

/* ---- plots ---- */

enum { PW = 460, PH = 280, ML = 60, MT = 34, MB = 44, LEGEND_W = 250, ROW = 15 };
#define TEXT_ATTR "font-family=\"sans-serif\" font-size=\"11\""
static const char *palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e",
                                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
enum { NPALETTE = sizeof palette / sizeof palette[0] };

typedef struct {
  char label[256];
  int n;
  double *x, *y;
  char (*point)[64]; /* a label beside each dot, or NULL */
} series;

static void fmt_tick(char *buf, size_t cap, double v, double step) {
  if (fabs(v) < step * 1e-9) v = 0;
  int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
  snprintf(buf, cap, "%.*f", dec > 6 ? 6 : dec, v);
}

/* One plot with y in [0, 1]; draws nothing when no series has a point. */
static void plot(rlvr_svg_buf *b, const char *title, const char *xlabel, const char *ylabel, const series *ss, int ns, int integer_x) {
  double xlo = INFINITY, xhi = -INFINITY;
  for (int k = 0; k < ns; k++)
    for (int i = 0; i < ss[k].n; i++)
      if (isfinite(ss[k].x[i]) && isfinite(ss[k].y[i])) xlo = fmin(xlo, ss[k].x[i]), xhi = fmax(xhi, ss[k].x[i]);
  if (!(xlo <= xhi) || !isfinite(xhi - xlo)) return; /* nothing, or values from outside too far apart to draw */
  if (xhi - xlo < 1e-9) xlo -= 1, xhi += 1;
  double xstep = rlvr_svg_nice_step(xhi - xlo);
  if (integer_x && xstep < 1) xstep = 1;
  xlo = floor(xlo / xstep) * xstep, xhi = ceil(xhi / xstep) * xstep;
  if (!(xhi > xlo)) return; /* the step vanished against the magnitude (1e17 + 2 == 1e17) */
  const double ylo = 0, yhi = 1, ystep = 0.1; /* accuracies: 0 to 1 in 10 ticks */
  const int H = MT + PH + MB > MT + ROW * ns + 20 ? MT + PH + MB : MT + ROW * ns + 20;
  const int W = ML + PW + LEGEND_W;
#define PX(v) (ML + ((v)-xlo) / (xhi - xlo) * PW)
#define PY(v) (MT + PH - ((v)-ylo) / (yhi - ylo) * PH)
  rlvr_svg_printf(b, "<figure><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\">\n", W, H, W, H);
  rlvr_svg_printf(b, "<text x=\"%d\" y=\"20\" font-size=\"14\" font-weight=\"bold\">", ML);
  rlvr_svg_text(b, title);
  rlvr_svg_printf(b, "</text>\n<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"white\" stroke=\"#999\"/>\n", ML, MT, PW, PH);
  char tick[32];
  for (int i = 0; i <= 10; i++) {
    const double y = ylo + i * ystep;
    fmt_tick(tick, sizeof tick, y, ystep);
    rlvr_svg_printf(b, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/><text x=\"%d\" y=\"%.1f\" " TEXT_ATTR " text-anchor=\"end\">%s</text>\n",
           ML, ML + PW, PY(y), PY(y), ML - 6, PY(y) + 4, tick);
  }
  for (int i = 0; i <= 20; i++) { /* nice_step gives at most ~10 steps; counted, so rounding cannot loop */
    const double x = xlo + i * xstep;
    if (x > xhi + xstep * 1e-6) break;
    fmt_tick(tick, sizeof tick, x, xstep);
    rlvr_svg_printf(b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"#e4e4e4\"/><text x=\"%.1f\" y=\"%d\" " TEXT_ATTR " text-anchor=\"middle\">%s</text>\n",
           PX(x), PX(x), MT, MT + PH, PX(x), MT + PH + 16, tick);
  }
  rlvr_svg_printf(b, "<text x=\"%d\" y=\"%d\" " TEXT_ATTR " text-anchor=\"middle\">", ML + PW / 2, MT + PH + 34);
  rlvr_svg_text(b, xlabel);
  rlvr_svg_printf(b, "</text>\n<text x=\"14\" y=\"%d\" " TEXT_ATTR " text-anchor=\"middle\" transform=\"rotate(-90 14 %d)\">", MT + PH / 2, MT + PH / 2);
  rlvr_svg_text(b, ylabel);
  rlvr_svg_printf(b, "</text>\n");
  for (int k = 0; k < ns; k++) {
    const char *col = palette[k % NPALETTE];
    const char *dash = k >= NPALETTE ? " stroke-dasharray=\"5 3\"" : ""; /* past the palette: dashed */
    rlvr_svg_printf(b, "<polyline fill=\"none\" stroke-width=\"1.8\" stroke=\"%s\"%s points=\"", col, dash);
    for (int i = 0; i < ss[k].n; i++)
      if (isfinite(ss[k].x[i]) && isfinite(ss[k].y[i])) rlvr_svg_printf(b, "%.1f,%.1f ", PX(ss[k].x[i]), PY(ss[k].y[i]));
    rlvr_svg_printf(b, "\"/>\n");
    for (int i = 0; i < ss[k].n; i++) {
      if (!isfinite(ss[k].x[i]) || !isfinite(ss[k].y[i])) continue;
      rlvr_svg_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"><title>", PX(ss[k].x[i]), PY(ss[k].y[i]), col);
      rlvr_svg_text(b, ss[k].label);
      rlvr_svg_printf(b, ": %.4g, %.4f</title></circle>\n", ss[k].x[i], ss[k].y[i]);
      if (ss[k].point) {
        rlvr_svg_printf(b, "<text x=\"%.1f\" y=\"%.1f\" font-family=\"sans-serif\" font-size=\"9\" fill=\"%s\">", PX(ss[k].x[i]) + 4,
               PY(ss[k].y[i]) - 5, col);
        rlvr_svg_text(b, ss[k].point[i]);
        rlvr_svg_printf(b, "</text>\n");
      }
    }
    rlvr_svg_printf(b, "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke-width=\"3\" stroke=\"%s\"%s/><text x=\"%d\" y=\"%d\" " TEXT_ATTR ">",
           ML + PW + 10, ML + PW + 24, MT + 7 + ROW * k, MT + 7 + ROW * k, col, dash, ML + PW + 28, MT + 10 + ROW * k);
    rlvr_svg_text(b, ss[k].label);
    rlvr_svg_printf(b, "</text>\n");
  }
#undef PX
#undef PY
  rlvr_svg_printf(b, "</svg></figure>\n");
}

static void free_series(series *ss, int ns) {
  for (int k = 0; k < ns; k++) free(ss[k].x), free(ss[k].y), free(ss[k].point);
  free(ss);
}

/* Accuracy against mean thinking tokens. With max_think_tokens swept, one
 * line per combination of the other swept keys through its budgets (dots
 * labelled with the budget); otherwise one line through every setting. */
static void plot_scaling(rlvr_svg_buf *b, const record *r) {
  const cJSON *axes = cJSON_GetObjectItemCaseSensitive(r->root, "axes");
  const int by_cap = cJSON_GetObjectItemCaseSensitive(axes, "max_think_tokens") != NULL;
  series *ss = xcalloc((size_t)r->n, sizeof *ss);
  int ns = 0;
  for (int i = 0; i < r->n; i++) {
    const cJSON *e = cJSON_GetArrayItem(r->settings, i), *s = summary_of(e);
    const double x = c_think(s, 0), y = c_acc(s, 0);
    if (!isfinite(x)) continue;
    char key[256] = "", point[64];
    if (by_cap) { /* the other swept keys name the line */
      size_t k = 0;
      for (const cJSON *a = axes ? axes->child : NULL; a; a = a->next) {
        if (!strcmp(a->string, "max_think_tokens")) continue;
        int w = snprintf(key + k, sizeof key - k, "%s%s=%g", k ? " " : "", a->string, num(e, a->string));
        if (w > 0 && (size_t)w < sizeof key - k) k += (size_t)w;
      }
      if (!key[0]) snprintf(key, sizeof key, "budget forcing");
      const double cap = num(e, "max_think_tokens");
      snprintf(point, sizeof point, cap > 0 ? "%g" : "no cap", cap);
    } else {
      snprintf(key, sizeof key, "budget forcing");
      snprintf(point, sizeof point, "%s", cJSON_GetObjectItemCaseSensitive(e, "label")->valuestring);
    }
    int k = 0;
    while (k < ns && strcmp(ss[k].label, key)) k++;
    if (k == ns) {
      snprintf(ss[ns].label, sizeof ss[ns].label, "%s", key);
      ss[ns].x = xmalloc(sizeof(double) * (size_t)r->n);
      ss[ns].y = xmalloc(sizeof(double) * (size_t)r->n);
      ss[ns].point = xmalloc(sizeof *ss[ns].point * (size_t)r->n);
      ns++;
    }
    series *t = &ss[k];
    int at = t->n; /* insertion by x: the line runs left to right */
    while (at > 0 && t->x[at - 1] > x) {
      t->x[at] = t->x[at - 1], t->y[at] = t->y[at - 1];
      memcpy(t->point[at], t->point[at - 1], sizeof t->point[at]);
      at--;
    }
    t->x[at] = x, t->y[at] = y;
    memcpy(t->point[at], point, sizeof point);
    t->n++;
  }
  if (ns) plot(b, "Accuracy against mean thinking tokens (s1 budget forcing)", "mean thinking tokens per sample", "accuracy (pass@1)", ss, ns, 0);
  free_series(ss, ns);
}

/* pass@k or maj@k against k, one line per setting. */
static void plot_curves(rlvr_svg_buf *b, const record *r, const char *which, const char *title) {
  series *ss = xcalloc((size_t)r->n, sizeof *ss);
  int ns = 0;
  for (int i = 0; i < r->n; i++) {
    const cJSON *e = cJSON_GetArrayItem(r->settings, i);
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(summary_of(e), "curves");
    const cJSON *ks = cJSON_GetObjectItemCaseSensitive(c, "k"), *ys = cJSON_GetObjectItemCaseSensitive(c, which);
    const int n = cJSON_GetArraySize(ks);
    if (!cJSON_IsArray(ks) || !cJSON_IsArray(ys) || cJSON_GetArraySize(ys) != n || n < 1) continue;
    series *t = &ss[ns++];
    snprintf(t->label, sizeof t->label, "%s", cJSON_GetObjectItemCaseSensitive(e, "label")->valuestring);
    t->x = xmalloc(sizeof(double) * (size_t)n);
    t->y = xmalloc(sizeof(double) * (size_t)n);
    for (int k = 0; k < n; k++) {
      const cJSON *xk = cJSON_GetArrayItem(ks, k), *yk = cJSON_GetArrayItem(ys, k);
      t->x[k] = cJSON_IsNumber(xk) ? xk->valuedouble : NAN;
      t->y[k] = cJSON_IsNumber(yk) ? yk->valuedouble : NAN;
    }
    t->n = n;
  }
  if (ns) plot(b, title, "k (samples per problem)", which, ss, ns, 1);
  free_series(ss, ns);
}

int rlvr_ttscale_html(const char *json, char **out) {
  record r;
  int rc = read_record(json, &r);
  if (rc) return rc;
  rlvr_svg_buf b = {0};
  rlvr_svg_printf(&b, "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>rlvr eval: test-time scaling</title>\n"
             "<style>body{font-family:sans-serif;margin:24px;max-width:1000px} table{border-collapse:collapse;margin:12px 0}"
             " td,th{border:1px solid #ccc;padding:3px 8px;text-align:right} td:nth-child(2){text-align:left}"
             " figure{margin:16px 0} p.note{color:#444;font-size:13px}</style></head><body>\n");
  rlvr_svg_printf(&b, "<h1>rlvr eval: test-time scaling</h1>\n<p>");
  const cJSON *s0 = summary_of(cJSON_GetArrayItem(r.settings, 0));
  const char *keys[] = {"model", "task", "split"};
  for (int i = 0; i < 3; i++) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r.root, keys[i]);
    if (cJSON_IsString(v) && v->valuestring[0]) {
      rlvr_svg_printf(&b, "%s <code>", keys[i]);
      rlvr_svg_text(&b, v->valuestring);
      rlvr_svg_printf(&b, "</code>, ");
    }
  }
  const cJSON *smp = cJSON_GetObjectItemCaseSensitive(s0, "sampling");
  rlvr_svg_printf(&b, "%g problems, %d samples per problem, temperature %g, max_tokens %g.</p>\n", num(s0, "problems"), r.samples,
         num(smp, "temperature"), num(smp, "max_tokens"));
  rlvr_svg_printf(&b, "<table>\n<tr><th>#</th><th>setting</th>");
  char head[64];
  for (int c = 0; c < NCOLUMNS; c++)
    if (column_shown(&r, c)) column_head(head, sizeof head, c, r.samples), rlvr_svg_printf(&b, "<th>%s</th>", head);
  rlvr_svg_printf(&b, "</tr>\n");
  for (int i = 0; i < r.n; i++) {
    const cJSON *e = cJSON_GetArrayItem(r.settings, i), *s = summary_of(e);
    rlvr_svg_printf(&b, "<tr><td>%d</td><td>", i);
    rlvr_svg_text(&b, cJSON_GetObjectItemCaseSensitive(e, "label")->valuestring);
    rlvr_svg_printf(&b, "</td>");
    for (int c = 0; c < NCOLUMNS; c++)
      if (column_shown(&r, c)) {
        rlvr_svg_printf(&b, "<td>");
        sb_num(&b, columns[c].get(s, r.samples), columns[c].dec);
        rlvr_svg_printf(&b, "</td>");
      }
    rlvr_svg_printf(&b, "</tr>\n");
  }
  rlvr_svg_printf(&b, "</table>\n");
  plot_scaling(&b, &r);
  plot_curves(&b, &r, "pass@k", "pass@k against k (unbiased estimator, from the same n samples)");
  plot_curves(&b, &r, "maj@k", "maj@k against k (exact mean over all k-subsets of the n samples)");
  rlvr_svg_printf(&b, "<p class=\"note\">Thinking tokens: a sample's completion tokens up to where its thinking ended or was cut "
             "(all of them when it never ended), inserted text included. pass@k: 1 - C(n-c,k)/C(n,k) per problem. "
             "maj@k: the mean over all k-subsets of the n samples of the subset's majority vote being correct, "
             "a tie scoring the fraction of tied answers that are correct (docs/eval.md).</p>\n</body></html>\n");
  free_record(&r);
  *out = b.s;
  return RLVR_OK;
}
