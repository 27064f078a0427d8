/* ifg-influence: token-wise differential influence scores (doc/method.md §5).
 *
 * Reads factors (ifg-factor), the summed gradients of the toxic queries and
 * of the non-toxic ones (ifg-grad --sum), and a grads stream; writes a
 * scores stream: every grads record with its gradients replaced by
 * scores (f32 [T]), S[t] = Σ_layers s_tᵀ P ā_t with
 * P = H̃⁻¹ (G_tox / K_tox − G_safe / K_safe).  Ablations: toxic queries only
 * (no -n), document-level scores (-D). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ekfac.h"
#include "gradrec.h"
#include "influence.h"
#include "kinds.h"
#include "rec.h"
#include "util.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ifg-influence [-Dlvz] [-f factors] -q queries [-n negatives] [-s strategy]\n"
		"                     [-d damping] [-o file] [file ...]\n"
		"Score every training token's influence on toxic vs non-toxic queries.\n"
		"  -f, --factors FILE    EK-FAC factors (ifg-factor); not needed for identity\n"
		"  -q, --queries FILE    summed toxic query gradients (ifg-grad --sum)\n"
		"  -n, --negatives FILE  summed non-toxic query gradients; without it the\n"
		"                        scores are plain influence on the toxic queries\n"
		"  -s, --strategy NAME   identity, diagonal, kfac or ekfac (default: the\n"
		"                        factors' own; identity without -f)\n"
		"  -d, --damping D       fixed damping D >= 0 (default 1e-8), or 'heuristic'\n"
		"                        for 0.1 * mean(curvature) per layer\n"
		"  -D, --document        one score per record instead of per token\n"
		"  -l, --layer-scores    also write each layer's scores\n"
		"  -o, --output FILE     write here instead of stdout (.zst compresses)\n"
		"  -z, --zstd            compress the output\n"
		"      --quiet           no summary line\n"
		"  -v, --verbose         more messages\n"
		"      --help, --version\n");
}

struct opts {
	const char *factors, *queries, *negatives, *strategy, *out;
	struct ifg_damping damping;
	bool document, layer_scores;
	int compress;
};

static const char *const drop[] = { IFG_K_GRADS, IFG_K_SCORES, IFG_K_LAYER_SCORES,
				    IFG_K_SCORE, IFG_K_LAYER_SCORE, NULL };

/* Reusable per-record buffers. */
struct bufs {
	float *a, *s, *lay;	/* (T, na), (T, o), (L, T) */
	double *tok, *total;	/* (T), (T) */
	struct ifg_layer_grad *g; /* (L) */
	double *lay_doc;	/* (L) */
	size_t acap, scap, tcap;
};

static float *grow_f(float *p, size_t *cap, size_t n)
{
	if (n <= *cap && p)
		return p;
	n = n ? n : 1; /* a record of no tokens still gets buffers */
	free(p);
	*cap = n;
	return ifg_xaligned(n, sizeof(float));
}

/* Scores one record and writes it: the record's fields but its gradients,
 * plus scores (or score) and optionally the per-layer values. */
static void score_record(const struct ifg_reader *r, const struct ifg_gradhdr *h,
			 const msgpack_object *rec, struct ifg_scorer *sc, const struct opts *o,
			 struct bufs *b, struct ifg_writer *w, uint64_t *tokens)
{
	struct ifg_layer_grad *g = b->g;
	uint64_t T;
	int L = h->n_layers;
	if (ifg_grads_parse(r, h, rec, g, &T) < 0)
		ifg_die_err("bad gradients");
	if (T > b->tcap || !b->total) {
		free(b->tok);
		free(b->total);
		free(b->lay);
		b->tcap = T ? T : 1;
		b->tok = ifg_xmalloc(b->tcap, sizeof(double));
		b->total = ifg_xmalloc(b->tcap, sizeof(double));
		b->lay = ifg_xmalloc((size_t)L * b->tcap, sizeof(float));
	}
	double doc = 0, *lay_doc = b->lay_doc;
	memset(b->total, 0, T * sizeof(double));
	for (int l = 0; l < L; l++) {
		b->a = grow_f(b->a, &b->acap, g[l].a.n);
		b->s = grow_f(b->s, &b->scap, g[l].s.n);
		if (ifg_array_to_f32(&g[l].a, b->a, false) < 0 ||
		    ifg_array_to_f32(&g[l].s, b->s, false) < 0) {
			ifg_reader_err(r, "layer '%s': %s", h->layers[l].name, ifg_err());
			ifg_die("%s", ifg_err());
		}
		if (o->document) {
			lay_doc[l] = ifg_score_document(sc, l, b->a, b->s, (int64_t)T);
			doc += lay_doc[l];
			continue;
		}
		ifg_score_tokens(sc, l, b->a, b->s, (int64_t)T, b->tok);
		for (uint64_t t = 0; t < T; t++) {
			b->total[t] += b->tok[t];
			b->lay[l * T + t] = (float)b->tok[t];
		}
	}
	msgpack_packer *pk = ifg_writer_pk(w);
	msgpack_pack_map(pk, ifg_map_count_except(rec, drop) + 1 + o->layer_scores);
	ifg_pack_pairs_except(pk, rec, drop);
	if (o->document) {
		ifg_pack_kv_f64(pk, IFG_K_SCORE, doc);
		if (o->layer_scores)
			ifg_pack_kv_array(pk, IFG_K_LAYER_SCORE, IFG_F64, 1,
					  (uint64_t[]){ (uint64_t)L }, lay_doc);
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
	*tokens += T;
}

static void read_queries(const char *path, const char *what, struct ifg_gradhdr *h,
			 double ***G, int64_t *count)
{
	if (ifg_gradsum_read(path, h, G, count) < 0)
		ifg_die_err("cannot read %s", what);
	if (*count <= 0)
		ifg_die("'%s': the %s sum over no records", path, what);
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
		{ "output", required_argument, NULL, 'o' },
		{ "zstd", no_argument, NULL, 'z' },
		{ "quiet", no_argument, NULL, 'Q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .damping = { IFG_DAMP_FIXED, IFG_DAMPING_DEFAULT },
			  .compress = IFG_COMPRESS_AUTO };
	int c;
	const struct ifg_cli_std std = { usage, &o.out, &o.compress };
	while ((c = getopt_long(argc, argv, "f:q:n:s:d:Dlo:zv", longopts, NULL)) != -1) {
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
		case 'Q': ifg_verbosity = 0; break;
		default: ifg_cli_std_option(&std, c, optarg);
		}
	}
	if (!o.queries)
		ifg_usage_error("no toxic query gradients: give -q FILE");
	const struct ifg_strategy *st = o.strategy ? ifg_strategy_find(o.strategy) : NULL;
	if (o.strategy && !st)
		ifg_usage_error("option -s: %s", ifg_err());
	if (st && !o.factors && (st->needs_eigen || st->needs_lambda))
		ifg_usage_error("strategy %s needs factors: give -f FILE", st->name);

	/* query means and their difference, checked against one model */
	struct ifg_gradhdr hq, hn, hf;
	double **Gq, **Gn = NULL;
	int64_t Kq, Kn = 0;
	read_queries(o.queries, "toxic queries", &hq, &Gq, &Kq);
	if (o.negatives) {
		read_queries(o.negatives, "non-toxic queries", &hn, &Gn, &Kn);
		if (ifg_gradhdr_same_model(&hq, "queries", &hn, "negatives") < 0)
			ifg_die_err("refusing to mix models");
	}
	struct ifg_factors f;
	if (o.factors) {
		static const char *const kinds[] = { IFG_KIND_FACTORS, IFG_KIND_EIGEN, NULL };
		if (ifg_factors_read(o.factors, kinds, &hf, &f) < 0)
			ifg_die_err("cannot read factors");
		if (ifg_gradhdr_same_model(&hf, "factors", &hq, "queries") < 0)
			ifg_die_err("refusing to mix models");
		/* by default the factors' own strategy; an eigen stream is kfac */
		if (!st && !(st = ifg_strategy_find(hf.strategy[0] ? hf.strategy : "kfac")))
			ifg_die("'%s': %s", o.factors, ifg_err());
	} else {
		ifg_factors_from_header(&f, &hq);
		if (!st)
			st = ifg_strategy_find("identity");
	}
	if (o.factors && st->needs_lambda && strcmp(hf.strategy, st->name))
		ifg_die("'%s': factors of strategy '%s' hold no lambda for strategy %s", o.factors,
			hf.strategy[0] ? hf.strategy : hf.kind, st->name);
	double **dg = ifg_xcalloc(f.n_layers, sizeof *dg);
	for (int l = 0; l < f.n_layers; l++) {
		const struct ifg_layer_shape *s = &hq.layers[l];
		size_t m = (size_t)s->d_out * (s->d_in + s->bias);
		dg[l] = ifg_xmalloc(m, sizeof(double));
		ifg_query_diff(m, Gq[l], Kq, Gn ? Gn[l] : NULL, Kn, dg[l]);
	}
	struct ifg_scorer sc;
	if (ifg_scorer_init(&sc, &f, st, &o.damping, (const double *const *)dg) < 0)
		ifg_die_err("cannot precondition the query gradient");
	ifg_info("strategy %s, damping %s", st->name,
		 !st->damped ? "none" : o.damping.rule == IFG_DAMP_FIXED ? "fixed" : "heuristic");

	/* the record loop over every grads input */
	struct ifg_writer *w = ifg_writer_open(o.out, o.compress);
	if (!w)
		ifg_die_err("cannot write output");
	struct bufs b = { 0 };
	b.g = ifg_xcalloc(f.n_layers, sizeof *b.g);
	b.lay_doc = ifg_xcalloc(f.n_layers, sizeof *b.lay_doc);
	uint64_t records = 0, tokens = 0;
	double t0 = ifg_now(), blas0 = sc.blas_seconds;
	int nfiles = argc - optind;
	for (int i = 0; i < (nfiles ? nfiles : 1); i++) {
		static const char *const kinds[] = { IFG_KIND_GRADS, NULL };
		struct ifg_gradhdr h;
		struct ifg_reader *r = ifg_reader_open(nfiles ? argv[optind + i] : NULL);
		if (!r || ifg_gradhdr_read(r, kinds, &h) < 0)
			ifg_die_err("cannot read gradients");
		if (ifg_gradhdr_same_model(o.factors ? &hf : &hq, o.factors ? "factors" : "queries",
					   &h, "grads") < 0)
			ifg_die_err("refusing to mix models");
		if (!strcmp(h.labels, "sampled"))
			ifg_warn("'%s': gradients of sampled labels; scores use true labels",
				 h.source);
		if (i == 0) {
			ifg_scores_header(w, &h, &sc, Gn != NULL, o.document, Kq, Kn);
			if (ifg_writer_end(w) < 0)
				ifg_die_err("write to '%s' failed", ifg_writer_name(w));
		}
		const msgpack_object *rec;
		int rc;
		while ((rc = ifg_reader_next(r, &rec)) > 0) {
			score_record(r, &h, rec, &sc, &o, &b, w, &tokens);
			ifg_progress("%llu records, %llu tokens", (unsigned long long)++records,
				     (unsigned long long)tokens);
		}
		if (rc < 0)
			ifg_die_err("cannot read gradients");
		ifg_reader_close(r);
		ifg_gradhdr_release(&h);
	}
	ifg_progress_done();
	if (ifg_writer_close(w) < 0)
		ifg_die_err("cannot finish output");
	double dt = ifg_now() - t0;
	ifg_warn("scored %llu records, %llu tokens in %.3f s (%.4g tokens/s, BLAS %.0f%%)",
		 (unsigned long long)records, (unsigned long long)tokens, dt,
		 dt > 0 ? (double)tokens / dt : 0.0, dt > 0 ? 100 * (sc.blas_seconds - blas0) / dt : 0.0);

	for (int l = 0; l < f.n_layers; l++) {
		free(dg[l]);
		free(Gq[l]);
		if (Gn)
			free(Gn[l]);
	}
	free(dg);
	free(Gq);
	free(Gn);
	free(b.a);
	free(b.s);
	free(b.lay);
	free(b.tok);
	free(b.total);
	free(b.g);
	free(b.lay_doc);
	ifg_scorer_release(&sc);
	ifg_factors_release(&f);
	ifg_gradhdr_release(&hq);
	if (o.negatives)
		ifg_gradhdr_release(&hn);
	if (o.factors)
		ifg_gradhdr_release(&hf);
	return 0;
}
