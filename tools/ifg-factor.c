/* ifg-factor: EK-FAC factors of the tracked layers from per-token gradients.
 *
 * Stages (doc/method.md §3), each a filter a shell can run alone:
 *   covariance  grads -> cov       A_sum, S_sum per layer with token counts
 *   eigen       cov -> eigen       Q_A, λ_A, Q_S, λ_S per layer (double)
 *   lambda      grads -> factors   Λ_sum in the eigenbases with the record count
 *   merge       cov... -> cov, factors... -> factors   (sums add)
 *   fit         grads -> factors   all at once: two passes over a file
 * Records hold one layer each, so eigen and merge keep one layer in memory;
 * covariance and lambda keep the factors of every layer, flat in the
 * stream length.  With -m the passes read tokens and compute the
 * gradients in-process (gradsrc.h) instead of reading grads; --precision
 * says whether a record's products are float32 or double (the sums across
 * records are double either way). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ekfac.h"
#include "gpt.h"
#include "gradkeep.h"
#include "gradlanes.h"
#include "gradrec.h"
#include "gradsrc.h"
#include "kinds.h"
#include "rec.h"
#include "util.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ifg-factor covariance [-qvz] [-p prec] [-m ckpt] [-L layers] [--sample]\n"
		"                  [--seed N] [-j threads] [-P N] [--any-tokenizer] [-o file] [file ...]\n"
		"       ifg-factor eigen [-qvz] [-o file] [file]\n"
		"       ifg-factor lambda [-qvz] [-p prec] [-e eigen] [-s strategy] [-m ckpt]\n"
		"                  [-L layers] [--sample] [--seed N] [-j threads] [-P N] [--any-tokenizer]\n"
		"                  [-o file] [file ...]\n"
		"       ifg-factor merge [-qvz] [-o file] file ...\n"
		"       ifg-factor fit [-qvz] [-p prec] [-s strategy] [-m ckpt] [-L layers] [--sample]\n"
		"                  [--seed N] [-j threads] [-P N] [--keep MiB] [--any-tokenizer]\n"
		"                  [-o file] file [file]\n"
		"Fit EK-FAC factors of the tracked layers from gradient streams.\n"
		"  -e, --eigen FILE      eigenbases for the lambda pass (eigen or factors)\n"
		"  -m, --model CKPT      read tokens and compute the gradients in-process with\n"
		"                        this checkpoint, instead of reading ifg-grad's output\n"
		"  -L, --layers LIST     with -m: the layers (as ifg-grad -L; default all, or\n"
		"                        the eigenbases' layers for lambda)\n"
		"      --sample          with -m: labels sampled from the model (ifg-grad --sample)\n"
		"      --seed N          with -m --sample: the sampling seed (0)\n"
		"  -j, --threads N       BLAS threads (default: OpenBLAS's)\n"
		"  -P, --parallel N      with -m: N records side by side, one thread each (1)\n"
		"      --keep MiB        fit -m of one file: keep the covariance pass's gradients\n"
		"                        for the lambda pass when they fit in MiB (2048; 0: no)\n"
		"      --any-tokenizer   with -m: run even when the model was trained with\n"
		"                        another tokenizer than the records'\n"
		"  -p, --precision P     f32: each record's products in float32, summed across\n"
		"                        records in double; f64: all in double (default: f64\n"
		"                        for covariance, f32 for lambda)\n"
		"  -o, --output FILE     write here instead of stdout (.zst compresses)\n"
		"  -s, --strategy NAME   identity, diagonal, kfac or ekfac (default ekfac)\n"
		"  -z, --zstd            compress the output\n"
		"  -q, --quiet           no summary line\n"
		"  -v, --verbose         more messages\n"
		"      --help, --version\n");
}

struct opts {
	const char *out, *eigen;
	const struct ifg_strategy *st;
	int compress;
	int prec;		/* -p: enum ifg_precision, or -1: each pass's default */
	const char *model, *layers;	/* -m, -L */
	bool sample, any_tok;
	uint64_t seed;
	struct ifg_gradmodel *gm;	/* loaded from model for a pass, else NULL */
	int parallel;		/* -P: records side by side with -m */
	double keep_mib;	/* fit -m: --keep's budget for the kept gradients */
};

/* Loads -m's model for the passes; its layers are -L's, else like's (the
 * eigenbases' for lambda), else all. */
static void open_model(struct opts *o, const struct ifg_gradhdr *like)
{
	static struct ifg_gradmodel gm;
	if (!o->model)
		return;
	char *list = !o->layers && like ? ifg_layer_list(like->n_layers, like->layers) : NULL;
	if (ifg_gradmodel_open(&gm, o->model, list ? list : o->layers ? o->layers : "all",
			       o->sample, o->seed, o->any_tok) < 0)
		ifg_die_err("cannot use the model");
	free(list);
	o->gm = &gm;
}

static void close_model(struct opts *o)
{
	if (o->gm)
		ifg_gradmodel_close(o->gm);
	o->gm = NULL;
}

static const char *const k_cov[] = { IFG_KIND_COV, NULL };
static const char *const k_basis[] = { IFG_KIND_EIGEN, IFG_KIND_FACTORS, NULL };
static const char *const k_merge[] = { IFG_KIND_COV, IFG_KIND_FACTORS, NULL };

/* The precision of a pass: -p's, else f64 for the covariance (whose small
 * eigenvalues' eigenvectors move with f32 rounding) and f32 for lambda
 * (within 1e-6 of f64 in the scores; ifg-factor(1), PRECISION). */
static enum ifg_precision pass_prec(const struct opts *o, bool lambda)
{
	return o->prec >= 0 ? (enum ifg_precision)o->prec : lambda ? IFG_PREC_F32 : IFG_PREC_F64;
}

/* The memory a pass holds, in MiB (ifg-factor(1), MEMORY), T the longest
 * record, per layer na and o: the sums (covariance: A, S; lambda: Q_A,
 * Q_S, λ, Λ), the scratch of the precision's products, one record (as read
 * and as f32, or as computed by the model) and, in f64, one layer of it
 * widened.  Excludes the program and OpenBLAS's own buffers. */
static double pass_mib(const struct ifg_factors *f, bool lambda, const struct opts *o, int64_t T,
		       int lanes)
{
	double d = 0, s = 0, rec = 0, widest = 0, t = (double)T, shared = 0;
	bool f32 = pass_prec(o, lambda) == IFG_PREC_F32;
	for (int l = 0; l < f->n_layers; l++) {
		double na = ifg_layer_na(&f->layer[l]), od = f->layer[l].d_out;
		d += na * na + od * od + (lambda ? na + od + od * na : 0);
		shared += lambda ? 8 * (na * na + od * od + na + od) : 0;	/* the bases */
		if (lambda && f32)
			s += na * na + od * od + od * na + t * (od + na);
		else if (lambda)
			d += 3 * od * na + t * (od + na);
		else if (f32)
			s += na * na > od * od ? na * na : od * od;
		rec += na + od;
		widest = widest > na + od ? widest : na + od;
	}
	double bytes = 8 * d + 4 * s + 4 * t * rec * (o->gm ? 1 : f32 ? 3 : 2) +
		       (f32 ? 0 : 8 * t * widest) + (o->gm ? ifg_model_bytes(o->gm, T) : 0);
	/* each further thread of -m -P: all of it but the bases and the weights */
	if (o->gm && lanes > 1)
		bytes += (lanes - 1) * (bytes - shared - 4.0 * (double)ifg_gpt_nparams(o->gm->m));
	return bytes / (1024.0 * 1024.0);
}

/* One record's layer into L's sums: covariance or Λ, in prec (f32 from a,
 * s; f64 from a64, s64). */
static int add_layer(struct ifg_layer_factors *L, bool lambda, const struct ifg_strategy *st,
		     enum ifg_precision prec, const float *a, const float *s, const double *a64,
		     const double *s64, int64_t T, double *blas_seconds)
{
	if (prec == IFG_PREC_F32 && !lambda) {
		ifg_cov_add_f32(L, a, s, T, blas_seconds);
		return 0;
	}
	if (prec == IFG_PREC_F32)
		return ifg_lambda_add_f32(L, st, a, s, T, blas_seconds);
	if (!lambda) {
		ifg_cov_add(L, a64, s64, T, blas_seconds);
		return 0;
	}
	return ifg_lambda_add(L, st, a64, s64, T, blas_seconds);
}

/* Records side by side (-m with -P N > 1, gradlanes.h): lane i adds record
 * i of each batch to sums of its own over the shared eigenbases; at the end
 * the lanes' sums are added to lane 0's (f's) in lane order, as merge adds
 * shards.  The result is the same bytes for the same N. */
struct lane {
	struct ifg_factors *f, own;	/* lane 0: the pass's own factors */
	double *a64, *s64;		/* f64: the record's layer widened */
	size_t acap, scap;
	double blas_seconds;
};

struct lanes {
	struct ifg_gradlanes gl;	/* the model's lanes; unopened for a replay */
	int n;
	struct lane *lane;
	bool lambda;
	const struct ifg_strategy *st;
	enum ifg_precision prec;
	struct ifg_gradkeep *keep;	/* non-NULL: keep each record's blocks */
};

/* nl lanes of sums, lane 0's f; gm: with the model's lanes (else for a
 * replay of kept gradients). */
static void lanes_open(struct lanes *ls, struct ifg_gradmodel *gm, struct ifg_factors *f,
		       int nl)
{
	if (gm && ifg_gradlanes_open(&ls->gl, gm, nl, false) < 0)
		ifg_die_err("cannot use the model");
	ls->n = nl;
	ls->lane = ifg_xcalloc(nl, sizeof *ls->lane);
	ls->lane[0].f = f;
	for (int i = 1; i < nl; i++) {
		struct ifg_factors *o = ls->lane[i].f = &ls->lane[i].own;
		o->n_layers = f->n_layers;
		o->layer = ifg_xcalloc(f->n_layers, sizeof *o->layer);
		for (int l = 0; l < f->n_layers; l++) {
			const struct ifg_layer_factors *F = &f->layer[l];
			struct ifg_layer_factors *L = &o->layer[l];
			*L = (struct ifg_layer_factors){ .name = F->name, .d_in = F->d_in,
							 .d_out = F->d_out, .bias = F->bias,
							 .QA = F->QA, .eigvals_A = F->eigvals_A,
							 .QS = F->QS, .eigvals_S = F->eigvals_S,
							 .QA32 = F->QA32, .QS32 = F->QS32 };
			if (!ls->lambda)
				ifg_cov_add(L, NULL, NULL, 0, NULL);
			else
				L->Lambda_sum = ifg_xcalloc((size_t)L->d_out * ifg_layer_na(L),
							    sizeof(double));
		}
	}
}

static int add_lane(void *arg, int i, const struct ifg_gradext *g)
{
	struct lanes *ls = arg;
	struct lane *ln = &ls->lane[i];
	if (ls->keep)
		ifg_gradkeep_add(ls->keep, i, g->T, (const float *const *)g->a,
				 (const float *const *)g->s);
	for (int l = 0; l < ln->f->n_layers; l++) {
		if (ls->prec == IFG_PREC_F64) {
			ifg_widen_f64(g->a[l], (size_t)g->T * (g->layers[l].d_in + g->layers[l].bias),
				      &ln->a64, &ln->acap);
			ifg_widen_f64(g->s[l], (size_t)g->T * g->layers[l].d_out, &ln->s64,
				      &ln->scap);
		}
		if (add_layer(&ln->f->layer[l], ls->lambda, ls->st, ls->prec, g->a[l], g->s[l],
			      ln->a64, ln->s64, g->T, &ln->blas_seconds) < 0)
			return -1;
	}
	return 0;
}

/* The records of src, gl.n at a time. */
static void pass_lanes(struct ifg_gradsrc *src, struct lanes *ls, const char *what,
		       uint64_t *records, uint64_t *tokens, int64_t *tmax)
{
	int k;
	while ((k = ifg_gradlanes_next(&ls->gl, src, add_lane, ls)) > 0) {
		for (int i = 0; i < k; i++) {
			int64_t T = ls->gl.lane[i].job.T;
			++*records;
			*tokens += (uint64_t)T;
			*tmax = T > *tmax ? T : *tmax;
		}
		ifg_progress("%s: %llu records, %llu tokens", what, (unsigned long long)*records,
			     (unsigned long long)*tokens);
	}
	if (k < 0)
		ifg_die_err("cannot read tokens");
}

/* Adds lanes 1.. to lane 0's sums, in order, and frees them. */
static void lanes_close(struct lanes *ls)
{
	int nl = ls->n;
	struct ifg_factors *f = ls->lane[0].f;
	for (int i = 0; i < nl; i++) {
		struct lane *ln = &ls->lane[i];
		f->blas_seconds += ln->blas_seconds / nl;
		for (int l = 0; i > 0 && l < f->n_layers; l++) {
			struct ifg_layer_factors *F = &f->layer[l], *L = &ln->own.layer[l];
			if (ifg_layer_merge(F, L) < 0)
				ifg_die_err("cannot add a thread's sums");
			free(L->A_sum);
			free(L->S_sum);
			free(L->Lambda_sum);
			free(L->work32);
			free(L->work);
			free(L->twork);
			if (L->QA32 != F->QA32)
				free(L->QA32);
			if (L->QS32 != F->QS32)
				free(L->QS32);
		}
		free(ln->own.layer);
		free(ln->a64);
		free(ln->s64);
	}
	free(ls->lane);
	if (ls->gl.n)
		ifg_gradlanes_close(&ls->gl);
}

/* One pass over grads files (or tokens files whose gradients o->gm
 * computes): covariance sums, or Λ sums with strategy st, the products of
 * each record in pass_prec.  h0 gets the first file's header; every file
 * must match ref (or h0).  keep: with -m, each record's blocks are kept
 * in it, or (replay) the pass runs over those kept instead of the model's
 * (the files' headers are still read and checked). */
static void pass(char **files, int n, bool lambda, const struct ifg_strategy *st,
		 const struct opts *o, struct ifg_gradhdr *h0, const struct ifg_gradhdr *ref,
		 const char *refwhat, struct ifg_factors *f, struct ifg_gradkeep *keep, bool replay)
{
	const char *what = lambda ? "lambda" : "covariance";
	double *a64 = NULL, *s64 = NULL;
	size_t acap = 0, scap = 0;
	uint64_t records = 0, tokens = 0;
	int64_t tmax = 0;
	double t0 = ifg_now(), blas0 = f->blas_seconds;
	enum ifg_precision prec = pass_prec(o, lambda);
	/* -m -P N: records side by side, one per thread (struct lane) */
	int nl = o->gm && o->parallel > 1 ? o->parallel : 1;
	struct lanes ls = { .lambda = lambda, .st = st, .prec = prec,
			    .keep = replay ? NULL : keep };
	if (replay)	/* the kept records' lanes, one per lane of the first pass */
		nl = keep->n_lanes;
	for (int i = 0; i < (n ? n : 1); i++) {
		struct ifg_gradsrc src;
		if (ifg_gradsrc_open(&src, n ? files[i] : NULL, o->gm) < 0)
			ifg_die_err(o->gm ? "cannot read tokens" : "cannot read gradients");
		src.f64_only = prec == IFG_PREC_F64;	/* no f32 copies of a stream's arrays */
		const struct ifg_gradhdr *h = &src.h;
		const struct ifg_gradhdr *want = ref ? ref : i > 0 ? h0 : NULL;
		if (want && ifg_gradhdr_same_model(want, ref ? refwhat : "grads", h, "grads") < 0)
			ifg_die_err("refusing to mix models");
		if (i == 0 && ifg_gradhdr_from_map(src.r, IFG_KIND_GRADS, h->hdr, h0) < 0)
			ifg_die_err("cannot read gradients");
		if (f->n_layers == 0)
			ifg_factors_from_header(f, h);
		for (int l = 0; i == 0 && l < f->n_layers; l++) {
			/* zero sums, so an empty stream still gives every part */
			struct ifg_layer_factors *L = &f->layer[l];
			if (!lambda)
				ifg_cov_add(L, NULL, NULL, 0, NULL);
			else if (!L->Lambda_sum)
				L->Lambda_sum = ifg_xcalloc((size_t)L->d_out * ifg_layer_na(L),
							    sizeof(double));
		}
		if (i == 0 && (nl > 1 || replay))
			lanes_open(&ls, replay ? NULL : o->gm, f, nl);
		const msgpack_object *rec;
		int rc = 0;
		if (replay) {
			ifg_gradsrc_close(&src);
			continue;
		}
		if (nl > 1) {
			pass_lanes(&src, &ls, what, &records, &tokens, &tmax);
			ifg_gradsrc_close(&src);
			continue;
		}
		while ((rc = ifg_gradsrc_next(&src, &rec)) > 0) {
			int64_t T = (int64_t)src.T;
			for (int l = 0; l < h->n_layers; l++) {
				const double *ad = NULL, *sd = NULL;
				if (prec == IFG_PREC_F64) {
					if (ifg_gradsrc_f64(&src, l, &a64, &acap, &s64, &scap) < 0)
						ifg_die_err("bad gradients");
					ad = a64;
					sd = s64;
				}
				if (add_layer(&f->layer[l], lambda, st, prec, src.a[l], src.s[l], ad, sd,
					      T, &f->blas_seconds) < 0)
					ifg_die_err("%s", what);
			}
			if (keep)
				ifg_gradkeep_add(keep, 0, (int)T, src.a, src.s);
			records++;
			tokens += (uint64_t)T;
			if (T > tmax)
				tmax = T;
			ifg_progress("%s: %llu records, %llu tokens", what,
				     (unsigned long long)records, (unsigned long long)tokens);
		}
		if (rc < 0)
			ifg_die_err(o->gm ? "cannot read tokens" : "cannot read gradients");
		ifg_gradsrc_close(&src);
	}
	if (replay) {
		ifg_gradkeep_count(keep, &records, &tokens, &tmax);
		if (ifg_gradkeep_replay(keep, add_lane, &ls) < 0)
			ifg_die_err("%s", what);
	}
	ifg_progress_done();
	if (nl > 1 || replay)
		lanes_close(&ls);
	free(a64);
	free(s64);
	f->records = (int64_t)records;
	double dt = ifg_now() - t0, blas = f->blas_seconds - blas0;
	ifg_warn("%s: %llu records, %llu tokens in %.3f s (%.3g us/token, BLAS %.0f%%, %s%s)",
		 what, (unsigned long long)records, (unsigned long long)tokens, dt,
		 tokens ? 1e6 * dt / (double)tokens : 0.0, dt > 0 ? 100 * blas / dt : 0.0,
		 ifg_precision_name(prec),
		 replay ? ", the covariance pass's gradients"
		 : o->gm ? ", gradients in-process" : "");
	double kept = keep ? ifg_gradkeep_bytes(keep) : 0;
	if (keep && !replay && !ifg_gradkeep_complete(keep))
		ifg_info("%s: the gradients pass --keep %g MiB: the lambda pass computes "
			 "them again", what, o->keep_mib);
	ifg_info("%s: memory %.1f MiB by the formula of ifg-factor(1) at T %lld, "
		 "peak resident %.1f MiB", what,
		 pass_mib(f, lambda, o, tmax, nl) + kept / (1024.0 * 1024.0), (long long)tmax,
		 ifg_peak_rss_mib());
}

static struct ifg_writer *open_out(const struct opts *o)
{
	struct ifg_writer *w = ifg_writer_open(o->out, o->compress);
	if (!w)
		ifg_die_err("cannot write output");
	return w;
}

static void end_rec(struct ifg_writer *w)
{
	if (ifg_writer_end(w) < 0)
		ifg_die_err("write to '%s' failed", ifg_writer_name(w));
}

static void close_out(struct ifg_writer *w)
{
	if (ifg_writer_close(w) < 0)
		ifg_die_err("cannot finish output");
}

/* Writes f as one stream of kind (cov, eigen or factors), parts as mask. */
/* precision: of the stream's newest sums (cov: the covariance pass's,
 * factors: the lambda pass's, or the covariance's without one). */
static void write_factors(const struct opts *o, const char *kind, const struct ifg_gradhdr *h,
			  const struct ifg_factors *f, unsigned parts, const char *strategy,
			  enum ifg_precision prec)
{
	struct ifg_writer *w = open_out(o);
	ifg_factor_header(w, kind, h, f->records, strategy, ifg_precision_name(prec));
	end_rec(w);
	for (int l = 0; l < f->n_layers; l++) {
		ifg_factor_rec_pack(ifg_writer_pk(w), l, &f->layer[l], parts);
		end_rec(w);
	}
	close_out(w);
}

static void stage_covariance(char **files, int n, struct opts *o)
{
	struct ifg_gradhdr h;
	struct ifg_factors f = { 0 };
	open_model(o, NULL);
	pass(files, n, false, NULL, o, &h, NULL, NULL, &f, NULL, false);
	close_model(o);
	for (int l = 0; l < f.n_layers; l++)
		ifg_cov_symmetrize(&f.layer[l]);
	write_factors(o, IFG_KIND_COV, &h, &f, IFG_PART_COV, NULL, pass_prec(o, false));
	ifg_factors_release(&f);
	ifg_gradhdr_release(&h);
}

/* cov -> eigen, two layers at a time (their four decompositions side by
 * side). */
static void stage_eigen(const char *path, const struct opts *o)
{
	enum { GROUP = 2 };
	struct ifg_gradhdr h;
	struct ifg_reader *r = ifg_reader_open(path);
	if (!r || ifg_gradhdr_read(r, k_cov, &h) < 0)
		ifg_die_err("cannot read covariance");
	struct ifg_writer *w = open_out(o);
	/* the covariance's precision carries over: the eigensolver is f64 */
	ifg_factor_header(w, IFG_KIND_EIGEN, &h, h.count, NULL,
			  h.precision[0] ? h.precision : NULL);
	end_rec(w);
	const msgpack_object *rec;
	double t0 = ifg_now(), blas = 0;
	for (int l0 = 0; l0 < h.n_layers; l0 += GROUP) {
		struct ifg_layer_factors L[GROUP], *lp[GROUP];
		int n = h.n_layers - l0 < GROUP ? h.n_layers - l0 : GROUP;
		for (int k = 0; k < n; k++) {
			const struct ifg_layer_shape *s = &h.layers[l0 + k];
			ifg_layer_init(&L[k], s->name, s->d_in, s->d_out, s->bias);
			lp[k] = &L[k];
			int rc = ifg_reader_next(r, &rec);
			if (rc == 0)
				ifg_reader_err(r, "the stream ends after %d of %d layers", l0 + k,
					       h.n_layers);
			if (rc <= 0 || ifg_factor_rec_parse(r, rec, l0 + k, &L[k]) < 0)
				ifg_die_err("eigen");
		}
		if (ifg_eigen_layers(lp, n, 0, &blas) < 0)
			ifg_die_err("eigen");
		for (int k = 0; k < n; k++) {
			ifg_factor_rec_pack(ifg_writer_pk(w), l0 + k, &L[k], IFG_PART_EIGEN);
			end_rec(w);
			ifg_layer_release(&L[k]);
		}
	}
	if (ifg_reader_next(r, &rec) != 0)
		ifg_die("'%s': more records than the %d layers of the header", h.source, h.n_layers);
	ifg_reader_close(r);
	close_out(w);
	ifg_warn("eigen: %d layers in %.3f s (LAPACK %.3f s)", h.n_layers, ifg_now() - t0, blas);
	ifg_gradhdr_release(&h);
}

/* The factors of a finished covariance pass, decomposed in place (every
 * layer's decompositions side by side). */
static void eigen_in_place(struct ifg_factors *f)
{
	struct ifg_layer_factors **lp = ifg_xcalloc(f->n_layers ? f->n_layers : 1, sizeof *lp);
	for (int l = 0; l < f->n_layers; l++) {
		ifg_cov_symmetrize(&f->layer[l]);
		lp[l] = &f->layer[l];
	}
	if (ifg_eigen_layers(lp, f->n_layers, 0, &f->blas_seconds) < 0)
		ifg_die_err("eigen");
	for (int l = 0; l < f->n_layers; l++) {
		struct ifg_layer_factors *L = &f->layer[l];
		free(L->A_sum);
		free(L->S_sum);
		L->A_sum = L->S_sum = NULL;
	}
	free(lp);
}

static void stage_lambda(char **files, int n, struct opts *o)
{
	struct ifg_gradhdr h, he;
	struct ifg_factors f = { 0 };
	if (!o->st->needs_lambda)
		ifg_usage_error("strategy %s has no lambda pass", o->st->name);
	if (o->st->needs_eigen != (o->eigen != NULL))
		ifg_usage_error(o->eigen ? "strategy %s takes no eigenbases (-e)"
					 : "strategy %s needs eigenbases: give -e eigen", o->st->name);
	if (o->eigen) {
		if (ifg_factors_read(o->eigen, k_basis, &he, &f) < 0)
			ifg_die_err("cannot read eigenbases");
		for (int l = 0; l < f.n_layers; l++) {
			struct ifg_layer_factors *L = &f.layer[l];
			free(L->Lambda_sum);	/* a factors stream used as the basis */
			L->Lambda_sum = NULL;
			L->Lambda_count = 0;
			if (!L->QA || !L->QS)
				ifg_die("'%s': layer '%s' has no eigenbases", o->eigen, L->name);
		}
	}
	open_model(o, o->eigen ? &he : NULL);
	pass(files, n, true, o->st, o, &h, o->eigen ? &he : NULL, "eigen", &f, NULL, false);
	close_model(o);
	write_factors(o, IFG_KIND_FACTORS, &h, &f, IFG_PART_EIGEN | IFG_PART_LAMBDA, o->st->name,
		      pass_prec(o, true));
	ifg_factors_release(&f);
	ifg_gradhdr_release(&h);
	if (o->eigen)
		ifg_gradhdr_release(&he);
}

/* Adds the per-layer records of several cov (or factors) streams, reading
 * them in lockstep. */
static void stage_merge(char **files, int n, const struct opts *o)
{
	if (n < 1)
		ifg_usage_error("merge needs at least one file");
	struct ifg_reader **r = ifg_xcalloc(n, sizeof *r);
	struct ifg_gradhdr *h = ifg_xcalloc(n, sizeof *h);
	int64_t records = 0;
	for (int i = 0; i < n; i++) {
		if (!(r[i] = ifg_reader_open(files[i])) || ifg_gradhdr_read(r[i], k_merge, &h[i]) < 0)
			ifg_die_err("cannot read partial results");
		if (i > 0 && strcmp(h[i].kind, h[0].kind))
			ifg_die("cannot merge '%s' (%s) with '%s' (%s)", files[i], h[i].kind,
				files[0], h[0].kind);
		if (i > 0 && ifg_gradhdr_same_model(&h[0], h[0].kind, &h[i], h[i].kind) < 0)
			ifg_die_err("refusing to merge results of another model");
		if (i > 0 && strcmp(h[i].strategy, h[0].strategy))
			ifg_die("cannot merge factors of strategy '%s' ('%s') and '%s' ('%s')",
				h[0].strategy, files[0], h[i].strategy, files[i]);
		if (i > 0 && strcmp(h[i].precision, h[0].precision))
			ifg_die("cannot merge sums of precision '%s' ('%s') and '%s' ('%s')",
				h[0].precision[0] ? h[0].precision : "unstated", files[0],
				h[i].precision[0] ? h[i].precision : "unstated", files[i]);
		if (__builtin_add_overflow(records, h[i].count > 0 ? h[i].count : 0, &records))
			ifg_die("'%s': the merged record count overflows", files[i]);
	}
	struct ifg_writer *w = open_out(o);
	ifg_factor_header(w, h[0].kind, &h[0], records, h[0].strategy[0] ? h[0].strategy : NULL,
			  h[0].precision[0] ? h[0].precision : NULL);
	end_rec(w);
	const msgpack_object *rec;
	for (int l = 0; l < h[0].n_layers; l++) {
		const struct ifg_layer_shape *s = &h[0].layers[l];
		struct ifg_layer_factors acc, part;
		ifg_layer_init(&acc, s->name, s->d_in, s->d_out, s->bias);
		for (int i = 0; i < n; i++) {
			struct ifg_layer_factors *L = i == 0 ? &acc : &part;
			if (i > 0)
				ifg_layer_init(&part, s->name, s->d_in, s->d_out, s->bias);
			int rc = ifg_reader_next(r[i], &rec);
			if (rc == 0)
				ifg_reader_err(r[i], "the stream ends after %d of %d layers", l,
					       h[0].n_layers);
			if (rc <= 0 || ifg_factor_rec_parse(r[i], rec, l, L) < 0)
				ifg_die_err("cannot read partial results");
			if (i > 0 && ifg_layer_merge(&acc, &part) < 0)
				ifg_die_err("cannot merge '%s' into '%s'", files[i], files[0]);
			if (i > 0)
				ifg_layer_release(&part);
		}
		ifg_factor_rec_pack(ifg_writer_pk(w), l, &acc,
				    IFG_PART_COV | IFG_PART_EIGEN | IFG_PART_LAMBDA);
		end_rec(w);
		ifg_layer_release(&acc);
	}
	for (int i = 0; i < n; i++) {
		if (ifg_reader_next(r[i], &rec) != 0)
			ifg_die("'%s': more records than the %d layers of the header", files[i],
				h[0].n_layers);
		ifg_reader_close(r[i]);
		ifg_gradhdr_release(&h[i]);
	}
	close_out(w);
	free(r);
	free(h);
}

/* All at once: covariance over the first file, eigen, then lambda over the
 * second file (fresh label samples) or the first again. */
static void stage_fit(char **files, int n, struct opts *o)
{
	const struct ifg_strategy *st = o->st;
	if (n < 1 || n > 2)
		ifg_usage_error("fit takes one or two grads files");
	if (!st->needs_eigen && !st->needs_lambda)
		ifg_usage_error("strategy %s needs no factors", st->name);
	if (st->needs_eigen && st->needs_lambda && n == 1 && !strcmp(files[0], "-"))
		ifg_usage_error("fit reads its input twice: give a file, not stdin");
	struct ifg_gradhdr hc, hl;
	struct ifg_factors f = { 0 };
	open_model(o, NULL);
	/* one file read by the model twice: the lambda pass over the gradients
	 * the covariance pass kept, when they fit in --keep */
	struct ifg_gradkeep keep, *kp = NULL;
	if (o->gm && n == 1 && st->needs_eigen && st->needs_lambda && o->keep_mib > 0) {
		int nl = o->parallel > 1 ? o->parallel : 1;
		ifg_gradkeep_init(&keep, nl, o->gm->g.n_layers, o->gm->g.layers,
				  o->keep_mib * 1024.0 * 1024.0);
		kp = &keep;
	}
	if (st->needs_eigen) {
		pass(files, 1, false, NULL, o, &hc, NULL, NULL, &f, kp, false);
		eigen_in_place(&f);
	}
	bool replay = kp && ifg_gradkeep_complete(kp);
	if (st->needs_lambda)
		pass(files + n - 1, 1, true, st, o, &hl, st->needs_eigen ? &hc : NULL, "grads",
		     &f, replay ? kp : NULL, replay);
	if (kp)
		ifg_gradkeep_release(kp);
	close_model(o);
	write_factors(o, IFG_KIND_FACTORS, st->needs_lambda ? &hl : &hc, &f,
		      IFG_PART_EIGEN | IFG_PART_LAMBDA, st->name, pass_prec(o, st->needs_lambda));
	ifg_factors_release(&f);
	if (st->needs_eigen)
		ifg_gradhdr_release(&hc);
	if (st->needs_lambda)
		ifg_gradhdr_release(&hl);
}

int main(int argc, char **argv)
{
	ifg_cli_init(argv[0]);
	enum { OPT_SAMPLE = 256, OPT_SEED, OPT_ANYTOK, OPT_KEEP };
	static const struct option longopts[] = {
		{ "model", required_argument, NULL, 'm' },  { "layers", required_argument, NULL, 'L' },
		{ "sample", no_argument, NULL, OPT_SAMPLE }, { "seed", required_argument, NULL, OPT_SEED },
		{ "threads", required_argument, NULL, 'j' }, { "precision", required_argument, NULL, 'p' },
		{ "parallel", required_argument, NULL, 'P' },
		{ "any-tokenizer", no_argument, NULL, OPT_ANYTOK },
		{ "keep", required_argument, NULL, OPT_KEEP },
		{ "eigen", required_argument, NULL, 'e' },  { "output", required_argument, NULL, 'o' },
		{ "strategy", required_argument, NULL, 's' }, { "zstd", no_argument, NULL, 'z' },
		{ "quiet", no_argument, NULL, 'q' },	    { "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },	    { "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .compress = IFG_COMPRESS_AUTO, .prec = -1, .keep_mib = 2048 };
	bool keep_given = false;
	const char *strategy = "ekfac";
	int c;
	const struct ifg_cli_std std = { usage, &o.out, &o.compress };
	bool seeded = false;
	while ((c = getopt_long(argc, argv, "e:m:L:j:P:p:o:s:zqv", longopts, NULL)) != -1) {
		switch (c) {
		case 'e': o.eigen = optarg; break;
		case 's': strategy = optarg; break;
		case 'm': o.model = optarg; break;
		case 'L': o.layers = optarg; break;
		case OPT_SAMPLE: o.sample = true; break;
		case OPT_SEED:
			o.seed = (uint64_t)ifg_opt_long("--seed", optarg, 0, LONG_MAX);
			seeded = true;
			break;
		case OPT_ANYTOK: o.any_tok = true; break;
		case OPT_KEEP:
			o.keep_mib = ifg_opt_double("--keep", optarg, 0, 1e9);
			keep_given = true;
			break;
		case 'j': ifg_gpt_set_threads((int)ifg_opt_long("-j", optarg, 1, 1024)); break;
		case 'P': o.parallel = (int)ifg_opt_long("-P", optarg, 1, 1024); break;
		case 'p':
		{
			enum ifg_precision p;
			if (ifg_precision_parse(optarg, &p) < 0)
				ifg_usage_error("option -p: %s", ifg_err());
			o.prec = (int)p;
			break;
		}
		default: ifg_cli_std_option(&std, c, optarg);
		}
	}
	if (!(o.st = ifg_strategy_find(strategy)))
		ifg_usage_error("option -s: %s", ifg_err());
	if (optind == argc)
		ifg_usage_error("no stage given (covariance, eigen, lambda, merge or fit)");
	const char *stage = argv[optind++];
	char **files = argv + optind;
	int n = argc - optind;
	if (o.eigen && strcmp(stage, "lambda"))
		ifg_usage_error("-e applies to the lambda stage only");
	bool passes = !strcmp(stage, "covariance") || !strcmp(stage, "lambda") ||
		      !strcmp(stage, "fit");
	if (o.model && !passes)
		ifg_usage_error("-m applies to the covariance, lambda and fit stages");
	if (!o.model && (o.layers || o.sample || seeded || o.any_tok || o.parallel))
		ifg_usage_error("-L, --sample, --seed, -P and --any-tokenizer go with -m");
	if (keep_given && (strcmp(stage, "fit") || !o.model))
		ifg_usage_error("--keep goes with fit -m");
	if (!strcmp(stage, "covariance"))
		stage_covariance(files, n, &o);
	else if (!strcmp(stage, "eigen")) {
		if (n > 1)
			ifg_usage_error("eigen reads one covariance stream");
		stage_eigen(n ? files[0] : NULL, &o);
	} else if (!strcmp(stage, "lambda"))
		stage_lambda(files, n, &o);
	else if (!strcmp(stage, "merge"))
		stage_merge(files, n, &o);
	else if (!strcmp(stage, "fit"))
		stage_fit(files, n, &o);
	else
		ifg_usage_error("unknown stage '%s' (covariance, eigen, lambda, merge or fit)", stage);
	return 0;
}
