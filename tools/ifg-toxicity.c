/* ifg-toxicity: offline toxicity scorers for JSONL lines.
 *
 * learn: labelled CSV or JSONL (common/text/textin.h) in, a classifier model file
 * out (common/evaluation/toxclf.h: hashed word and character n-grams, logistic
 * regression); held-out accuracy and AUC on stderr and in the model.
 * test: labelled CSV or JSONL in, as for learn, and a model: its accuracy
 * and ROC AUC there, a line on stdout (one JSON object with --json).
 * score: JSONL in, the same lines out in the same order, each with
 * "toxicity" (the classifier's probability, -m) and/or "toxicity_lexicon"
 * (the largest severity of a profanity-list word found, -l;
 * common/evaluation/lexicon.h) added; every other byte of a line is kept as it was. */
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json.h"
#include "lexicon.h"
#include "stream.h"
#include "textin.h"
#include "toxclf.h"
#include "util.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ifg-toxicity learn [-qv] -o model [--text field] [--label field] [--positive list]\n"
		"                          [--holdout F] [-s seed] [file]\n"
		"       ifg-toxicity score [-q] [-m model] [-l lexicon] [--field name] [-o file] [file ...]\n"
		"       ifg-toxicity test [-q] [--json] -m model [--text field] [--label field]\n"
		"                         [--positive list] [file]\n"
		"Train a toxicity classifier, add toxicity scores to JSON lines, or test a classifier.\n"
		"  -o, --output FILE    learn: the model file; score: the output (stdout)\n"
		"      --text FIELD     learn, test: the text column or key (tweet)\n"
		"      --label FIELD    learn, test: the label column or key (class)\n"
		"      --positive LIST  learn, test: comma-separated labels that are toxic (0,1)\n"
		"      --holdout F      learn: fraction held out for evaluation (0.2)\n"
		"  -s, --seed N         learn: split and order seed (0)\n"
		"  -m, --model FILE     score: add \"toxicity\", the classifier's probability;\n"
		"                       test: the classifier tested\n"
		"  -l, --lexicon PATH   score: add \"toxicity_lexicon\" (cuss or swearjar package)\n"
		"      --field NAME     score: the text to score (continuation)\n"
		"      --json           test: one JSON object instead of a line of text\n"
		"  -q, --quiet, -v, --verbose, --help, --version\n");
}

struct opts {
	const char *out, *text, *label, *positive, *model, *lexicon, *field;
	double holdout;
	unsigned long long seed;
	int json;
};

/* A label as text, for comparison with the --positive list; NULL if none. */
static const char *label_text(const struct ifg_value *v, char *buf, size_t n)
{
	switch (v->type) {
	case IFG_VAL_INT: snprintf(buf, n, "%lld", (long long)v->i); return buf;
	case IFG_VAL_BOOL: return v->b ? "true" : "false";
	case IFG_VAL_REAL: snprintf(buf, n, "%.17g", v->d); return buf;
	case IFG_VAL_STR: snprintf(buf, n, "%.*s", (int)(v->n < n ? v->n : n - 1), v->s); return buf;
	default: return NULL;
	}
}

static int in_list(const char *list, const char *s)
{
	size_t n = strlen(s);
	for (const char *p = list;; p++) {
		const char *e = strchr(p, ',');
		size_t k = e ? (size_t)(e - p) : strlen(p);
		if (k == n && !memcmp(p, s, n))
			return 1;
		if (!e)
			return 0;
		p = e;
	}
}

/* The input open_labelled opened, closed by close_labelled, or at exit when
 * a data error ends the program first. */
static struct ifg_textin *reading;

static void close_labelled(void)
{
	if (reading)
		ifg_textin_close(reading);
	reading = NULL;
}

/* Labelled documents of path (NULL: stdin), CSV when the name ends in
 * .csv[.zst], else JSON lines; read with next_labelled. */
static struct ifg_textin *open_labelled(const struct opts *o, const char *path)
{
	static const char *carry[1];	/* the reader keeps the pointer */
	static bool at_exit;
	carry[0] = o->label;
	bool csv = ifg_textin_format_of(path) == IFG_TEXTIN_CSV;
	struct ifg_textin_opts to = {
		.format = csv ? IFG_TEXTIN_CSV : IFG_TEXTIN_JSONL,
		.text = o->text, .carry = carry, .ncarry = 1,
	};
	struct ifg_textin *r = ifg_textin_open(path, &to);
	if (!r)
		ifg_die("%s", ifg_err());
	if (!at_exit)
		at_exit = atexit(close_labelled) == 0;
	return reading = r;
}

/* The next document and its label (1 toxic, 0 not) in *y: 1, or 0 at the
 * end; dies on a read error or a missing label. */
static int next_labelled(const struct opts *o, struct ifg_textin *r, struct ifg_doc *doc, int *y)
{
	int rc = ifg_textin_next(r, doc);
	if (rc < 0)
		ifg_die("%s", ifg_err());
	if (rc == 0)
		return 0;
	char buf[256];
	const char *lab = label_text(&doc->carry[0], buf, sizeof buf);
	if (!lab)
		ifg_die("'%s': line %llu: label '%s' is %s", ifg_textin_name(r),
			(unsigned long long)doc->line, o->label,
			doc->carry[0].type == IFG_VAL_NONE ? "missing" : "not a string, number or boolean");
	*y = in_list(o->positive, lab);
	return 1;
}

static int learn(const struct opts *o, const char *path)
{
	struct ifg_textin *r = open_labelled(o, path);
	struct ifg_toxdata d;
	ifg_toxdata_init(&d);
	struct ifg_doc doc;
	int y;
	size_t npos = 0;
	while (next_labelled(o, r, &doc, &y)) {
		npos += y;
		ifg_toxdata_add(&d, doc.text, doc.text_len, y);
	}
	if (d.n == 0)
		ifg_die("'%s': line 1: empty input: no labelled documents", ifg_textin_name(r));
	ifg_info("%zu documents, %zu toxic (labels %s)", d.n, npos, o->positive);
	struct ifg_toxclf_cfg cfg = ifg_toxclf_default;
	cfg.seed = o->seed;
	struct ifg_toxclf m;
	double t0 = ifg_now();
	if (ifg_toxclf_learn(&m, &d, o->holdout, &cfg) < 0)
		ifg_die("'%s': %s", ifg_textin_name(r), ifg_err());
	ifg_info("trained in %.2f s", ifg_now() - t0);
	if (ifg_toxclf_save(&m, o->out) < 0)
		ifg_die_err("cannot write the model");
	if (m.ntest)
		ifg_warn("held-out accuracy %.4f, AUC %.4f (%llu documents held out, %llu trained, "
			 "%u epochs, 2^%u features)", m.acc, m.auc, (unsigned long long)m.ntest,
			 (unsigned long long)m.ntrain, m.epochs, m.bits);
	else
		ifg_warn("no held-out documents: accuracy and AUC not measured (%llu trained)",
			 (unsigned long long)m.ntrain);
	close_labelled();
	ifg_toxclf_release(&m);
	ifg_toxdata_release(&d);
	return 0;
}

/* ---- test ---- */

/* The model's accuracy (a probability >= 0.5 read as toxic) and ROC AUC
 * on labelled documents (toxclf.h's ifg_toxeval, the one learn's held-out
 * report uses). */
static int test(const struct opts *o, const char *path)
{
	struct ifg_toxclf m;
	if (ifg_toxclf_load(&m, o->model) < 0)
		ifg_die("cannot load the model: %s", ifg_err());
	struct ifg_toxfeat f;
	ifg_toxfeat_init(&f);
	struct ifg_textin *r = open_labelled(o, path);
	struct ifg_toxeval ev = { 0 };
	struct ifg_doc doc;
	int y;
	while (next_labelled(o, r, &doc, &y))
		ifg_toxeval_add(&ev, ifg_toxclf_prob(&m, &f, doc.text, doc.text_len), y);
	const char *name = ifg_textin_name(r);
	size_t n = ev.n, npos = ev.npos;
	if (n == 0)
		ifg_die("'%s': line 1: empty input: no labelled documents", name);
	double acc, auc;
	ifg_toxeval_result(&ev, &acc, &auc);
	if (npos == 0 || npos == n)
		ifg_warn("'%s': all %zu documents are %s: the AUC is undefined", name, n,
			 npos ? "toxic" : "non-toxic");
	if (o->json) {
		fputs("{\"input\":", stdout);
		ifg_json_str(stdout, name, strlen(name));
		fputs(",\"model\":", stdout);
		ifg_json_str(stdout, o->model, strlen(o->model));
		printf(",\"documents\":%zu,\"positives\":%zu,\"negatives\":%zu,\"accuracy\":", n, npos,
		       n - npos);
		ifg_json_num(stdout, acc);
		fputs(",\"auc\":", stdout);
		ifg_json_num(stdout, auc);
		fputs("}\n", stdout);
	} else {
		char a[32] = "undefined";
		if (!isnan(auc))
			snprintf(a, sizeof a, "%.4f", auc);
		printf("accuracy %.4f, AUC %s (%zu documents: %zu toxic, %zu not)\n", acc, a, n, npos,
		       n - npos);
	}
	if (fflush(stdout) == EOF || ferror(stdout))
		ifg_die("cannot write: standard output");
	close_labelled();
	ifg_toxfeat_release(&f);
	ifg_toxclf_release(&m);
	ifg_toxeval_release(&ev);
	return 0;
}

/* ---- score ---- */

struct scorer {
	const struct opts *o;
	struct ifg_toxclf m;
	struct ifg_toxfeat f;
	struct ifg_toxlex *lx;
	struct ifg_out *out;
	unsigned long long lines;
};

static void put(struct scorer *sc, const char *s, size_t n)
{
	if (ifg_out_write(sc->out, s, n) < 0)
		ifg_die_err("cannot write");
}

static void score_line(struct scorer *sc, const char *name, unsigned long long no, char *s,
		       size_t n)
{
	while (n && strchr(" \t\r", s[n - 1]))
		n--;
	size_t b = 0;
	while (b < n && strchr(" \t", s[b]))
		b++;
	if (b == n)
		return;	/* blank lines are skipped */
	json_error_t je;
	json_t *obj = json_loadb(s, n, JSON_ALLOW_NUL, &je);
	if (!obj)
		ifg_die("'%s': line %llu: %s", name, no, je.text);
	if (!json_is_object(obj))
		ifg_die("'%s': line %llu: not a JSON object", name, no);
	json_t *t = ifg_json_field(obj, sc->o->field);
	if (!json_is_string(t))
		ifg_die("'%s': line %llu: field '%s' %s", name, no, sc->o->field,
			t ? "is not a string" : "is missing");
	const char *text = json_string_value(t);
	size_t tn = json_string_length(t);
	const char *keys[2];
	double vals[2];
	int k = 0;
	if (sc->m.w)
		keys[k] = "toxicity", vals[k++] = ifg_toxclf_prob(&sc->m, &sc->f, text, tn);
	if (sc->lx)
		keys[k] = "toxicity_lexicon", vals[k++] = ifg_toxlex_scan(sc->lx, text, tn, NULL, NULL);
	int present = 0;
	for (int i = 0; i < k; i++)
		present |= json_object_get(obj, keys[i]) != NULL;
	if (present) {	/* replace in place: the line is written anew */
		for (int i = 0; i < k; i++)
			json_object_set_new(obj, keys[i], json_real(vals[i]));
		char *d = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (!d)
			ifg_die("'%s': line %llu: cannot write the object back", name, no);
		put(sc, d, strlen(d));
		free(d);
	} else {	/* the line as it was, up to its closing brace, then the fields */
		int empty = json_object_size(obj) == 0;
		put(sc, s, n - 1);
		for (int i = 0; i < k; i++) {
			char num[64];
			int len = snprintf(num, sizeof num, "%s\"%s\":%.9g", empty && !i ? "" : ",",
					   keys[i], vals[i]);
			put(sc, num, (size_t)len);
		}
		put(sc, "}", 1);
	}
	put(sc, "\n", 1);
	sc->lines++;
	json_decref(obj);
}

static int score(const struct opts *o, int nfiles, char **files)
{
	struct scorer sc = { .o = o };
	ifg_toxfeat_init(&sc.f);
	if (o->model) {
		if (ifg_toxclf_load(&sc.m, o->model) < 0)
			ifg_die("cannot load the model: %s", ifg_err());
		ifg_info("model '%s': held-out accuracy %.4f, AUC %.4f (%llu documents)", o->model,
			 sc.m.acc, sc.m.auc, (unsigned long long)sc.m.ntest);
	}
	if (o->lexicon) {
		if (!(sc.lx = ifg_toxlex_load(o->lexicon)))
			ifg_die("cannot load the lexicon: %s", ifg_err());
		ifg_info("lexicon '%s': %s, %zu entries", o->lexicon, ifg_toxlex_kind(sc.lx),
			 ifg_toxlex_size(sc.lx));
	}
	if (!(sc.out = ifg_out_open(o->out, IFG_COMPRESS_AUTO, 0)))
		ifg_die_err("cannot write");
	/* the lines as they are (textin's line reader); score_line parses them */
	const struct ifg_textin_opts lines = { .format = IFG_TEXTIN_LINES };
	for (int i = 0; i < (nfiles ? nfiles : 1); i++) {
		struct ifg_textin *r = ifg_textin_open(nfiles ? files[i] : NULL, &lines);
		if (!r)
			ifg_die_err("cannot read");
		struct ifg_doc d;
		int rc;
		while ((rc = ifg_textin_next(r, &d)) > 0)
			score_line(&sc, ifg_textin_name(r), d.line, (char *)d.text, d.text_len);
		if (rc < 0)
			ifg_die("%s", ifg_err());
		ifg_textin_close(r);
	}
	if (ifg_out_close(sc.out) < 0)
		ifg_die_err("cannot write");
	ifg_info("scored %llu lines", sc.lines);
	ifg_toxlex_free(sc.lx);
	ifg_toxclf_release(&sc.m);
	ifg_toxfeat_release(&sc.f);
	return 0;
}

int main(int argc, char **argv)
{
	ifg_cli_init(argv[0]);
	enum { O_TEXT = 256, O_LABEL, O_POSITIVE, O_HOLDOUT, O_FIELD, O_JSON };
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },   { "text", required_argument, NULL, O_TEXT },
		{ "label", required_argument, NULL, O_LABEL }, { "positive", required_argument, NULL, O_POSITIVE },
		{ "holdout", required_argument, NULL, O_HOLDOUT }, { "seed", required_argument, NULL, 's' },
		{ "model", required_argument, NULL, 'm' },    { "lexicon", required_argument, NULL, 'l' },
		{ "field", required_argument, NULL, O_FIELD }, { "json", no_argument, NULL, O_JSON },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },	       { "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },	       { NULL, 0, NULL, 0 },
	};
	struct opts o = { .text = "tweet", .label = "class", .positive = "0,1",
			  .field = "continuation", .holdout = 0.2 };
	/* the commands, and for each option those it belongs to */
	enum { LEARN = 1, SCORE = 2, TEST = 4 };
	static const char *const cmds[] = { "learn", "score", "test" };
	int ch, cmd = 0;
	if (argc > 1 && argv[1][0] != '-') {	/* the command, then its options */
		for (int i = 0; i < 3; i++)
			if (!strcmp(argv[1], cmds[i]))
				cmd = 1 << i;
		if (!cmd)
			ifg_usage_error("unknown command '%s' (learn, score or test)", argv[1]);
		argv[1] = argv[0], argv++, argc--;
	}
	const char *cmd_name = cmd ? cmds[cmd == LEARN ? 0 : cmd == SCORE ? 1 : 2] : NULL;
	const struct ifg_cli_std std = { usage, NULL, NULL };
	while ((ch = getopt_long(argc, argv, "o:s:m:l:qv", longopts, NULL)) != -1) {
		int belongs = LEARN | SCORE | TEST;
		const char *opt = NULL;
		switch (ch) {
		case 'o': o.out = optarg; belongs = LEARN | SCORE, opt = "-o"; break;
		case O_TEXT: o.text = optarg; belongs = LEARN | TEST, opt = "--text"; break;
		case O_LABEL: o.label = optarg; belongs = LEARN | TEST, opt = "--label"; break;
		case O_POSITIVE: o.positive = optarg; belongs = LEARN | TEST, opt = "--positive"; break;
		case O_HOLDOUT:
			o.holdout = ifg_opt_double("--holdout", optarg, 0, 0.99);
			belongs = LEARN, opt = "--holdout";
			break;
		case 's':
			o.seed = (unsigned long long)ifg_opt_long("-s", optarg, 0, LONG_MAX);
			belongs = LEARN, opt = "-s";
			break;
		case 'm': o.model = optarg; belongs = SCORE | TEST, opt = "-m"; break;
		case 'l': o.lexicon = optarg; belongs = SCORE, opt = "-l"; break;
		case O_FIELD: o.field = optarg; belongs = SCORE, opt = "--field"; break;
		case O_JSON: o.json = 1; belongs = TEST, opt = "--json"; break;
		default: ifg_cli_std_option(&std, ch, optarg);
		}
		if (cmd && !(belongs & cmd)) {
			char also[32] = "";
			for (int i = 0, k = 0; i < 3; i++)
				if (belongs & (1 << i))
					snprintf(also + strlen(also), sizeof also - strlen(also), "%s%s",
						 k++ ? " and " : "", cmds[i]);
			ifg_usage_error("option %s belongs to %s, not to %s", opt, also, cmd_name);
		}
	}
	if (!cmd)
		ifg_usage_error("a command is needed: learn, score or test");
	if ((cmd == LEARN || cmd == TEST) && !*o.positive)
		ifg_usage_error("option --positive: an empty list");
	if (cmd == TEST) {
		if (!o.model)
			ifg_usage_error("test needs a model (-m)");
		if (argc - optind > 1)
			ifg_usage_error("test reads one input file at most");
		return test(&o, optind < argc ? argv[optind] : NULL);
	}
	if (cmd == LEARN) {
		if (!o.out)
			ifg_usage_error("learn needs a model file (-o)");
		if (argc - optind > 1)
			ifg_usage_error("learn reads one input file at most");
		return learn(&o, optind < argc ? argv[optind] : NULL);
	}
	if (!o.model && !o.lexicon)
		ifg_usage_error("score needs a model (-m), a lexicon (-l) or both");
	return score(&o, argc - optind, argv + optind);
}
