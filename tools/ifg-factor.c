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
 * stream length. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ekfac.h"
#include "gradrec.h"
#include "kinds.h"
#include "rec.h"
#include "util.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ifg-factor covariance [-qvz] [-o file] [file ...]\n"
		"       ifg-factor eigen [-qvz] [-o file] [file]\n"
		"       ifg-factor lambda [-qvz] [-e eigen] [-s strategy] [-o file] [file ...]\n"
		"       ifg-factor merge [-qvz] [-o file] file ...\n"
		"       ifg-factor fit [-qvz] [-s strategy] [-o file] file [file]\n"
		"Fit EK-FAC factors of the tracked layers from gradient streams.\n"
		"  -e, --eigen FILE      eigenbases for the lambda pass (eigen or factors)\n"
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
};

static const char *const k_grads[] = { IFG_KIND_GRADS, NULL };
static const char *const k_cov[] = { IFG_KIND_COV, NULL };
static const char *const k_basis[] = { IFG_KIND_EIGEN, IFG_KIND_FACTORS, NULL };
static const char *const k_merge[] = { IFG_KIND_COV, IFG_KIND_FACTORS, NULL };

/* One layer's gradients of one record as double: a (T, na), s (T, o). */
struct dbuf {
	double *a, *s;
	size_t acap, scap;
};

static void to_f64(const struct ifg_reader *r, const struct ifg_layer_grad *g,
		   const char *layer, struct dbuf *b)
{
	if (g->a.n > b->acap) {
		free(b->a);
		b->a = ifg_xaligned(b->acap = g->a.n, sizeof(double));
	}
	if (g->s.n > b->scap) {
		free(b->s);
		b->s = ifg_xaligned(b->scap = g->s.n, sizeof(double));
	}
	if (ifg_array_to_f64(&g->a, b->a, false) < 0 || ifg_array_to_f64(&g->s, b->s, false) < 0) {
		ifg_reader_err(r, "layer '%s': %s", layer, ifg_err());
		ifg_die("%s", ifg_err());
	}
}

/* The memory a pass holds, in MiB (ifg-factor(1), MEMORY), T the longest
 * record: per layer the sums (covariance: A, S; lambda: Q_A, Q_S, λ, Λ and
 * 3 o na of scratch), plus one record as read (f32, up to twice in the
 * reader's buffer), one layer of it in f64 and the lambda pass's T (o + na)
 * of rotated tokens.  Excludes the program and OpenBLAS's own buffers. */
static double pass_mib(const struct ifg_factors *f, bool lambda, int64_t T)
{
	double sums = 0, rec = 0, widest = 0;
	for (int l = 0; l < f->n_layers; l++) {
		double na = ifg_layer_na(&f->layer[l]), o = f->layer[l].d_out;
		sums += na * na + o * o + (lambda ? na + o + 4 * o * na : 0);
		rec += na + o;
		widest = widest > na + o ? widest : na + o;
	}
	double bytes = 8 * sums + 2 * 4 * (double)T * rec +
		       8 * (double)T * widest * (lambda ? 2 : 1);
	return bytes / (1024.0 * 1024.0);
}

/* One pass over grads files: covariance sums, or Λ sums with strategy st.
 * h0 gets the first file's header; every file must match ref (or h0). */
static void pass(char **files, int n, bool lambda, const struct ifg_strategy *st,
		 struct ifg_gradhdr *h0, const struct ifg_gradhdr *ref, const char *refwhat,
		 struct ifg_factors *f)
{
	const char *what = lambda ? "lambda" : "covariance";
	struct dbuf b = { 0 };
	uint64_t records = 0, tokens = 0;
	int64_t tmax = 0;
	double t0 = ifg_now(), blas0 = f->blas_seconds;
	for (int i = 0; i < (n ? n : 1); i++) {
		struct ifg_gradhdr hx, *h = i == 0 ? h0 : &hx;
		struct ifg_reader *r = ifg_reader_open(n ? files[i] : NULL);
		if (!r || ifg_gradhdr_read(r, k_grads, h) < 0)
			ifg_die_err("cannot read gradients");
		const struct ifg_gradhdr *want = ref ? ref : i > 0 ? h0 : NULL;
		if (want && ifg_gradhdr_same_model(want, ref ? refwhat : "grads", h, "grads") < 0)
			ifg_die_err("refusing to mix models");
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
		struct ifg_layer_grad *g = ifg_xcalloc(h->n_layers, sizeof *g);
		const msgpack_object *rec;
		uint64_t T;
		int rc;
		while ((rc = ifg_reader_next(r, &rec)) > 0) {
			if (ifg_grads_parse(r, h, rec, g, &T) < 0)
				ifg_die_err("bad gradients");
			for (int l = 0; l < h->n_layers; l++) {
				to_f64(r, &g[l], h->layers[l].name, &b);
				if (!lambda)
					ifg_cov_add(&f->layer[l], b.a, b.s, (int64_t)T, &f->blas_seconds);
				else if (ifg_lambda_add(&f->layer[l], st, b.a, b.s, (int64_t)T,
							&f->blas_seconds) < 0)
					ifg_die_err("%s", what);
			}
			records++;
			tokens += T;
			if ((int64_t)T > tmax)
				tmax = (int64_t)T;
			ifg_progress("%s: %llu records, %llu tokens", what,
				     (unsigned long long)records, (unsigned long long)tokens);
		}
		if (rc < 0)
			ifg_die_err("cannot read gradients");
		free(g);
		ifg_reader_close(r);
		if (i > 0)
			ifg_gradhdr_release(&hx);
	}
	ifg_progress_done();
	free(b.a);
	free(b.s);
	f->records = (int64_t)records;
	double dt = ifg_now() - t0, blas = f->blas_seconds - blas0;
	ifg_warn("%s: %llu records, %llu tokens in %.3f s (%.3g us/token, BLAS %.0f%%)", what,
		 (unsigned long long)records, (unsigned long long)tokens, dt,
		 tokens ? 1e6 * dt / (double)tokens : 0.0, dt > 0 ? 100 * blas / dt : 0.0);
	ifg_info("%s: memory %.1f MiB by the formula of ifg-factor(1) at T %lld, "
		 "peak resident %.1f MiB", what, pass_mib(f, lambda, tmax), (long long)tmax,
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
static void write_factors(const struct opts *o, const char *kind, const struct ifg_gradhdr *h,
			  const struct ifg_factors *f, unsigned parts, const char *strategy)
{
	struct ifg_writer *w = open_out(o);
	ifg_factor_header(w, kind, h, f->records, strategy);
	end_rec(w);
	for (int l = 0; l < f->n_layers; l++) {
		ifg_factor_rec_pack(ifg_writer_pk(w), l, &f->layer[l], parts);
		end_rec(w);
	}
	close_out(w);
}

static void stage_covariance(char **files, int n, const struct opts *o)
{
	struct ifg_gradhdr h;
	struct ifg_factors f = { 0 };
	pass(files, n, false, NULL, &h, NULL, NULL, &f);
	for (int l = 0; l < f.n_layers; l++)
		ifg_cov_symmetrize(&f.layer[l]);
	write_factors(o, IFG_KIND_COV, &h, &f, IFG_PART_COV, NULL);
	ifg_factors_release(&f);
	ifg_gradhdr_release(&h);
}

/* cov -> eigen, one layer at a time. */
static void stage_eigen(const char *path, const struct opts *o)
{
	struct ifg_gradhdr h;
	struct ifg_reader *r = ifg_reader_open(path);
	if (!r || ifg_gradhdr_read(r, k_cov, &h) < 0)
		ifg_die_err("cannot read covariance");
	struct ifg_writer *w = open_out(o);
	ifg_factor_header(w, IFG_KIND_EIGEN, &h, h.count, NULL);
	end_rec(w);
	const msgpack_object *rec;
	double t0 = ifg_now(), blas = 0;
	for (int l = 0; l < h.n_layers; l++) {
		struct ifg_layer_factors L;
		ifg_layer_init(&L, h.layers[l].name, h.layers[l].d_in, h.layers[l].d_out,
			       h.layers[l].bias);
		int rc = ifg_reader_next(r, &rec);
		if (rc == 0)
			ifg_reader_err(r, "the stream ends after %d of %d layers", l, h.n_layers);
		if (rc <= 0 || ifg_factor_rec_parse(r, rec, l, &L) < 0 || ifg_eigen(&L, &blas) < 0)
			ifg_die_err("eigen");
		ifg_factor_rec_pack(ifg_writer_pk(w), l, &L, IFG_PART_EIGEN);
		end_rec(w);
		ifg_layer_release(&L);
	}
	if (ifg_reader_next(r, &rec) != 0)
		ifg_die("'%s': more records than the %d layers of the header", h.source, h.n_layers);
	ifg_reader_close(r);
	close_out(w);
	ifg_warn("eigen: %d layers in %.3f s (LAPACK %.3f s)", h.n_layers, ifg_now() - t0, blas);
	ifg_gradhdr_release(&h);
}

/* The factors of a finished covariance pass, decomposed in place. */
static void eigen_in_place(struct ifg_factors *f)
{
	for (int l = 0; l < f->n_layers; l++) {
		struct ifg_layer_factors *L = &f->layer[l];
		ifg_cov_symmetrize(L);
		if (ifg_eigen(L, &f->blas_seconds) < 0)
			ifg_die_err("eigen");
		free(L->A_sum);
		free(L->S_sum);
		L->A_sum = L->S_sum = NULL;
	}
}

static void stage_lambda(char **files, int n, const struct opts *o)
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
	pass(files, n, true, o->st, &h, o->eigen ? &he : NULL, "eigen", &f);
	write_factors(o, IFG_KIND_FACTORS, &h, &f, IFG_PART_EIGEN | IFG_PART_LAMBDA, o->st->name);
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
		if (__builtin_add_overflow(records, h[i].count > 0 ? h[i].count : 0, &records))
			ifg_die("'%s': the merged record count overflows", files[i]);
	}
	struct ifg_writer *w = open_out(o);
	ifg_factor_header(w, h[0].kind, &h[0], records, h[0].strategy[0] ? h[0].strategy : NULL);
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
static void stage_fit(char **files, int n, const struct opts *o)
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
	if (st->needs_eigen) {
		pass(files, 1, false, NULL, &hc, NULL, NULL, &f);
		eigen_in_place(&f);
	}
	if (st->needs_lambda)
		pass(files + n - 1, 1, true, st, &hl, st->needs_eigen ? &hc : NULL, "grads", &f);
	write_factors(o, IFG_KIND_FACTORS, st->needs_lambda ? &hl : &hc, &f,
		      IFG_PART_EIGEN | IFG_PART_LAMBDA, st->name);
	ifg_factors_release(&f);
	if (st->needs_eigen)
		ifg_gradhdr_release(&hc);
	if (st->needs_lambda)
		ifg_gradhdr_release(&hl);
}

int main(int argc, char **argv)
{
	ifg_cli_init(argv[0]);
	static const struct option longopts[] = {
		{ "eigen", required_argument, NULL, 'e' },  { "output", required_argument, NULL, 'o' },
		{ "strategy", required_argument, NULL, 's' }, { "zstd", no_argument, NULL, 'z' },
		{ "quiet", no_argument, NULL, 'q' },	    { "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },	    { "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .compress = IFG_COMPRESS_AUTO };
	const char *strategy = "ekfac";
	int c;
	const struct ifg_cli_std std = { usage, &o.out, &o.compress };
	while ((c = getopt_long(argc, argv, "e:o:s:zqv", longopts, NULL)) != -1) {
		switch (c) {
		case 'e': o.eigen = optarg; break;
		case 's': strategy = optarg; break;
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
