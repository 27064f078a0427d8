/* ifg-sample: continue prompts with a GPT-2, Pythia or Llama checkpoint.
 *
 * Reads prompts, as JSONL (text in --text, id in --id, carried fields -c)
 * or as a tokens record stream (recognised by its first byte after any zstd
 * decompression, a msgpack map's; a record's tokens, or its tokens before
 * cont, are the prompt), and writes JSONL, one line per sample:
 *   {"id": ..., "sample": i, "prompt": "...", "continuation": "...", carried}
 * in input order, samples 0..k-1.  Sequences (prompt, sample) run b at a
 * time through the key/value-cached forward (common/model/gpt_infer.h); each draws
 * from its own random stream, keyed by the seed, the prompt's number and
 * the sample's, so the output does not depend on -b, -j or --no-cache.
 * With --rad-model, every step is reward-augmented (common/model/rad.h): the top
 * candidates' logits gain beta times 1 - the classifier's toxicity of the
 * text with each of them. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpe.h"
#include "cli.h"
#include "gpt.h"
#include "gpt_infer.h"
#include "json.h"
#include "kinds.h"
#include "modeltok.h"
#include "promptq.h"
#include "rad.h"
#include "rec.h"
#include "select.h"
#include "textin.h"
#include "toxclf.h"
#include "util.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ifg-sample [-qv] -m model -t tokenizer [-k samples] [-n tokens] [-p top-p]\n"
		"                  [--top-k K] [-T temperature] [-s seed] [-b batch] [--text field]\n"
		"                  [--id field] [-c field ...] [--rad-model classifier [--rad-beta B]\n"
		"                  [--rad-k K] [--rad-prompt]] [--any-tokenizer] [--no-cache]\n"
		"                  [-j threads] [-o file] [file ...]\n"
		"Continue prompts (JSONL or tokens records) with a GPT-2, Pythia or Llama\n"
		"checkpoint; JSONL out.\n"
		"  -m, --model PATH      checkpoint directory or .safetensors file\n"
		"  -t, --tokenizer PATH  tokenizer.json, or a GPT-2 vocabulary directory\n"
		"      --any-tokenizer   sample even when the model was trained with another\n"
		"                        tokenizer than -t\n"
		"  -k, --samples K       samples per prompt (1)\n"
		"  -n, --tokens N        new tokens per sample, at most (20)\n"
		"  -p, --top-p P         nucleus sampling: keep the most likely tokens\n"
		"                        whose mass reaches P (1: off)\n"
		"      --top-k K         keep the K most likely tokens (0: off)\n"
		"  -T, --temperature T   divide the logits by T (1; 0: greedy)\n"
		"  -s, --seed N          random seed (0)\n"
		"  -b, --batch B         sequences generated together (32)\n"
		"      --text FIELD      JSONL field of the prompt (prompt)\n"
		"      --id FIELD        JSONL field of the id (default: numbered from 0)\n"
		"  -c, --carry FIELD     copy this JSONL field to the output (repeatable)\n"
		"      --rad-model FILE  reward-augmented decoding with this toxicity classifier\n"
		"                        (ifg-toxicity learn): reward 1 - toxicity\n"
		"      --rad-beta B      RAD: add B x reward to the candidates' logits (10)\n"
		"      --rad-k K         RAD: candidates per step, the K most likely (20)\n"
		"      --rad-prompt      RAD: score the prompt's text with the continuation\n"
		"      --no-cache        recompute the whole prefix for every token\n"
		"  -j, --threads N       BLAS threads (default: OpenBLAS's)\n"
		"  -o, --output FILE     write here instead of standard output\n"
		"  -q, --quiet, -v, --verbose, --help, --version\n");
}

struct prompt {
	uint32_t *ids;		/* (n): what the model sees */
	int n;
	/* a sample's line: pre I mid "continuation" post */
	char *pre;		/* {"id": ID, "sample": */
	char *mid;		/* , "prompt": "...", "continuation": */
	char *post;		/* , carried fields}\n */
	uint64_t index;		/* number of the prompt in the input */
};

struct ctx {
	long k, n, batch;
	uint64_t seed;
	struct ifg_gpt *m;
	struct ifg_gpt_infer *inf;	/* NULL: --no-cache */
	struct ifg_sampler smp;
	struct ifg_rad *rad;		/* NULL: plain sampling */
	struct ifg_bpe *bpe;
	int ctx_left;			/* n_ctx - n: the prompt tokens kept */
	struct ifg_promptq pq;		/* prompts with samples to write (promptq.h) */
	uint64_t prompts, samples, tokens;
	struct ifg_gen *g;
	struct ifg_promptq_slot *slot;	/* what g[i] is: prompt and sample */
	struct ifg_out *out;
	msgpack_sbuffer sb;		/* a prompt's id, then a map of its carried fields */
	msgpack_packer pk;
	struct ifg_bytes text;
};

static FILE *mem_open(char **p, size_t *n)
{
	FILE *f = open_memstream(p, n);
	if (!f)
		ifg_die("out of memory");
	return f;
}

static void free_prompt(void *vp)
{
	struct prompt *p = vp;
	free(p->ids), free(p->pre), free(p->mid), free(p->post), free(p);
}

/* Writes the samples of g[0..nb) and retires finished prompts. */
static void write_batch(struct ctx *c, int nb)
{
	for (int i = 0; i < nb; i++) {
		struct prompt *p = c->slot[i].data;
		c->text.n = 0;
		if (ifg_bpe_decode(c->bpe, c->g[i].out, c->g[i].n_out, false, &c->text) < 0)
			ifg_die_err("prompt %llu: cannot decode the sample", (unsigned long long)p->index);
		char *line = NULL;
		size_t len = 0;
		FILE *f = mem_open(&line, &len);
		fprintf(f, "%s%d%s", p->pre, c->slot[i].sample, p->mid);
		ifg_json_str(f, (const char *)c->text.p, c->text.n);
		fputs(p->post, f);
		fclose(f);
		if (ifg_out_write(c->out, line, len) < 0)
			ifg_die_err("cannot write '%s'", ifg_out_name(c->out));
		free(line);
		c->samples++;
		c->tokens += c->g[i].n_out;
	}
	ifg_promptq_written(&c->pq, c->slot, nb, free_prompt);
	ifg_progress("%llu prompts, %llu samples", (unsigned long long)c->prompts,
		     (unsigned long long)c->samples);
}

/* Generates the next nb scheduled sequences, in queue order. */
static void run_batch(struct ctx *c, long nb)
{
	ifg_promptq_take(&c->pq, nb, c->slot);
	for (long i = 0; i < nb; i++) {
		const struct prompt *p = c->slot[i].data;
		struct ifg_gen *g = &c->g[i];
		g->prompt = p->ids;
		g->prompt_len = p->n;
		/* the stream of (prompt, sample): the seed and two numbers, nothing else */
		ifg_rng_init2(&g->rng, c->seed, ifg_promptq_key(p->index, c->slot[i].sample));
	}
	int rc = c->rad ? ifg_rad_generate(c->rad, c->m, c->inf, &c->smp, c->g, (int)nb, (int)c->n,
					   ifg_bpe_eot(c->bpe), ifg_bpe_vocab_size(c->bpe))
			: ifg_gpt_generate(c->m, c->inf, &c->smp, c->g, (int)nb, (int)c->n,
					   ifg_bpe_eot(c->bpe), ifg_bpe_vocab_size(c->bpe));
	if (rc < 0)
		ifg_die_err("generation failed");
	write_batch(c, (int)nb);
}

/* Queues a prompt: ids[0..n) (its last ctx_left kept; none: end-of-text),
 * its text, and in c->sb its id and a map of its carried fields. */
static void add_prompt(struct ctx *c, const uint32_t *ids, size_t n, const void *text, size_t tn)
{
	struct prompt *p = ifg_xcalloc(1, sizeof *p);
	uint32_t eot = (uint32_t)ifg_bpe_eot(c->bpe);
	if (n == 0) {
		if (ifg_bpe_eot(c->bpe) < 0)
			ifg_die("prompt %llu is empty and the tokenizer has no end-of-text token",
				(unsigned long long)c->prompts);
		ids = &eot, n = 1;
	}
	if (n > (size_t)c->ctx_left)
		ids += n - c->ctx_left, n = (size_t)c->ctx_left;
	p->ids = ifg_xmalloc(n, sizeof *p->ids);
	memcpy(p->ids, ids, n * sizeof *ids);
	p->n = (int)n;
	p->index = c->prompts++;

	msgpack_unpacked id, carry;
	msgpack_unpacked_init(&id), msgpack_unpacked_init(&carry);
	size_t off = 0, len;
	if (msgpack_unpack_next(&id, c->sb.data, c->sb.size, &off) != MSGPACK_UNPACK_SUCCESS ||
	    msgpack_unpack_next(&carry, c->sb.data, c->sb.size, &off) != MSGPACK_UNPACK_SUCCESS)
		ifg_die("cannot read back a packed prompt");
	FILE *f = mem_open(&p->pre, &len);
	fputs("{\"id\": ", f);
	ifg_json_obj(f, &id.data, true);
	fputs(", \"sample\": ", f);
	fclose(f);
	f = mem_open(&p->mid, &len);
	fputs(", \"prompt\": ", f);
	ifg_json_str(f, text, tn);
	fputs(", \"continuation\": ", f);
	fclose(f);
	f = mem_open(&p->post, &len);
	for (uint32_t i = 0; i < carry.data.via.map.size; i++) {
		const msgpack_object_kv *kv = &carry.data.via.map.ptr[i];
		if (kv->key.type != MSGPACK_OBJECT_STR && kv->key.type != MSGPACK_OBJECT_BIN)
			continue;	/* JSON keys are strings */
		fputs(", ", f);
		ifg_json_str(f, kv->key.via.str.ptr, kv->key.via.str.size);
		fputs(": ", f);
		ifg_json_obj(f, &kv->val, true);
	}
	fputs("}\n", f);
	fclose(f);
	msgpack_unpacked_destroy(&id), msgpack_unpacked_destroy(&carry);
	c->sb.size = 0;

	ifg_promptq_push(&c->pq, p, p->index);
	while (c->pq.pending >= c->batch)
		run_batch(c, c->batch);
}

static void read_jsonl(struct ctx *c, const char *path, const struct ifg_textin_opts *to)
{
	struct ifg_textin *in = ifg_textin_open(path, to);
	if (!in)
		ifg_die("%s", ifg_err());
	struct ifg_doc d;
	struct ifg_ids ids = { 0 };
	int rc;
	while ((rc = ifg_textin_next(in, &d)) == 1) {
		ids.n = 0;
		if (ifg_bpe_encode(c->bpe, d.text, d.text_len, IFG_BPE_SPECIAL_DEFAULT, &ids) < 0)
			ifg_die_err("'%s': line %llu", ifg_textin_name(in), (unsigned long long)d.line);
		if (to->id)
			ifg_pack_value(&c->pk, &d.id);
		else
			msgpack_pack_uint64(&c->pk, c->prompts);
		uint32_t nc = 0;
		for (size_t i = 0; i < to->ncarry; i++)
			nc += d.carry[i].type != IFG_VAL_NONE;
		msgpack_pack_map(&c->pk, nc);
		for (size_t i = 0; i < to->ncarry; i++)
			if (d.carry[i].type != IFG_VAL_NONE) {
				ifg_pack_cstr(&c->pk, to->carry[i]);
				ifg_pack_value(&c->pk, &d.carry[i]);
			}
		add_prompt(c, ids.v, ids.n, d.text, d.text_len);
	}
	if (rc < 0)
		ifg_die("%s", ifg_err());
	ifg_ids_release(&ids);
	ifg_textin_close(in);
}

static void read_tokens(struct ctx *c, const char *path)
{
	struct ifg_reader *r = ifg_reader_open(path);
	if (!r || ifg_reader_header(r, IFG_KIND_TOKENS) < 0)
		ifg_die("%s", ifg_err());
	const msgpack_object *tok = ifg_get(ifg_reader_hdr(r), IFG_K_TOKENIZER), *rec;
	if (!tok || ifg_bpe_check_identity(c->bpe, tok) < 0)
		ifg_die("'%s': %s", ifg_reader_name(r), tok ? ifg_err() : "header has no tokenizer");
	static const char *const drop[] = { IFG_K_ID, IFG_K_TOKENS, IFG_K_CONT, IFG_K_MASK, NULL };
	struct ifg_array a;
	uint32_t *ids = NULL;
	struct ifg_bytes text = { 0 };
	int rc;
	while ((rc = ifg_reader_next(r, &rec)) == 1) {
		int64_t cont = -1;
		if (ifg_get_array(r, rec, IFG_K_TOKENS, 1, &a) < 0 ||
		    (ifg_get(rec, IFG_K_CONT) && ifg_get_i64(r, rec, IFG_K_CONT, 0, a.n, &cont) < 0))
			ifg_die("%s", ifg_err());
		ids = ifg_xrealloc(ids, a.n + 1, sizeof *ids);
		if (ifg_array_to_u32(&a, ids, ifg_bpe_vocab_size(c->bpe) - 1) < 0)
			ifg_die("%s", (ifg_reader_err(r, "tokens: %s", ifg_err()), ifg_err()));
		size_t n = cont >= 0 ? (size_t)cont : a.n;
		text.n = 0;
		if (ifg_bpe_decode(c->bpe, ids, n, false, &text) < 0)
			ifg_die("%s", (ifg_reader_err(r, "%s", ifg_err()), ifg_err()));
		const msgpack_object *id = ifg_get(rec, IFG_K_ID);
		if (id)
			msgpack_pack_object(&c->pk, *id);
		else
			msgpack_pack_uint64(&c->pk, c->prompts);
		msgpack_pack_map(&c->pk, ifg_map_count_except(rec, drop));
		ifg_pack_pairs_except(&c->pk, rec, drop);
		add_prompt(c, ids, n, text.p, text.n);
	}
	if (rc < 0)
		ifg_die("%s", ifg_err());
	free(ids);
	ifg_bytes_release(&text);
	ifg_reader_close(r);
}

int main(int argc, char **argv)
{
	ifg_cli_init(argv[0]);
	enum { O_TOPK = 256, O_TEXT, O_ID, O_NOCACHE, O_RAD, O_RADBETA, O_RADK, O_RADPROMPT,
	       O_ANYTOK };
	static const struct option longopts[] = {
		{ "model", 1, 0, 'm' },	    { "tokenizer", 1, 0, 't' }, { "samples", 1, 0, 'k' },
		{ "tokens", 1, 0, 'n' },    { "top-p", 1, 0, 'p' },	{ "top-k", 1, 0, O_TOPK },
		{ "temperature", 1, 0, 'T' }, { "seed", 1, 0, 's' },	{ "batch", 1, 0, 'b' },
		{ "text", 1, 0, O_TEXT },   { "id", 1, 0, O_ID },	{ "carry", 1, 0, 'c' },
		{ "rad-model", 1, 0, O_RAD }, { "rad-beta", 1, 0, O_RADBETA },
		{ "rad-k", 1, 0, O_RADK },  { "rad-prompt", 0, 0, O_RADPROMPT },
		{ "no-cache", 0, 0, O_NOCACHE }, { "threads", 1, 0, 'j' }, { "output", 1, 0, 'o' },
		{ "any-tokenizer", 0, 0, O_ANYTOK },
		{ "quiet", 0, 0, 'q' },	    { "verbose", 0, 0, 'v' },	{ "help", 0, 0, 'h' },
		{ "version", 0, 0, 'V' },   { NULL, 0, NULL, 0 },
	};
	struct ctx c = { .k = 1, .n = 20, .batch = 32 };
	ifg_sampler_init(&c.smp);
	const char *model = NULL, *tokenizer = NULL, *out = NULL, **carry = NULL, *radmodel = NULL;
	const char *radopt = NULL;	/* a RAD setting given, for the check below */
	double beta = 10;
	long radk = 20;
	bool radprompt = false;
	struct ifg_textin_opts to = { .format = IFG_TEXTIN_JSONL, .text = "prompt" };
	int nocache = 0, any_tok = 0, ch;
	const struct ifg_cli_std std = { usage, &out, NULL };
	while ((ch = getopt_long(argc, argv, "m:t:k:n:p:T:s:b:c:j:o:qv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'm': model = optarg; break;
		case 't': tokenizer = optarg; break;
		case 'k': c.k = ifg_opt_long("-k", optarg, 1, 1 << 20); break;
		case 'n': c.n = ifg_opt_long("-n", optarg, 0, 1 << 20); break;
		case 'p': c.smp.top_p = ifg_opt_double("-p", optarg, 0, 1); break;
		case O_TOPK: c.smp.top_k = ifg_opt_long("--top-k", optarg, 0, 1 << 30); break;
		case 'T': c.smp.temperature = ifg_opt_double("-T", optarg, 0, 1e6); break;
		case 's': c.seed = (uint64_t)ifg_opt_long("-s", optarg, 0, INT64_MAX); break;
		case 'b': c.batch = ifg_opt_long("-b", optarg, 1, 1 << 16); break;
		case O_TEXT: to.text = optarg; break;
		case O_ID: to.id = optarg; break;
		case 'c':
			carry = ifg_xrealloc(carry, to.ncarry + 1, sizeof *carry);
			carry[to.ncarry++] = optarg;
			to.carry = carry;
			break;
		case O_RAD: radmodel = optarg; break;
		case O_RADBETA:
			beta = ifg_opt_double("--rad-beta", optarg, 0, 1e6), radopt = "--rad-beta";
			break;
		case O_RADK: radk = ifg_opt_long("--rad-k", optarg, 1, 1 << 20), radopt = "--rad-k"; break;
		case O_RADPROMPT: radprompt = true, radopt = "--rad-prompt"; break;
		case O_NOCACHE: nocache = 1; break;
		case O_ANYTOK: any_tok = 1; break;
		case 'j': ifg_gpt_set_threads((int)ifg_opt_long("-j", optarg, 1, 1024)); break;
		default: ifg_cli_std_option(&std, ch, optarg);
		}
	}
	if (!model || !tokenizer)
		ifg_usage_error("a model (-m) and a tokenizer (-t) are required");
	if (radopt && !radmodel)
		ifg_usage_error("%s needs a reward classifier (--rad-model)", radopt);
	if (!(c.m = ifg_gpt_load(model)))
		ifg_die_err("cannot load model '%s'", model);
	if (!(c.bpe = ifg_bpe_load(tokenizer)))
		ifg_die_err("cannot load tokenizer '%s'", tokenizer);
	const struct ifg_gpt_config *cfg = ifg_gpt_cfg(c.m);
	if (ifg_bpe_vocab_size(c.bpe) > (uint32_t)cfg->vocab_size)
		ifg_die("tokenizer '%s' has %u tokens, more than the vocabulary of model '%s' (%d)",
			tokenizer, ifg_bpe_vocab_size(c.bpe), model, cfg->vocab_size);
	struct ifg_tok_id tid;	/* then the one it was trained with, if it says */
	ifg_tok_id_from_bpe(c.bpe, &tid);
	char what[64 + 4096];
	snprintf(what, sizeof what, "-t '%s'", tokenizer);
	if (!any_tok && ifg_ckpt_tok_check(model, &tid, what) < 0)
		ifg_die("%s", ifg_err());
	if (c.n >= cfg->n_ctx)
		ifg_die("-n %ld leaves no room for a prompt in the model's context (%d)", c.n,
			cfg->n_ctx);
	c.ctx_left = cfg->n_ctx - (int)c.n;
	struct ifg_toxclf clf = { 0 };
	struct ifg_rad rad;
	if (radmodel) {
		if (ifg_toxclf_load(&clf, radmodel) < 0)
			ifg_die("cannot load the reward classifier: %s", ifg_err());
		ifg_rad_init(&rad, &clf, c.bpe, beta);
		rad.k = radk;
		rad.prompt = radprompt;
		c.rad = &rad;
	}
	c.inf = nocache ? NULL : ifg_gpt_infer_new(c.m);
	msgpack_sbuffer_init(&c.sb);
	msgpack_packer_init(&c.pk, &c.sb, msgpack_sbuffer_write);
	c.g = ifg_xcalloc(c.batch, sizeof *c.g);
	c.slot = ifg_xcalloc(c.batch, sizeof *c.slot);
	ifg_promptq_init(&c.pq, (int)c.k);
	for (long i = 0; i < c.batch; i++)
		c.g[i].out = ifg_xmalloc(c.n + 1, sizeof(uint32_t));
	if (!(c.out = ifg_out_open(out, IFG_COMPRESS_AUTO, 0)))
		ifg_die("%s", ifg_err());
	double t0 = ifg_now();
	int nin = argc - optind;
	for (int i = 0; i < (nin ? nin : 1); i++) {
		const char *path = nin ? argv[optind + i] : NULL;
		int recs = ifg_in_is_records(path); /* else JSONL */
		if (recs < 0)
			ifg_die("%s", ifg_err());
		if (recs)
			read_tokens(&c, path);
		else
			read_jsonl(&c, path, &to);
	}
	while (c.pq.pending > 0)
		run_batch(&c, c.pq.pending < c.batch ? c.pq.pending : c.batch);
	if (ifg_out_close(c.out) < 0)
		ifg_die("%s", ifg_err());
	ifg_progress_done();
	double dt = ifg_now() - t0;
	ifg_info("%llu prompts, %llu samples, %llu tokens in %.2f s (%.1f tokens/s)",
		 (unsigned long long)c.prompts, (unsigned long long)c.samples,
		 (unsigned long long)c.tokens, dt, dt > 0 ? c.tokens / dt : 0.0);
	if (c.rad) {
		ifg_info("RAD: %llu steps, %llu candidates scored", (unsigned long long)rad.steps,
			 (unsigned long long)rad.scored);
		ifg_rad_release(&rad);
		ifg_toxclf_release(&clf);
	}
	for (long i = 0; i < c.batch; i++)
		free(c.g[i].out);
	ifg_promptq_release(&c.pq, free_prompt);
	free(c.g), free(c.slot), free(carry);
	ifg_bytes_release(&c.text);
	msgpack_sbuffer_destroy(&c.sb);
	ifg_sampler_release(&c.smp);
	ifg_gpt_infer_free(c.inf);
	ifg_bpe_free(c.bpe);
	ifg_gpt_free(c.m);
	return 0;
}
