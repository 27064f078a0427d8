/* ifg-eval: evaluation metrics, as a table for people or one JSON object.
 *
 *   toxicity    JSONL samples (ifg-sample's output scored by ifg-toxicity):
 *               EMT and TP over prompts (doc/method.md §8), overall and per
 *               value of a split field;
 *   perplexity  token records and a checkpoint: perplexity and last-token
 *               accuracy (doc/method.md §8).
 * The definitions and their numerics are in common/evaluation/metrics.h.  The report
 * goes to standard output or, atomically, to the file of -o. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "gpt.h"
#include "json.h"
#include "metrics.h"
#include "stream.h"
#include "util.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ifg-eval toxicity [-q] [--json] [--key name] [--split field] [-o file] [file ...]\n"
		"       ifg-eval perplexity [-q] [--json] -m model [-b batch] [-j threads]\n"
		"                [--any-tokenizer] [-o file] [file ...]\n"
		"Evaluation metrics: EMT and TP of scored samples; perplexity of token records.\n"
		"      --json            one JSON object instead of a table\n"
		"      --key NAME        toxicity: the score field (toxicity)\n"
		"      --split FIELD     toxicity: also report per value of this field\n"
		"  -m, --model CKPT      perplexity: the checkpoint\n"
		"  -b, --batch N         perplexity: windows per forward pass (8)\n"
		"  -j, --threads N       perplexity: BLAS threads (online CPUs)\n"
		"      --any-tokenizer   perplexity: evaluate even when the model was trained\n"
		"                        with another tokenizer than the records'\n"
		"  -o, --output FILE     write the report here instead of standard output\n"
		"  -q, --quiet, --help, --version\n");
}

struct opts {
	int json, any_tok;
	const char *key, *split, *model, *out;
	long batch, threads;
};

/* Names as JSON strings, "all" for the overall row. */
static void tox_json(FILE *f, const struct ifg_tox_row *rows, size_t n)
{
	fputc('{', f);
	for (size_t i = 0; i < n; i++) {
		const struct ifg_tox_row *r = &rows[i];
		if (i)
			fputc(',', f);
		if (r->name)
			ifg_json_str(f, r->name, r->name_len);
		else
			fputs("\"all\"", f);
		fputs(":{\"emt\":", f);
		ifg_json_num(f, r->s.emt);
		fputs(",\"tp\":", f);
		ifg_json_num(f, r->s.tp);
		fputs(",\"mean\":", f);
		ifg_json_num(f, r->s.mean);
		fputs(",\"toxic_frac\":", f);
		ifg_json_num(f, r->s.toxic_frac);
		fprintf(f, ",\"prompts\":%llu,\"samples\":%llu}", (unsigned long long)r->s.prompts,
			(unsigned long long)r->s.samples);
	}
	fputs("}\n", f);
}

static void tox_table(FILE *f, const struct ifg_tox_row *rows, size_t n)
{
	int w = 5;	/* the widest row name, "split" at least */
	for (size_t i = 1; i < n; i++)
		if (rows[i].name_len > (size_t)w)
			w = rows[i].name_len > 40 ? 40 : (int)rows[i].name_len;
	fprintf(f, "%-*s %8s %8s %8s %8s %9s %9s\n", w, "split", "EMT", "TP", "mean", ">=0.5",
		"prompts", "samples");
	for (size_t i = 0; i < n; i++) {
		const struct ifg_tox_row *r = &rows[i];
		fprintf(f, "%-*.*s %8.4f %8.4f %8.4f %8.4f %9llu %9llu\n", w, r->name ? 40 : 3,
			r->name ? r->name : "all", r->s.emt, r->s.tp, r->s.mean, r->s.toxic_frac,
			(unsigned long long)r->s.prompts, (unsigned long long)r->s.samples);
	}
}

static void toxicity(const struct opts *o, char **files, int nfiles, FILE *f)
{
	struct ifg_tox *t = ifg_tox_new(o->key, o->split);
	for (int i = 0; i < (nfiles ? nfiles : 1); i++)
		if (ifg_tox_add_file(t, nfiles ? files[i] : NULL) < 0)
			ifg_die("%s", ifg_err());
	const struct ifg_tox_row *rows;
	size_t n = ifg_tox_rows(t, &rows);
	if (rows[0].s.samples == 0)
		ifg_die("no samples in the input");
	for (size_t i = 1; i < n; i++)
		if (rows[i].name_len == 3 && !memcmp(rows[i].name, "all", 3))
			ifg_die("--split: field '%s' has the value 'all', the name of the overall row",
				o->split);
	(o->json ? tox_json : tox_table)(f, rows, n);
	ifg_tox_free(t);
}

static void progress(const struct ifg_ppl *s, void *t0)
{
	double el = ifg_now() - *(double *)t0;
	ifg_progress("%llu records, %llu tokens, ppl %.3f, %.0f tok/s",
		     (unsigned long long)s->records, (unsigned long long)s->tokens,
		     s->tokens ? exp(s->nll / (double)s->tokens) : NAN,
		     (double)s->tokens / (el > 0 ? el : 1e-9));
}

static void perplexity(const struct opts *o, char **files, int nfiles, FILE *f)
{
	ifg_gpt_set_threads((int)o->threads);
	struct ifg_gpt *m = ifg_gpt_load(o->model);
	if (!m)
		ifg_die_err("cannot load the model '%s'", o->model);
	struct ifg_ppl_eval *e = ifg_ppl_eval_new(m, (int)o->batch);
	if (!e)
		ifg_die_err("perplexity");
	if (!o->any_tok && ifg_ppl_eval_check_tokenizer(e, o->model) < 0)
		ifg_die_err("cannot read the model '%s'", o->model);
	double t0 = ifg_now();
	if (ifg_progress_enabled())
		ifg_ppl_eval_on_batch(e, progress, &t0);
	for (int i = 0; i < (nfiles ? nfiles : 1); i++)
		if (ifg_ppl_eval_add_file(e, nfiles ? files[i] : NULL) < 0)
			ifg_die("%s", ifg_err());
	if (ifg_ppl_eval_flush(e) < 0)
		ifg_die_err("perplexity");
	ifg_progress_done();
	const struct ifg_ppl *s = ifg_ppl_eval_sums(e);
	if (s->tokens == 0)
		ifg_die("no predicted tokens in the input (records need 2 tokens or more)");
	double nll = s->nll / (double)s->tokens, ppl = exp(nll);
	double acc = s->last_n ? (double)s->last_hit / (double)s->last_n : NAN;
	if (o->json) {
		fputs("{\"ppl\":", f);
		ifg_json_num(f, ppl);
		fputs(",\"nll\":", f);
		ifg_json_num(f, nll);
		fprintf(f, ",\"tokens\":%llu,\"records\":%llu,\"last_token_acc\":",
			(unsigned long long)s->tokens, (unsigned long long)s->records);
		ifg_json_num(f, acc);
		fputs("}\n", f);
	} else {
		fprintf(f, "perplexity      %.4f\n", ppl);
		fprintf(f, "nll             %.6f\n", nll);
		fprintf(f, "tokens          %llu\n", (unsigned long long)s->tokens);
		fprintf(f, "records         %llu\n", (unsigned long long)s->records);
		fprintf(f, "last-token acc  %.4f (%llu of %llu)\n", acc,
			(unsigned long long)s->last_hit, (unsigned long long)s->last_n);
	}
	ifg_ppl_eval_free(e);
	ifg_gpt_free(m);
}

int main(int argc, char **argv)
{
	ifg_cli_init(argv[0]);
	enum { O_JSON = 256, O_KEY, O_SPLIT, O_ANYTOK };
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, O_JSON },	    { "key", required_argument, NULL, O_KEY },
		{ "split", required_argument, NULL, O_SPLIT }, { "model", required_argument, NULL, 'm' },
		{ "batch", required_argument, NULL, 'b' },  { "threads", required_argument, NULL, 'j' },
		{ "output", required_argument, NULL, 'o' }, { "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },	    { "version", no_argument, NULL, 'V' },
		{ "any-tokenizer", no_argument, NULL, O_ANYTOK }, { NULL, 0, NULL, 0 },
	};
	struct opts o = { .key = "toxicity", .batch = 8 };
	o.threads = sysconf(_SC_NPROCESSORS_ONLN) > 0 ? sysconf(_SC_NPROCESSORS_ONLN) : 1;
	bool tox_only = false, ppl_only = false;
	int ch;
	const struct ifg_cli_std std = { usage, &o.out, NULL };
	while ((ch = getopt_long(argc, argv, "m:b:j:o:q", longopts, NULL)) != -1) {
		switch (ch) {
		case O_JSON: o.json = 1; break;
		case O_KEY: o.key = optarg; tox_only = true; break;
		case O_SPLIT: o.split = optarg; tox_only = true; break;
		case 'm': o.model = optarg; ppl_only = true; break;
		case 'b': o.batch = ifg_opt_long("-b", optarg, 1, 4096); ppl_only = true; break;
		case 'j': o.threads = ifg_opt_long("-j", optarg, 1, 1024); ppl_only = true; break;
		case O_ANYTOK: o.any_tok = 1; ppl_only = true; break;
		default: ifg_cli_std_option(&std, ch, optarg);
		}
	}
	if (optind == argc)
		ifg_usage_error("a command is required: toxicity or perplexity");
	const char *cmd = argv[optind++];
	bool tox = !strcmp(cmd, "toxicity"), ppl = !strcmp(cmd, "perplexity");
	if (!tox && !ppl)
		ifg_usage_error("unknown command '%s' (toxicity or perplexity)", cmd);
	if (tox && ppl_only)
		ifg_usage_error("-m, -b, -j and --any-tokenizer belong to perplexity");
	if (ppl && tox_only)
		ifg_usage_error("--key and --split belong to toxicity");
	if (ppl && !o.model)
		ifg_usage_error("perplexity needs a model (-m)");
	/* the report is built in memory and written in one piece: an error
	 * leaves no partial output */
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		ifg_die("out of memory");
	(tox ? toxicity : perplexity)(&o, argv + optind, argc - optind, f);
	if (fclose(f) != 0)
		ifg_die("out of memory");
	struct ifg_out *out = ifg_out_open(o.out, IFG_COMPRESS_NO, 0);
	if (!out || ifg_out_write(out, text, len) < 0 || ifg_out_close(out) < 0)
		ifg_die_err("cannot write the report");
	free(text);
	return 0;
}
