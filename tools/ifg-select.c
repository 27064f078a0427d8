/* ifg-select: choose the training tokens to penalise from influence scores.
 *
 * Reads a scores stream and writes a tokens stream: every record, dropped
 * documents aside, with all its fields except scores and layer_scores, plus
 * mask (u8 [T], 1 = selected, aligned with tokens), ready for ifg-train.
 * Methods: ifguide (IF-Guide Algorithm 1, doc/method.md §6.1; common/influence/select.h)
 * and the baselines words, drop-docs and random.  The input is read once
 * per pass (up to four), so a pipe is first copied to an unlinked temporary
 * file.  --show prints documents of a masked tokens stream with the selected
 * tokens highlighted. */
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bpe.h"
#include "cli.h"
#include "kinds.h"
#include "rec.h"
#include "select.h"
#include "tokrec.h"
#include "util.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ifg-select [-qvz] [-m method] [-p P] [-w W] [-L tokens | -f frac] [-s seed]\n"
		"                  [-l lexicon -t tokenizer] [-o file] [file]\n"
		"       ifg-select --show -t tokenizer [-n count | -r record] [--color when] [file]\n"
		"Select training tokens to penalise from influence scores (IF-Guide).\n"
		"  -m, --method M       ifguide (default), words, drop-docs or random\n"
		"  -p, --percentile P   threshold: the P quantile of all scores (0.99)\n"
		"  -w, --window W       select W neighbours on each side (1)\n"
		"  -L, --budget N       at most N tokens (default: 2%% of all tokens)\n"
		"  -f, --budget-frac F  at most F times the number of tokens (0.02)\n"
		"  -s, --seed N         random: the generator's seed (0)\n"
		"  -l, --lexicon FILE   words: the words to mask, one a line\n"
		"  -t, --tokenizer PATH tokenizer.json, or a GPT-2 vocabulary directory\n"
		"  -o, --output FILE    write here instead of standard output\n"
		"  -z, --zstd           compress the output\n"
		"      --show           print documents with their selected tokens marked\n"
		"  -n, --count N        show: the N documents with most selected tokens (1)\n"
		"  -r, --record I       show: record I (0-based) instead\n"
		"      --color WHEN     show: auto (default), always or never\n"
		"  -q, --quiet, -v, --verbose, --help, --version\n");
}

enum method { M_IFGUIDE, M_WORDS, M_DROP, M_RANDOM };
static const char *const method_names[] = { "ifguide", "words", "drop-docs", "random" };

struct opts {
	enum method method;
	double p, frac;
	long w, count, record;
	long long budget;	/* -1: from frac */
	unsigned long long seed;
	const char *lexicon, *tokenizer, *out;
	int compress, show, color;	/* color: -1 auto */
};

struct ctx {
	const struct opts *o;
	struct ifg_quantile *q;
	struct ifg_sel_doc *docs;
	size_t ndoc, cap;
	uint64_t ntok, budget, sel_tok, sel_doc, dropped_tok;
	double tau;
	float tau32;
	uint64_t *quota;
	uint8_t *drop, *mask;
	uint32_t *ids, *off;
	size_t tcap;
	int pass;
	struct ifg_sel_random rnd;
	struct ifg_bpe *bpe;
	struct ifg_wordlist *lx;
	struct ifg_writer *w;
};

/* Room for T tokens in the per-record buffers. */
static void reserve(struct ctx *c, uint32_t T)
{
	if ((size_t)T + 1 <= c->tcap)
		return;
	c->tcap = 2 * ((size_t)T + 1);
	c->mask = ifg_xrealloc(c->mask, c->tcap, 1);
	c->ids = ifg_xrealloc(c->ids, c->tcap, sizeof *c->ids);
	c->off = ifg_xrealloc(c->off, c->tcap, sizeof *c->off);
}

/* Later passes must see the records the first one counted. */
static int same_doc(const struct ctx *c, const struct ifg_sel_rec *r)
{
	if (r->index >= c->ndoc || c->docs[r->index].T != r->T)
		return ifg_reader_err(r->reader, "the input changed between passes");
	return 0;
}

static int pass_count(void *vc, const struct ifg_sel_rec *r)
{
	struct ctx *c = vc;
	if (c->ndoc == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 1024;
		c->docs = ifg_xrealloc(c->docs, c->cap, sizeof *c->docs);
	}
	struct ifg_sel_doc *d = &c->docs[c->ndoc++];
	memset(d, 0, sizeof *d);
	d->T = r->T;
	c->ntok += r->T;
	if (c->o->method == M_IFGUIDE)
		ifg_quantile_add1(c->q, r->scores, r->T);
	if (c->o->method == M_DROP)	/* nothing is above +inf: only the sum */
		ifg_sel_doc_stats(r->scores, r->T, INFINITY, 0, d);
	return 0;
}

/* Pass 2 (quantile) and pass 3 (document statistics) of ifguide. */
static int pass_scores(void *vc, const struct ifg_sel_rec *r)
{
	struct ctx *c = vc;
	if (same_doc(c, r) < 0)
		return -1;
	if (c->pass == 2)
		ifg_quantile_add2(c->q, r->scores, r->T);
	else
		ifg_sel_doc_stats(r->scores, r->T, c->tau32, (uint32_t)c->o->w, &c->docs[r->index]);
	return 0;
}

static int write_header(void *vc, const struct ifg_reader *r, const msgpack_object *hdr)
{
	struct ctx *c = vc;
	const msgpack_object *tok = ifg_get(hdr, IFG_K_TOKENIZER), *block = ifg_get(hdr, IFG_K_BLOCK);
	if (!tok)
		return ifg_reader_err(r, "header has no '%s'", IFG_K_TOKENIZER);
	if (c->bpe && ifg_bpe_check_identity(c->bpe, tok) < 0)
		return ifg_reader_err(r, "%s", ifg_err());
	const struct opts *o = c->o;
	msgpack_packer *pk = ifg_writer_pk(c->w);
	ifg_tokrec_header_copy(c->w, tok, block, 1);
	/* select: {method, and the settings that made the masks} */
	const msgpack_object *model = ifg_get(hdr, IFG_K_MODEL);
	uint32_t n = 1 + (o->method != M_WORDS) + (model != NULL) +
		     (o->method == M_IFGUIDE ? 3 : o->method == M_RANDOM);
	ifg_pack_cstr(pk, IFG_K_SELECT);
	msgpack_pack_map(pk, n);
	ifg_pack_kv_str(pk, IFG_K_METHOD, method_names[o->method]);
	if (o->method != M_WORDS)
		ifg_pack_kv_i64(pk, IFG_K_BUDGET, (int64_t)c->budget);
	if (o->method == M_IFGUIDE) {
		ifg_pack_kv_f64(pk, IFG_K_PERCENTILE, o->p);
		ifg_pack_cstr(pk, IFG_K_THRESHOLD);	/* nil when there were no scores */
		isnan(c->tau) ? msgpack_pack_nil(pk) : msgpack_pack_double(pk, c->tau);
		ifg_pack_kv_i64(pk, IFG_K_WINDOW, o->w);
	}
	if (o->method == M_RANDOM)
		ifg_pack_kv_i64(pk, IFG_K_SEED, (int64_t)o->seed);
	if (model) {	/* the model the scores came from */
		ifg_pack_cstr(pk, IFG_K_MODEL);
		msgpack_pack_object(pk, *model);
	}
	return ifg_writer_end(c->w);
}

static int pass_write(void *vc, const struct ifg_sel_rec *r)
{
	static const char *const drop_keys[] = { IFG_K_SCORES, IFG_K_LAYER_SCORES, IFG_K_MASK,
						 NULL };
	struct ctx *c = vc;
	uint32_t T = r->T, got = 0;
	uint64_t i = r->index;
	reserve(c, T);
	memset(c->mask, 0, T);
	if (c->o->method != M_WORDS && same_doc(c, r) < 0)
		return -1;
	switch (c->o->method) {
	case M_IFGUIDE:
		if (c->quota[i]) {
			uint64_t b = c->quota[i];
			bool stopped;
			got = ifg_sel_doc_mask(r->scores, T, c->tau32, (uint32_t)c->o->w, &b,
					       &stopped, c->mask);
		}
		break;
	case M_DROP:
		if (c->drop[i])
			return 0;	/* the document leaves the training set */
		break;
	case M_RANDOM:
		got = ifg_sel_random_mask(&c->rnd, T, c->mask);
		break;
	case M_WORDS: {
		char *text;
		if (ifg_array_to_u32(r->tokens, c->ids, UINT32_MAX) < 0 ||
		    ifg_sel_decode(c->bpe, c->ids, T, &text, c->off) < 0)
			return ifg_reader_err(r->reader, "tokens: %s", ifg_err());
		got = ifg_wordlist_mask(c->lx, text, c->off, T, c->mask);
		free(text);
		c->ntok += T;
		c->ndoc++;
		break;
	}
	}
	c->sel_tok += got;
	c->sel_doc += got > 0;
	msgpack_packer *pk = ifg_writer_pk(c->w);
	msgpack_pack_map(pk, ifg_map_count_except(r->rec, drop_keys) + 1);
	ifg_pack_pairs_except(pk, r->rec, drop_keys);
	ifg_tokrec_pack_mask(pk, c->mask, T);
	return ifg_writer_end(c->w);
}

/* The passes before the output, by method; then the plan. */
static void prepare(struct ctx *c, const char *path)
{
	const struct opts *o = c->o;
	if (o->method == M_WORDS)
		return;
	if (o->method == M_IFGUIDE)
		c->q = ifg_quantile_new(o->p);
	if (ifg_sel_scan(path, true, NULL, pass_count, c) < 0)
		ifg_die("%s", ifg_err());
	c->budget = o->budget >= 0 ? (uint64_t)o->budget : (uint64_t)(o->frac * (double)c->ntok);
	if (o->method == M_RANDOM)
		ifg_sel_random_init(&c->rnd, o->seed, c->ntok, c->budget);
	if (o->method == M_DROP) {
		uint32_t *order = ifg_xmalloc(c->ndoc + 1, sizeof *order);
		c->drop = ifg_xmalloc(c->ndoc + 1, 1);
		c->dropped_tok = ifg_sel_drop_docs(c->docs, c->ndoc, order, c->budget, c->drop);
		free(order);
	}
	if (o->method != M_IFGUIDE)
		return;
	c->pass = 2;
	if (ifg_quantile_end1(c->q) > 0 && ifg_sel_scan(path, true, NULL, pass_scores, c) < 0)
		ifg_die("%s", ifg_err());
	if (ifg_quantile_tau(c->q, &c->tau) < 0)
		ifg_die("%s", ifg_err());
	c->tau32 = (float)c->tau;	/* compared in float32, as torch does */
	ifg_info("threshold %.9g (float32 %.9g) at p = %g over %llu scores", c->tau,
		 (double)c->tau32, o->p, (unsigned long long)c->ntok);
	c->pass = 3;
	if (c->ntok && ifg_sel_scan(path, true, NULL, pass_scores, c) < 0)
		ifg_die("%s", ifg_err());
	uint32_t *order = ifg_xmalloc(c->ndoc + 1, sizeof *order);
	c->quota = ifg_xcalloc(c->ndoc + 1, sizeof *c->quota);
	if (ifg_sel_rank(c->docs, c->ndoc, order) < 0)
		ifg_die("%s", ifg_err());
	size_t whole = ifg_sel_plan(c->docs, c->ndoc, order, c->budget, c->quota);
	ifg_info("%zu documents selected whole", whole);
	free(order);
}

static void summary(const struct ctx *c)
{
	const struct opts *o = c->o;
	char how[160] = "";
	if (o->method == M_DROP) {
		size_t nd = 0;
		for (size_t i = 0; i < c->ndoc; i++)
			nd += c->drop[i];
		ifg_warn("dropped %zu of %zu documents (%llu of %llu tokens; budget %llu)", nd,
			 c->ndoc, (unsigned long long)c->dropped_tok, (unsigned long long)c->ntok,
			 (unsigned long long)c->budget);
		return;
	}
	if (o->method == M_IFGUIDE)
		snprintf(how, sizeof how, "threshold %.9g at p = %g, window %ld, ", c->tau, o->p,
			 o->w);
	if (o->method == M_RANDOM)
		snprintf(how, sizeof how, "seed %llu, ", o->seed);
	if (o->method == M_WORDS)
		snprintf(how, sizeof how, "%zu lexicon entries", ifg_wordlist_size(c->lx));
	else
		snprintf(how + strlen(how), sizeof how - strlen(how), "budget %llu",
			 (unsigned long long)c->budget);
	ifg_warn("selected %llu of %llu tokens in %llu of %zu documents (%s: %s)",
		 (unsigned long long)c->sel_tok, (unsigned long long)c->ntok,
		 (unsigned long long)c->sel_doc, c->ndoc, method_names[o->method], how);
}

int main(int argc, char **argv)
{
	ifg_cli_init(argv[0]);
	enum { O_SHOW = 256, O_COLOR };
	static const struct option longopts[] = {
		{ "method", required_argument, NULL, 'm' },   { "percentile", required_argument, NULL, 'p' },
		{ "window", required_argument, NULL, 'w' },   { "budget", required_argument, NULL, 'L' },
		{ "budget-frac", required_argument, NULL, 'f' }, { "seed", required_argument, NULL, 's' },
		{ "lexicon", required_argument, NULL, 'l' },  { "tokenizer", required_argument, NULL, 't' },
		{ "output", required_argument, NULL, 'o' },   { "zstd", no_argument, NULL, 'z' },
		{ "show", no_argument, NULL, O_SHOW },	       { "count", required_argument, NULL, 'n' },
		{ "record", required_argument, NULL, 'r' },   { "color", required_argument, NULL, O_COLOR },
		{ "quiet", no_argument, NULL, 'q' },	       { "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },	       { "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .p = 0.99, .frac = 0.02, .w = 1, .budget = -1, .count = 1,
			  .record = -1, .color = -1, .compress = IFG_COMPRESS_AUTO };
	int ch;
	const struct ifg_cli_std std = { usage, &o.out, &o.compress };
	while ((ch = getopt_long(argc, argv, "m:p:w:L:f:s:l:t:o:zn:r:qv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'm': {
			int k = 0;
			while (k < 4 && strcmp(optarg, method_names[k]) != 0)
				k++;
			if (k == 4)
				ifg_usage_error("option -m: unknown method '%s'", optarg);
			o.method = (enum method)k;
			break;
		}
		case 'p': o.p = ifg_opt_double("-p", optarg, 0, 1); break;
		case 'w': o.w = ifg_opt_long("-w", optarg, 0, INT32_MAX); break;
		case 'L': o.budget = ifg_opt_long("-L", optarg, 0, LONG_MAX); break;
		case 'f': o.frac = ifg_opt_double("-f", optarg, 0, 1); o.budget = -1; break;
		case 's': o.seed = (unsigned long long)ifg_opt_long("-s", optarg, 0, LONG_MAX); break;
		case 'l': o.lexicon = optarg; break;
		case 't': o.tokenizer = optarg; break;
		case O_SHOW: o.show = 1; break;
		case 'n': o.count = ifg_opt_long("-n", optarg, 1, 1 << 20); break;
		case 'r': o.record = ifg_opt_long("-r", optarg, 0, LONG_MAX); break;
		case O_COLOR:
			o.color = !strcmp(optarg, "always") ? 1 : !strcmp(optarg, "never") ? 0 :
				  !strcmp(optarg, "auto") ? -1 : -2;
			if (o.color == -2)
				ifg_usage_error("option --color: '%s' is not auto, always or never", optarg);
			break;
		default: ifg_cli_std_option(&std, ch, optarg);
		}
	}
	if (argc - optind > 1)
		ifg_usage_error("one input file at most");
	const char *in = optind < argc ? argv[optind] : NULL;
	if ((o.show || o.method == M_WORDS) && !o.tokenizer)
		ifg_usage_error("%s needs a tokenizer (-t)", o.show ? "--show" : "-m words");
	if (!o.show && o.method == M_WORDS && !o.lexicon)
		ifg_usage_error("-m words needs a lexicon (-l)");
	struct ctx c = { .o = &o };
	if (o.tokenizer && !(c.bpe = ifg_bpe_load(o.tokenizer)))
		ifg_die_err("cannot load tokenizer '%s'", o.tokenizer);
	if (o.show) {
		bool color = o.color >= 0 ? o.color : isatty(1);
		if (ifg_sel_show(stdout, in, c.bpe, o.count, o.record, color) < 0)
			ifg_die("%s", ifg_err());
		if (ifg_stdio_check(stdout, "<stdout>", 1) < 0)
			ifg_die("%s", ifg_err());
		ifg_bpe_free(c.bpe);
		return 0;
	}
	if (o.lexicon && !(c.lx = ifg_wordlist_load(o.lexicon)))
		ifg_die_err("cannot load lexicon");
	char *path = NULL;	/* one pass for words; else read again, a pipe copied */
	if (o.method == M_WORDS ? in && !(path = ifg_xstrdup(in)) : ifg_in_rereadable(in, &path) < 0)
		ifg_die_err("cannot read the input");
	prepare(&c, path);
	if (!(c.w = ifg_writer_open(o.out, o.compress)))
		ifg_die_err("cannot write");
	if (ifg_sel_scan(path, o.method != M_WORDS, write_header, pass_write, &c) < 0)
		ifg_die("%s", ifg_err());
	if (ifg_writer_close(c.w) < 0)
		ifg_die_err("cannot write");
	summary(&c);
	ifg_quantile_free(c.q);
	ifg_wordlist_free(c.lx);
	ifg_bpe_free(c.bpe);
	free(c.docs), free(c.quota), free(c.drop), free(c.mask), free(c.ids), free(c.off);
	free(path);
	return 0;
}
