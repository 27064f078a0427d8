/* ifg-influence: token-wise differential influence scores (doc/method.md §5).
 *
 * Reads factors (ifg-factor), the summed gradients of the toxic queries and
 * of the non-toxic ones (ifg-grad --sum), and a grads stream; writes a
 * scores stream: every grads record with its gradients replaced by
 * scores (f32 [T]), S[t] = Σ_layers s_tᵀ P ā_t with
 * P = H̃⁻¹ (G_tox / K_tox − G_safe / K_safe).  Ablations: toxic queries only
 * (no -n), document-level scores (-D).  With -m it reads tokens and computes
 * the gradients in-process (gradsrc.h) instead of reading grads, the
 * queries' sums too when they are given as tokens (querysum.h). */
#include <cblas.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ekfac.h"
#include "gpt.h"
#include "gradlanes.h"
#include "gradrec.h"
#include "gradsrc.h"
#include "influence.h"
#include "kinds.h"
#include "querysum.h"
#include "rec.h"
#include "util.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ifg-influence [-Dlvz] [-f factors] -q queries [-n negatives] [-s strategy]\n"
		"                     [-d damping] [-p prec] [-m ckpt] [-j threads] [--any-tokenizer]\n"
		"                     [-o file] [file ...]\n"
		"Score every training token's influence on toxic vs non-toxic queries.\n"
		"  -f, --factors FILE    EK-FAC factors (ifg-factor); not needed for identity\n"
		"  -q, --queries FILE    summed toxic query gradients (ifg-grad --sum), or\n"
		"                        with -m the toxic queries' tokens\n"
		"  -n, --negatives FILE  the same for the non-toxic queries; without it the\n"
		"                        scores are plain influence on the toxic queries\n"
		"  -s, --strategy NAME   identity, diagonal, kfac or ekfac (default: the\n"
		"                        factors' own; identity without -f)\n"
		"  -d, --damping D       fixed damping D >= 0 (default 1e-8), or 'heuristic'\n"
		"                        for 0.1 * mean(curvature) per layer\n"
		"  -D, --document        one score per record instead of per token\n"
		"  -l, --layer-scores    also write each layer's scores\n"
		"  -m, --model CKPT      read tokens (records and queries) and compute their\n"
		"                        gradients in-process with this checkpoint, instead of\n"
		"                        reading ifg-grad's output\n"
		"  -j, --threads N       threads; with -m, N records side by side (default:\n"
		"                        OpenBLAS's count)\n"
		"      --any-tokenizer   with -m: run even when the model was trained with\n"
		"                        another tokenizer than the records'\n"
		"  -p, --precision P     f32 (default): per-token products in float32, summed\n"
		"                        in double; f64: all in double\n"
		"  -o, --output FILE     write here instead of stdout (.zst compresses)\n"
		"  -z, --zstd            compress the output\n"
		"      --quiet           no summary line\n"
		"  -v, --verbose         more messages\n"
		"      --help, --version\n");
}

struct opts {
	const char *factors, *queries, *negatives, *strategy, *out;
	struct ifg_damping damping;
	bool document, layer_scores, any_tok;
	int compress;
	enum ifg_precision prec;
	const char *model;
	int threads;		/* -j; 0: OpenBLAS's */
};

static const char *const drop[] = { IFG_K_GRADS, IFG_K_SCORES, IFG_K_LAYER_SCORES,
				    IFG_K_SCORE, IFG_K_LAYER_SCORE, NULL };

/* Reusable per-record buffers. */
struct bufs {
	float *lay;		/* (L, T) */
	double *tok, *total;	/* (T), (T) */
	double *lay_doc;	/* (L) */
	size_t tcap;
};

/* One record's scores into b (total per token and, per layer, lay or
 * lay_doc; *doc with -D) from its per-layer a (T, na), s (T, o). */
static void score_arrays(const float *const *a, const float *const *s, uint64_t T, int L,
			 struct ifg_scorer *sc, const struct opts *o, struct bufs *b, double *doc)
{
	if (T > b->tcap || !b->total) {
		free(b->tok);
		free(b->total);
		free(b->lay);
		b->tcap = T ? T : 1;
		b->tok = ifg_xmalloc(b->tcap, sizeof(double));
		b->total = ifg_xmalloc(b->tcap, sizeof(double));
		b->lay = ifg_xmalloc((size_t)L * b->tcap, sizeof(float));
	}
	if (!b->lay_doc)
		b->lay_doc = ifg_xcalloc(L ? L : 1, sizeof *b->lay_doc);
	*doc = 0;
	memset(b->total, 0, T * sizeof(double));
	for (int l = 0; l < L; l++) {
		if (o->document) {
			b->lay_doc[l] = ifg_score_document(sc, l, a[l], s[l], (int64_t)T);
			*doc += b->lay_doc[l];
			continue;
		}
		ifg_score_tokens(sc, l, a[l], s[l], (int64_t)T, b->tok);
		for (uint64_t t = 0; t < T; t++) {
			b->total[t] += b->tok[t];
			b->lay[l * T + t] = (float)b->tok[t];
		}
	}
}

/* Writes a scored record: its fields but its gradients, plus scores (or
 * score) and optionally the per-layer values. */
static void write_scores(const msgpack_object *rec, uint64_t T, int L, double doc,
			 const struct opts *o, struct bufs *b, struct ifg_writer *w)
{
	msgpack_packer *pk = ifg_writer_pk(w);
	msgpack_pack_map(pk, ifg_map_count_except(rec, drop) + 1 + o->layer_scores);
	ifg_pack_pairs_except(pk, rec, drop);
	if (o->document) {
		ifg_pack_kv_f64(pk, IFG_K_SCORE, doc);
		if (o->layer_scores)
			ifg_pack_kv_array(pk, IFG_K_LAYER_SCORE, IFG_F64, 1,
					  (uint64_t[]){ (uint64_t)L }, b->lay_doc);
	} else {
		/* the f32 [T] output, converted in place over the double sums */
		float *s32 = (float *)b->tok;
		for (uint64_t t = 0; t < T; t++)
			s32[t] = (float)b->total[t];
		ifg_pack_kv_array(pk, IFG_K_SCORES, IFG_F32, 1, (uint64_t[]){ T }, s32);
		if (o->layer_scores)
			ifg_pack_kv_array(pk, IFG_K_LAYER_SCORES, IFG_F32, 2,
					  (uint64_t[]){ (uint64_t)L, T }, b->lay);
	}
	if (ifg_writer_end(w) < 0)
		ifg_die_err("write to '%s' failed", ifg_writer_name(w));
}

static void bufs_release(struct bufs *b)
{
	free(b->lay);
	free(b->tok);
	free(b->total);
	free(b->lay_doc);
	memset(b, 0, sizeof *b);
}

/* Records side by side (-m with -j N > 1, gradlanes.h): lane i scores
 * record i of each batch with its own scratch; the batch is then written in
 * input order, so the output is the same bytes as one lane's. */
struct lane {
	struct ifg_scorer sc;	/* the shared P, scratch of its own */
	struct bufs b;
	double doc;
};

struct lanes {
	struct lane *lane;
	int L;
	const struct opts *o;
};

static int score_lane(void *arg, int i, const struct ifg_gradext *g)
{
	struct lanes *ls = arg;
	struct lane *ln = &ls->lane[i];
	score_arrays((const float *const *)g->a, (const float *const *)g->s, (uint64_t)g->T,
		     ls->L, &ln->sc, ls->o, &ln->b, &ln->doc);
	return 0;
}

/* The records of src scored gl->n at a time; returns the records and adds
 * their tokens to *tokens and the longest to *tmax. */
static uint64_t score_lanes(struct ifg_gradsrc *src, struct ifg_gradlanes *gl,
			    struct lane *lane, const struct opts *o, struct ifg_writer *w,
			    uint64_t *tokens, int64_t *tmax, uint64_t done)
{
	struct lanes ls = { lane, src->n_layers, o };
	uint64_t records = 0;
	int n;
	while ((n = ifg_gradlanes_next(gl, src, score_lane, &ls)) > 0) {
		for (int i = 0; i < n; i++) {
			uint64_t T = (uint64_t)gl->lane[i].job.T;
			write_scores(ifg_gradlanes_record(gl, i), T, src->n_layers, lane[i].doc, o,
				     &lane[i].b, w);
			*tokens += T;
			*tmax = (int64_t)T > *tmax ? (int64_t)T : *tmax;
			ifg_progress("%llu records, %llu tokens",
				     (unsigned long long)(done + ++records),
				     (unsigned long long)*tokens);
		}
	}
	if (n < 0)
		ifg_die_err("cannot read tokens");
	return records;
}

/* The memory scoring holds, in MiB (ifg-influence(1), MEMORY), T the
 * longest record, per layer na and o: P in double and f32, the query sums
 * and their difference (4 o na doubles in all), factors as read (Q_A,
 * Q_S, λ, Λ), the per-token scratch (T o f32, in f64 T (2 o + na)
 * doubles), one record (as read and as f32, or as the model computes it),
 * the scores (T (2 + L) doubles) and, for queries read as tokens, T_q
 * (na + o) doubles of the widest layer. */
static double score_mib(const struct ifg_factors *f, const struct opts *o,
			const struct ifg_gradmodel *gm, int64_t T, int lanes, int64_t Tq)
{
	double d = 0, s = 0, rec = 0, widest = 0, t = (double)T;
	for (int l = 0; l < f->n_layers; l++) {
		const struct ifg_layer_factors *L = &f->layer[l];
		double na = ifg_layer_na(L), od = L->d_out;
		d += 4 * od * na + (L->QA ? na * na + od * od + na + od : 0) +
		     (L->Lambda_sum ? od * na : 0);
		s += od * na;
		rec += na + od;
		widest = widest > na + od ? widest : na + od;
	}
	double w = 0;	/* the widest layer's per-token scratch */
	for (int l = 0; l < f->n_layers; l++) {
		double na = ifg_layer_na(&f->layer[l]), od = f->layer[l].d_out;
		double x = o->prec == IFG_PREC_F64 ? 8 * t * (2 * od + na) : 4 * t * od;
		w = x > w ? x : w;
	}
	double lane = w + 8 * t * (2 + f->n_layers) + (gm ? ifg_model_bytes(gm, T > Tq ? T : Tq) : 0);
	double bytes = 8 * d + 4 * s + 4 * t * rec * (gm ? 1 : 3) + lane;
	/* queries summed in-process: a double copy of the widest layer's
	 * blocks of the longest query (ifg_weight_grad_f32) */
	bytes += 8 * (double)Tq * widest;
	/* each further lane: the same but the weights it shares and the record
	 * read (its copy is a few bytes a token) */
	if (gm && lanes > 1)
		bytes += (lanes - 1) * (lane - 4.0 * (double)ifg_gpt_nparams(gm->m) + 4 * t);
	return bytes / (1024.0 * 1024.0);
}

int main(int argc, char **argv)
{
	ifg_cli_init(argv[0]);
	static const struct option longopts[] = {
		{ "factors", required_argument, NULL, 'f' },
		{ "queries", required_argument, NULL, 'q' },
		{ "negatives", required_argument, NULL, 'n' },
		{ "strategy", required_argument, NULL, 's' },
		{ "damping", required_argument, NULL, 'd' },
		{ "document", no_argument, NULL, 'D' },
		{ "layer-scores", no_argument, NULL, 'l' },
		{ "model", required_argument, NULL, 'm' },
		{ "threads", required_argument, NULL, 'j' },
		{ "any-tokenizer", no_argument, NULL, 'T' },
		{ "precision", required_argument, NULL, 'p' },
		{ "output", required_argument, NULL, 'o' },
		{ "zstd", no_argument, NULL, 'z' },
		{ "quiet", no_argument, NULL, 'Q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .damping = { IFG_DAMP_FIXED, IFG_DAMPING_DEFAULT },
			  .compress = IFG_COMPRESS_AUTO, .prec = IFG_PREC_F32 };
	int c;
	const struct ifg_cli_std std = { usage, &o.out, &o.compress };
	while ((c = getopt_long(argc, argv, "f:q:n:s:d:Dlm:j:p:o:zv", longopts, NULL)) != -1) {
		switch (c) {
		case 'f': o.factors = optarg; break;
		case 'q': o.queries = optarg; break;
		case 'n': o.negatives = optarg; break;
		case 's': o.strategy = optarg; break;
		case 'd':
			if (!strcmp(optarg, "heuristic"))
				o.damping = (struct ifg_damping){ IFG_DAMP_HEURISTIC,
								  IFG_DAMPING_HEURISTIC_SCALE };
			else
				o.damping = (struct ifg_damping){
					IFG_DAMP_FIXED, ifg_opt_double("-d", optarg, 0, 1e30) };
			break;
		case 'D': o.document = true; break;
		case 'l': o.layer_scores = true; break;
		case 'm': o.model = optarg; break;
		case 'j':
			o.threads = (int)ifg_opt_long("-j", optarg, 1, 1024);
			ifg_gpt_set_threads(o.threads);
			break;
		case 'T': o.any_tok = true; break;
		case 'p':
			if (ifg_precision_parse(optarg, &o.prec) < 0)
				ifg_usage_error("option -p: %s", ifg_err());
			break;
		case 'Q': ifg_verbosity = 0; break;
		default: ifg_cli_std_option(&std, c, optarg);
		}
	}
	if (!o.queries)
		ifg_usage_error("no toxic query gradients: give -q FILE");
	if (o.any_tok && !o.model)
		ifg_usage_error("--any-tokenizer goes with -m");
	int on_stdin = !strcmp(o.queries, "-") + (o.negatives && !strcmp(o.negatives, "-")) +
		       (optind == argc);
	for (int i = optind; i < argc; i++)
		on_stdin += !strcmp(argv[i], "-");
	if (on_stdin > 1)
		ifg_usage_error("-q, -n and the records: only one of them can be stdin");
	const struct ifg_strategy *st = o.strategy ? ifg_strategy_find(o.strategy) : NULL;
	if (o.strategy && !st)
		ifg_usage_error("option -s: %s", ifg_err());
	if (st && !o.factors && (st->needs_eigen || st->needs_lambda))
		ifg_usage_error("strategy %s needs factors: give -f FILE", st->name);

	/* the query sums: read whole (ifg-grad --sum), or a tokens stream
	 * whose sums the scoring model computes below */
	struct ifg_querysum qt, qn = { 0 };
	if (ifg_querysum_open(&qt, o.queries, o.model != NULL) < 0)
		ifg_die_err("cannot read toxic queries");
	if (o.negatives && ifg_querysum_open(&qn, o.negatives, o.model != NULL) < 0)
		ifg_die_err("cannot read non-toxic queries");
	struct ifg_gradhdr hf;
	struct ifg_factors f;
	if (o.factors) {
		static const char *const kinds[] = { IFG_KIND_FACTORS, IFG_KIND_EIGEN, NULL };
		if (ifg_factors_read(o.factors, kinds, &hf, &f) < 0)
			ifg_die_err("cannot read factors");
		/* by default the factors' own strategy; an eigen stream is kfac */
		if (!st && !(st = ifg_strategy_find(hf.strategy[0] ? hf.strategy : "kfac")))
			ifg_die("'%s': %s", o.factors, ifg_err());
		if (st->needs_lambda && strcmp(hf.strategy, st->name))
			ifg_die("'%s': factors of strategy '%s' hold no lambda for strategy %s",
				o.factors, hf.strategy[0] ? hf.strategy : hf.kind, st->name);
	}
	/* in-process gradients of the factors' layers, else those of the sums
	 * read, else of every layer */
	struct ifg_gradmodel gm, *gmp = NULL;
	if (o.model) {
		const struct ifg_gradhdr *lh = o.factors ? &hf : qt.G ? &qt.h : qn.G ? &qn.h : NULL;
		char *list = lh ? ifg_layer_list(lh->n_layers, lh->layers) : NULL;
		if (ifg_gradmodel_open(&gm, o.model, list ? list : "all", false, 0, o.any_tok) < 0)
			ifg_die_err("cannot use the model");
		free(list);
		gmp = &gm;
	}
	/* with -m, records side by side, one per thread (struct lane) */
	int nl = o.threads ? o.threads : openblas_get_num_threads();
	if (!gmp || nl < 1)
		nl = 1;
	struct ifg_gradlanes gl = { 0 };
	if (nl > 1 && ifg_gradlanes_open(&gl, &gm, nl, true) < 0)
		ifg_die_err("cannot use the model");
	if (ifg_querysum_compute(&qt, gmp, nl > 1 ? &gl : NULL) < 0)
		ifg_die_err("cannot compute the toxic queries' gradients");
	if (o.negatives && ifg_querysum_compute(&qn, gmp, nl > 1 ? &gl : NULL) < 0)
		ifg_die_err("cannot compute the non-toxic queries' gradients");
	if (qt.count <= 0)
		ifg_die("'%s': the toxic queries' sum over no records", o.queries);
	if (o.negatives && qn.count <= 0)
		ifg_die("'%s': the non-toxic queries' sum over no records", o.negatives);
	const struct ifg_gradhdr *hq = &qt.h;
	if (o.negatives && ifg_gradhdr_same_model(hq, "queries", &qn.h, "negatives") < 0)
		ifg_die_err("refusing to mix models");
	if (o.factors && ifg_gradhdr_same_model(&hf, "factors", hq, "queries") < 0)
		ifg_die_err("refusing to mix models");
	if (!o.factors) {
		ifg_factors_from_header(&f, hq);
		if (!st)
			st = ifg_strategy_find("identity");
	}

	/* P = H̃⁻¹ (G_tox / K_tox − G_safe / K_safe) */
	double **dg = ifg_xcalloc(f.n_layers, sizeof *dg);
	for (int l = 0; l < f.n_layers; l++) {
		const struct ifg_layer_shape *s = &hq->layers[l];
		size_t m = (size_t)s->d_out * (s->d_in + s->bias);
		dg[l] = ifg_xmalloc(m, sizeof(double));
		ifg_query_diff(m, qt.G[l], qt.count, o.negatives ? qn.G[l] : NULL, qn.count, dg[l]);
	}
	struct ifg_scorer sc;
	if (ifg_scorer_init(&sc, &f, st, &o.damping, (const double *const *)dg,
			    nl > 1 ? gl.blas_threads : o.threads) < 0)
		ifg_die_err("cannot precondition the query gradient");
	sc.prec = o.prec;
	for (int l = 0; l < f.n_layers; l++)
		free(dg[l]);
	free(dg);
	ifg_info("strategy %s, damping %s", st->name,
		 !st->damped ? "none" : o.damping.rule == IFG_DAMP_FIXED ? "fixed" : "heuristic");

	/* the record loop over every grads input */
	struct ifg_writer *w = ifg_writer_open(o.out, o.compress);
	if (!w)
		ifg_die_err("cannot write output");
	struct lane *lane = NULL;
	if (nl > 1) {
		lane = ifg_xcalloc(nl, sizeof *lane);
		for (int i = 0; i < nl; i++)
			ifg_scorer_lane(&lane[i].sc, &sc);
	}
	struct bufs b = { 0 };
	uint64_t records = 0, tokens = 0;
	double t0 = ifg_now(), blas0 = sc.blas_seconds;
	int nfiles = argc - optind;
	int64_t tmax = 0;
	for (int i = 0; i < (nfiles ? nfiles : 1); i++) {
		struct ifg_gradsrc src;
		if (ifg_gradsrc_open(&src, nfiles ? argv[optind + i] : NULL, gmp) < 0)
			ifg_die_err(gmp ? "cannot read tokens" : "cannot read gradients");
		const struct ifg_gradhdr *h = &src.h;
		if (ifg_gradhdr_same_model(o.factors ? &hf : hq, o.factors ? "factors" : "queries",
					   h, "grads") < 0)
			ifg_die_err("refusing to mix models");
		if (!strcmp(h->labels, "sampled"))
			ifg_warn("'%s': gradients of sampled labels; scores use true labels",
				 h->source);
		if (i == 0) {
			ifg_scores_header(w, h, &sc, o.negatives != NULL, o.document, qt.count,
					  qn.count);
			if (ifg_writer_end(w) < 0)
				ifg_die_err("write to '%s' failed", ifg_writer_name(w));
		}
		if (lane) {
			records += score_lanes(&src, &gl, lane, &o, w, &tokens, &tmax, records);
		} else {
			const msgpack_object *rec;
			int rc;
			double doc;
			while ((rc = ifg_gradsrc_next(&src, &rec)) > 0) {
				score_arrays(src.a, src.s, src.T, src.n_layers, &sc, &o, &b, &doc);
				write_scores(rec, src.T, src.n_layers, doc, &o, &b, w);
				tokens += src.T;
				tmax = (int64_t)src.T > tmax ? (int64_t)src.T : tmax;
				ifg_progress("%llu records, %llu tokens",
					     (unsigned long long)++records,
					     (unsigned long long)tokens);
			}
			if (rc < 0)
				ifg_die_err(gmp ? "cannot read tokens" : "cannot read gradients");
		}
		ifg_gradsrc_close(&src);
	}
	for (int i = 0; lane && i < nl; i++)
		sc.blas_seconds += lane[i].sc.blas_seconds / nl;
	if (lane)
		ifg_gradlanes_close(&gl);
	ifg_progress_done();
	if (ifg_writer_close(w) < 0)
		ifg_die_err("cannot finish output");
	double dt = ifg_now() - t0;
	ifg_warn("scored %llu records, %llu tokens in %.3f s (%.4g tokens/s, BLAS %.0f%%, %s%s)",
		 (unsigned long long)records, (unsigned long long)tokens, dt,
		 dt > 0 ? (double)tokens / dt : 0.0, dt > 0 ? 100 * (sc.blas_seconds - blas0) / dt : 0.0,
		 ifg_precision_name(o.prec), gmp ? ", gradients in-process" : "");
	int64_t tq = qt.tmax > qn.tmax ? qt.tmax : qn.tmax;
	ifg_info("memory %.1f MiB by the formula of ifg-influence(1) at T %lld, peak resident "
		 "%.1f MiB", score_mib(&f, &o, gmp, tmax, nl, tq), (long long)tmax,
		 ifg_peak_rss_mib());

	for (int i = 0; lane && i < nl; i++) {
		ifg_scorer_lane_release(&lane[i].sc);
		bufs_release(&lane[i].b);
	}
	free(lane);
	if (gmp)
		ifg_gradmodel_close(gmp);
	bufs_release(&b);
	ifg_scorer_release(&sc);
	ifg_factors_release(&f);
	ifg_querysum_release(&qt);
	ifg_querysum_release(&qn);
	if (o.factors)
		ifg_gradhdr_release(&hf);
	return 0;
}
