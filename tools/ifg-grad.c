/* ifg-grad: per-token factored gradients of the tracked linear layers.
 *
 * Reads a checkpoint and tokens streams; for every record runs one forward
 * and backward of its summed loss (true labels, or labels sampled from the
 * model with --sample) and writes the record with "grads": per tracked layer
 * the inputs a (T, na: d_in, then the bias column 1 when the layer has a
 * bias) and output gradients
 * s (T, d_out), whose products Σ_t s_t a_tᵀ are the record's weight
 * gradients.  With --sum it writes instead one gradsum record: per layer
 * G = Σ_records Σ_t s_t a_tᵀ (f64) and the record count. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ekfac.h"
#include "gpt.h"
#include "modelid.h"
#include "gradext.h"
#include "gradrec.h"
#include "gradsrc.h"
#include "kinds.h"
#include "querysum.h"
#include "modeltok.h"
#include "rec.h"
#include "rng.h"
#include "util.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ifg-grad [-qvz] -m model [-L layers] [--sum] [--sample] [-s seed]\n"
		"                [-t dtype] [-j threads] [--any-tokenizer] [-o file] [file ...]\n"
		"Per-token gradients of the tracked linear layers of a GPT-2, Pythia or Llama\n"
		"checkpoint.\n"
		"  -m, --model CKPT      checkpoint directory or .safetensors file\n"
		"      --any-tokenizer   run even when the model was trained with another\n"
		"                        tokenizer than the records'\n"
		"  -L, --layers LIST     all (default), kinds (mlp.c_fc: that layer of every\n"
		"                        block) or names (h.0.mlp.c_fc), comma-separated; the\n"
		"                        model's layers are its family's (ifg-grad(1))\n"
		"      --sum             one gradsum record: the gradients summed over records\n"
		"      --sample          labels sampled from the model (true Fisher), not the tokens\n"
		"  -s, --seed N          sampling seed (0)\n"
		"  -t, --dtype T         f32 (default) or bf16 for a and s\n"
		"  -j, --threads N       BLAS threads (default: OpenBLAS's)\n"
		"  -o, --output FILE     write here instead of stdout (.zst compresses)\n"
		"  -z, --zstd            compress the output\n"
		"  -q, --quiet, -v, --verbose, --help, --version\n");
}

struct opts {
	const char *model, *layers, *out;
	bool sum, sample, any_tok;
	uint64_t seed;
	enum ifg_dtype dtype;
	int compress;
};

/* Header pairs: model, tokenizer (when the tokens stream names one), layers,
 * labels, seed, dtype, and count for gradsum. */
static void write_header(struct ifg_writer *w, const char *kind, const struct ifg_model_id *id,
			 const msgpack_object *tokenizer, const struct ifg_gradext *g,
			 const struct opts *o, int64_t count)
{
	msgpack_packer *pk = ifg_writer_pk(w);
	ifg_writer_begin_header(w, kind, 5 + (tokenizer != NULL) + (count >= 0));
	ifg_pack_cstr(pk, IFG_K_MODEL);
	ifg_model_id_pack(pk, id);
	if (tokenizer) {
		ifg_pack_cstr(pk, IFG_K_TOKENIZER);
		msgpack_pack_object(pk, *tokenizer);
	}
	ifg_pack_kv_layers(pk, g->n_layers, g->layers);
	ifg_pack_kv_str(pk, IFG_K_LABELS, o->sample ? "sampled" : "true");
	ifg_pack_cstr(pk, IFG_K_SEED);
	msgpack_pack_uint64(pk, o->seed);
	ifg_pack_kv_str(pk, IFG_K_DTYPE, ifg_dtype_name(o->dtype));
	if (count >= 0)
		ifg_pack_kv_i64(pk, IFG_K_COUNT, count);
	if (ifg_writer_end(w) < 0)
		ifg_die_err("write to '%s' failed", ifg_writer_name(w));
}

int main(int argc, char **argv)
{
	ifg_cli_init(argv[0]);
	enum { OPT_SUM = 256, OPT_SAMPLE, OPT_ANYTOK };
	static const struct option longopts[] = {
		{ "model", required_argument, NULL, 'm' }, { "layers", required_argument, NULL, 'L' },
		{ "sum", no_argument, NULL, OPT_SUM },	    { "sample", no_argument, NULL, OPT_SAMPLE },
		{ "seed", required_argument, NULL, 's' },  { "dtype", required_argument, NULL, 't' },
		{ "threads", required_argument, NULL, 'j' }, { "output", required_argument, NULL, 'o' },
		{ "zstd", no_argument, NULL, 'z' },	    { "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },	    { "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },	    { "any-tokenizer", no_argument, NULL, OPT_ANYTOK },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .layers = "all", .dtype = IFG_F32, .compress = IFG_COMPRESS_AUTO };
	int c;
	const struct ifg_cli_std std = { usage, &o.out, &o.compress };
	while ((c = getopt_long(argc, argv, "m:L:s:t:j:o:zqv", longopts, NULL)) != -1) {
		switch (c) {
		case 'm': o.model = optarg; break;
		case 'L': o.layers = optarg; break;
		case OPT_SUM: o.sum = true; break;
		case OPT_SAMPLE: o.sample = true; break;
		case OPT_ANYTOK: o.any_tok = true; break;
		case 's': o.seed = (uint64_t)ifg_opt_long("-s", optarg, 0, LONG_MAX); break;
		case 't':
			if (!strcmp(optarg, "f32") || !strcmp(optarg, "bf16"))
				o.dtype = !strcmp(optarg, "f32") ? IFG_F32 : IFG_BF16;
			else
				ifg_usage_error("option -t: dtype '%s' (f32 or bf16)", optarg);
			break;
		case 'j': ifg_gpt_set_threads((int)ifg_opt_long("-j", optarg, 1, 1024)); break;
		default: ifg_cli_std_option(&std, c, optarg);
		}
	}
	if (!o.model)
		ifg_usage_error("no model: give -m CKPT");
	if (o.sum && o.dtype != IFG_F32)
		ifg_usage_error("--sum writes f64 sums; -t applies to per-token gradients");
	struct ifg_gpt *m = ifg_gpt_load(o.model);
	if (!m)
		ifg_die_err("cannot load '%s'", o.model);
	struct ifg_model_id id;
	ifg_gpt_identity(m, &id);
	struct ifg_tok_id model_tok;	/* what the checkpoint was trained with, if it says */
	int ck = o.any_tok ? 0 : ifg_ckpt_tokenizer(o.model, &model_tok);
	if (ck < 0)
		ifg_die_err("cannot read '%s'", o.model);
	struct ifg_gradext g;
	if (ifg_gradext_init(&g, m, o.layers) < 0)
		ifg_usage_error("option -L: %s", ifg_err());

	struct ifg_writer *w = ifg_writer_open(o.out, o.compress);
	if (!w)
		ifg_die_err("cannot write output");
	double **G = NULL, *buf = NULL;
	size_t bufcap = 0;
	if (o.sum) {
		G = ifg_xcalloc(g.n_layers, sizeof *G);
		for (int l = 0; l < g.n_layers; l++)
			G[l] = ifg_xcalloc((size_t)g.layers[l].d_out *
						   (g.layers[l].d_in + g.layers[l].bias),
					   sizeof(double));
	}
	static const char *const drop[] = { IFG_K_GRADS, NULL };
	msgpack_sbuffer tokenizer;	/* the first input's tokenizer, for a --sum header */
	msgpack_sbuffer_init(&tokenizer);
	msgpack_unpacked tok_copy;
	msgpack_unpacked_init(&tok_copy);
	uint32_t *tok = NULL;
	size_t tokcap = 0;
	uint64_t records = 0, tokens = 0;
	double t0 = ifg_now(), loss_sum = 0;
	int nfiles = argc - optind;
	for (int i = 0; i < (nfiles ? nfiles : 1); i++) {
		struct ifg_reader *r = ifg_reader_open(nfiles ? argv[optind + i] : NULL);
		if (!r || ifg_reader_header(r, IFG_KIND_TOKENS) < 0)
			ifg_die_err("cannot read tokens");
		const msgpack_object *tz = ifg_get(ifg_reader_hdr(r), IFG_K_TOKENIZER);
		struct ifg_tok_id in;
		char what[600];
		snprintf(what, sizeof what, "'%.580s'", ifg_reader_name(r));
		if (ck == 1 && ifg_tok_id_from_map(tz, &in) == 1 &&
		    ifg_tok_id_check(&model_tok, o.model, &in, what) < 0)
			ifg_die("%s", ifg_err());
		if (i == 0 && tz) {
			msgpack_packer pk;
			msgpack_packer_init(&pk, &tokenizer, msgpack_sbuffer_write);
			msgpack_pack_object(&pk, *tz);
			size_t off = 0;
			msgpack_unpack_next(&tok_copy, tokenizer.data, tokenizer.size, &off);
		}
		if (i == 0 && !o.sum)
			write_header(w, IFG_KIND_GRADS, &id, tz, &g, &o, -1);
		const msgpack_object *rec;
		int rc;
		while ((rc = ifg_reader_next(r, &rec)) > 0) {
			struct ifg_array ta;
			int64_t cont = 0;
			if (ifg_get_array(r, rec, IFG_K_TOKENS, 1, &ta) < 0 ||
			    (ifg_get(rec, IFG_K_CONT) &&
			     ifg_get_i64(r, rec, IFG_K_CONT, 0, (int64_t)ta.n, &cont) < 0))
				ifg_die_err("bad tokens record");
			if (ta.n > tokcap)
				tok = ifg_xrealloc(tok, tokcap = ta.n, sizeof *tok);
			struct ifg_rng rng;
			ifg_rng_init2(&rng, o.seed, ifg_sample_key(rec, records));
			double loss;
			if (ifg_array_to_u32(&ta, tok, UINT32_MAX) < 0 ||
			    ifg_gradext_record(&g, tok, (int)ta.n, (int)cont, o.sample ? &rng : NULL,
					       &loss) < 0) {
				ifg_reader_err(r, "%s", ifg_err());
				ifg_die("%s", ifg_err());
			}
			loss_sum += loss;
			if (o.sum) {
				ifg_gradsum_add(&g, G, &buf, &bufcap);
			} else {
				msgpack_packer *pk = ifg_writer_pk(w);
				msgpack_pack_map(pk, ifg_map_count_except(rec, drop) + 1);
				ifg_pack_pairs_except(pk, rec, drop);
				ifg_pack_kv_grads(pk, g.n_layers, g.layers, (uint64_t)g.T,
						  (const float *const *)g.a, (const float *const *)g.s,
						  o.dtype);
				if (ifg_writer_end(w) < 0)
					ifg_die_err("write to '%s' failed", ifg_writer_name(w));
			}
			records++;
			tokens += ta.n;
			ifg_progress("%llu records, %llu tokens", (unsigned long long)records,
				     (unsigned long long)tokens);
		}
		if (rc < 0)
			ifg_die_err("cannot read tokens");
		ifg_reader_close(r);
	}
	ifg_progress_done();
	if (o.sum) {
		write_header(w, IFG_KIND_GRADSUM, &id, tokenizer.size ? &tok_copy.data : NULL, &g, &o,
			     (int64_t)records);
		ifg_pack_gradsum(ifg_writer_pk(w), g.n_layers, g.layers, (int64_t)records,
				 (const double *const *)G);
		if (ifg_writer_end(w) < 0)
			ifg_die_err("write to '%s' failed", ifg_writer_name(w));
	}
	if (ifg_writer_close(w) < 0)
		ifg_die_err("cannot finish output");
	double dt = ifg_now() - t0;
	ifg_warn("%llu records, %llu tokens in %.3f s (%.4g tokens/s), mean loss %.4f",
		 (unsigned long long)records, (unsigned long long)tokens, dt,
		 dt > 0 ? (double)tokens / dt : 0.0, records ? loss_sum / (double)records : 0.0);
	for (int l = 0; o.sum && l < g.n_layers; l++)
		free(G[l]);
	free(G);
	free(buf);
	free(tok);
	msgpack_unpacked_destroy(&tok_copy);
	msgpack_sbuffer_destroy(&tokenizer);
	ifg_gradext_release(&g);
	ifg_gpt_free(m);
	return 0;
}
