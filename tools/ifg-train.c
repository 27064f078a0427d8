/* ifg-train: train or fine-tune a GPT-2 on token records, with the IF-Guide
 * penalty on masked tokens (doc/method.md §7).
 *
 * Reads tokens streams (ifg-tokenize, or ifg-select's output with masks) into
 * memory and writes a checkpoint directory: model.safetensors + config.json
 * (Hugging Face GPT-2), and train-state.safetensors (parameters, AdamW
 * state, step) from which --resume continues bit-identically.  Per optimizer
 * step of `batch` records, each target token weighs 1, or -lambda where its
 * record's mask selects it, and the weighted NLL sum is divided by the
 * number of label positions of the step (common/model/trainstep.h; the train
 * state and the settings a resume must share: common/model/trainstate.h).
 *
 * With --dpo it reads preference pairs instead (kind "pairs") and fine-tunes
 * the --init checkpoint by Direct Preference Optimization against a frozen
 * reference (--init, or --ref), whose log-probabilities are computed once
 * before the first step (common/model/dpo.h); a step of `batch` pairs minimises
 * their mean DPO loss. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "dpo.h"
#include "gpt.h"
#include "modeltok.h"
#include "optim.h"
#include "safetensors.h"
#include "stream.h"
#include "tokdata.h"
#include "trainstate.h"
#include "trainstep.h"
#include "util.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ifg-train [-qv] -o dir [--init ckpt [--any-tokenizer]] [--resume]\n"
		"                 [--arch A] [--layers N] [--heads N] [--kv-heads N] [--embd N]\n"
		"                 [--ff N] [--ctx N] [--vocab N] [--tied | --untied]\n"
		"                 [-b batch] [-m micro-batch]\n"
		"                 [-n steps | -e epochs | --tokens N] [--lr X] [--min-lr X]\n"
		"                 [--schedule S] [--warmup N | --warmup-ratio X]\n"
		"                 [--weight-decay X] [--beta1 X] [--beta2 X] [--adam-eps X]\n"
		"                 [--clip X] [-l lambda] [-s seed] [--no-shuffle] [-j threads]\n"
		"                 [--valid file] [--eval-every N]\n"
		"                 [--save-every N] [--log file] [--dump-grads file] [file ...]\n"
		"       ifg-train --dpo [-qv] -o dir --init ckpt [--ref ckpt] [--beta X]\n"
		"                 [options as above] [file ...]\n"
		"Train a language model (GPT-2, GPT-NeoX/Pythia or Llama) on token records;\n"
		"masked tokens are penalised (IF-Guide).\n"
		"With --dpo, fine-tune on preference pairs (Direct Preference Optimization).\n"
		"  -o, --output DIR      checkpoint directory (created)\n"
		"      --init CKPT       fine-tune from this checkpoint (else from scratch)\n"
		"      --any-tokenizer   --init, --ref: train even when the checkpoint was\n"
		"                        trained with another tokenizer than the data's\n"
		"      --resume          continue DIR/train-state.safetensors if present\n"
		"      --arch A          new model's family: gpt2 (default), gpt_neox, llama\n"
		"      --layers, --heads, --embd, --ctx, --vocab N   new model (4, 4, 256,\n"
		"                        longest record, tokenizer's vocabulary)\n"
		"      --kv-heads N      llama: key/value heads, dividing --heads (= heads)\n"
		"      --ff N            MLP width (4 embd; llama 8/3 embd rounded up to 64)\n"
		"      --tied, --untied  output layer shared with the embedding or not\n"
		"                        (gpt2 tied only; gpt_neox untied, llama tied)\n"
		"  -b, --batch N         records per optimizer step (8)\n"
		"  -m, --micro-batch N   records per forward pass; divides batch (<= 8)\n"
		"  -n, --steps N         optimizer steps (default: from --epochs)\n"
		"  -e, --epochs X        passes over the data (1)\n"
		"      --tokens N        steps from a token budget: N / (batch x mean tokens)\n"
		"      --lr X            peak learning rate (6e-4)\n"
		"      --min-lr X        learning rate at the end of the decay (0)\n"
		"      --schedule S      cosine (default), linear or constant\n"
		"      --warmup N        warmup steps (default: --warmup-ratio)\n"
		"      --warmup-ratio X  warmup as a fraction of the steps (0.01)\n"
		"      --weight-decay X  AdamW weight decay of matrices (4e-4)\n"
		"      --beta1 X, --beta2 X, --adam-eps X   AdamW (0.9, 0.95, 1e-8)\n"
		"      --clip X          clip gradients to this global norm; 0: off (1)\n"
		"  -l, --lambda X        penalty weight of masked tokens (1)\n"
		"  -s, --seed N          initialisation and shuffling seed (1004)\n"
		"      --no-shuffle      records in input order every epoch\n"
		"  -j, --threads N       BLAS threads (online CPUs)\n"
		"      --valid FILE      held-out tokens: validation loss\n"
		"      --eval-every N    validation every N steps (0: at the end only)\n"
		"      --save-every N    checkpoint and train state every N steps (0: end)\n"
		"      --log FILE        JSON lines: one per step and per validation\n"
		"      --dump-grads FILE write the first step's gradients and exit\n"
		"      --dpo             inputs are preference pairs (ifg-tokenize --chosen):\n"
		"                        minimise the DPO loss; needs --init\n"
		"      --ref CKPT        the frozen DPO reference model (default: --init)\n"
		"      --beta X          DPO's beta, the strength of the KL anchor (0.1)\n"
		"  -q, --quiet, -v, --verbose, --help, --version\n");
}

struct opts {
	const char *out, *init, *valid, *log, *dump, *ref;
	int resume, shuffle, dpo, any_tok;
	int tied;		/* --tied 1, --untied 0, neither -1 */
	int arch_set;
	double beta;
	struct ifg_gpt_config cfg;
	struct ifg_train_hp hp;
	long steps, warmup, eval_every, save_every, threads;
	double epochs, warmup_ratio, tokens;
	unsigned long long seed;
};

enum { O_INIT = 256, O_RESUME, O_LAYERS, O_HEADS, O_EMBD, O_CTX, O_VOCAB, O_LR, O_MINLR,
       O_SCHED, O_WARMUP, O_WRATIO, O_WD, O_B1, O_B2, O_EPS, O_CLIP, O_NOSHUF, O_VALID,
       O_EVERY, O_SAVE, O_LOG, O_DUMP, O_DPO, O_REF, O_BETA, O_TOKENS, O_ANYTOK,
       O_ARCH, O_KVHEADS, O_FF, O_TIED, O_UNTIED };

/* The options into *o; returns the index of the first file argument. */
static int parse_options(struct opts *o, int argc, char **argv)
{
	*o = (struct opts){ .shuffle = 1, .tied = -1, .steps = -1, .warmup = -1, .epochs = -1,
			    .warmup_ratio = 0.01, .seed = 1004, .beta = 0.1,
			    .hp = { .batch = 8, .lambda = 1.0, .clip = 1.0,
				    .adam = { 0.9f, 0.95f, 1e-8f, 4e-4f },
				    .sched = { IFG_SCHED_COSINE, 6e-4, 0, 0, 0 } } };
	o->threads = sysconf(_SC_NPROCESSORS_ONLN) > 0 ? sysconf(_SC_NPROCESSORS_ONLN) : 1;
	static const struct option lo[] = {
		{ "output", 1, 0, 'o' },	{ "init", 1, 0, O_INIT },
		{ "resume", 0, 0, O_RESUME },	{ "layers", 1, 0, O_LAYERS },
		{ "heads", 1, 0, O_HEADS },	{ "embd", 1, 0, O_EMBD },
		{ "ctx", 1, 0, O_CTX },		{ "vocab", 1, 0, O_VOCAB },
		{ "batch", 1, 0, 'b' },		{ "micro-batch", 1, 0, 'm' },
		{ "steps", 1, 0, 'n' },		{ "epochs", 1, 0, 'e' },
		{ "lr", 1, 0, O_LR },		{ "min-lr", 1, 0, O_MINLR },
		{ "schedule", 1, 0, O_SCHED },	{ "warmup", 1, 0, O_WARMUP },
		{ "warmup-ratio", 1, 0, O_WRATIO }, { "weight-decay", 1, 0, O_WD },
		{ "beta1", 1, 0, O_B1 },	{ "beta2", 1, 0, O_B2 },
		{ "adam-eps", 1, 0, O_EPS },	{ "clip", 1, 0, O_CLIP },
		{ "lambda", 1, 0, 'l' },	{ "seed", 1, 0, 's' },
		{ "no-shuffle", 0, 0, O_NOSHUF }, { "threads", 1, 0, 'j' },
		{ "valid", 1, 0, O_VALID },	{ "eval-every", 1, 0, O_EVERY },
		{ "save-every", 1, 0, O_SAVE },	{ "log", 1, 0, O_LOG },
		{ "dump-grads", 1, 0, O_DUMP },	{ "dpo", 0, 0, O_DPO },
		{ "ref", 1, 0, O_REF },		{ "beta", 1, 0, O_BETA },
		{ "tokens", 1, 0, O_TOKENS },	{ "any-tokenizer", 0, 0, O_ANYTOK },
		{ "arch", 1, 0, O_ARCH },	{ "kv-heads", 1, 0, O_KVHEADS },
		{ "ff", 1, 0, O_FF },		{ "tied", 0, 0, O_TIED },
		{ "untied", 0, 0, O_UNTIED },
		{ "quiet", 0, 0, 'q' },
		{ "verbose", 0, 0, 'v' },	{ "help", 0, 0, 'h' },
		{ "version", 0, 0, 'V' },	{ 0, 0, 0, 0 }
	};
	int c;
	const struct ifg_cli_std std = { usage, &o->out, NULL };
	while ((c = getopt_long(argc, argv, "o:b:m:n:e:l:s:j:qv", lo, NULL)) != -1) {
		switch (c) {
		case O_INIT: o->init = optarg; break;
		case O_RESUME: o->resume = 1; break;
		case O_ANYTOK: o->any_tok = 1; break;
		case O_ARCH: {
			int a = ifg_arch_parse(optarg);
			if (a < 0)
				ifg_usage_error("--arch: '%s' is not gpt2, gpt_neox or llama", optarg);
			o->cfg.arch = (enum ifg_arch)a;
			o->arch_set = 1;
			break;
		}
		case O_KVHEADS: o->cfg.n_kv_head = (int)ifg_opt_long("--kv-heads", optarg, 1, 1024); break;
		case O_FF: o->cfg.d_ff = (int)ifg_opt_long("--ff", optarg, 1, 1 << 20); break;
		case O_TIED: o->tied = 1; break;
		case O_UNTIED: o->tied = 0; break;
		case O_LAYERS: o->cfg.n_layer = (int)ifg_opt_long("--layers", optarg, 1, 1024); break;
		case O_HEADS: o->cfg.n_head = (int)ifg_opt_long("--heads", optarg, 1, 1024); break;
		case O_EMBD: o->cfg.n_embd = (int)ifg_opt_long("--embd", optarg, 1, 65536); break;
		case O_CTX: o->cfg.n_ctx = (int)ifg_opt_long("--ctx", optarg, 1, 65536); break;
		case O_VOCAB: o->cfg.vocab_size = (int)ifg_opt_long("--vocab", optarg, 1, IFG_MAX_VOCAB); break;
		case 'b': o->hp.batch = ifg_opt_long("--batch", optarg, 1, 1 << 20); break;
		case 'm': o->hp.micro = ifg_opt_long("--micro-batch", optarg, 1, 64); break;
		case 'n': o->steps = ifg_opt_long("--steps", optarg, 0, 1L << 40); break;
		case 'e': o->epochs = ifg_opt_double("--epochs", optarg, 1e-9, 1e6); break;
		case O_LR: o->hp.sched.lr = ifg_opt_double("--lr", optarg, 0, 10); break;
		case O_MINLR: o->hp.sched.min_lr = ifg_opt_double("--min-lr", optarg, 0, 10); break;
		case O_SCHED:
			if (ifg_sched_parse(optarg) < 0)
				ifg_usage_error("--schedule: '%s' is not cosine, linear or constant",
						optarg);
			o->hp.sched.kind = ifg_sched_parse(optarg);
			break;
		case O_WARMUP: o->warmup = ifg_opt_long("--warmup", optarg, 0, 1L << 40); break;
		case O_WRATIO: o->warmup_ratio = ifg_opt_double("--warmup-ratio", optarg, 0, 1); break;
		case O_WD:
			o->hp.adam.weight_decay = (float)ifg_opt_double("--weight-decay", optarg, 0, 10);
			break;
		case O_B1: o->hp.adam.beta1 = (float)ifg_opt_double("--beta1", optarg, 0, 0.999999); break;
		case O_B2: o->hp.adam.beta2 = (float)ifg_opt_double("--beta2", optarg, 0, 0.999999999); break;
		case O_EPS: o->hp.adam.eps = (float)ifg_opt_double("--adam-eps", optarg, 1e-30, 1); break;
		case O_CLIP: o->hp.clip = ifg_opt_double("--clip", optarg, 0, 1e30); break;
		case 'l': o->hp.lambda = ifg_opt_double("--lambda", optarg, 0, 1e6); break;
		case 's': o->seed = (unsigned long long)ifg_opt_long("--seed", optarg, 0, LONG_MAX); break;
		case O_NOSHUF: o->shuffle = 0; break;
		case 'j': o->threads = ifg_opt_long("--threads", optarg, 1, 1024); break;
		case O_VALID: o->valid = optarg; break;
		case O_EVERY: o->eval_every = ifg_opt_long("--eval-every", optarg, 0, 1L << 40); break;
		case O_SAVE: o->save_every = ifg_opt_long("--save-every", optarg, 0, 1L << 40); break;
		case O_LOG: o->log = optarg; break;
		case O_DUMP: o->dump = optarg; break;
		case O_DPO: o->dpo = 1; break;
		case O_REF: o->ref = optarg; break;
		case O_TOKENS: o->tokens = ifg_opt_double("--tokens", optarg, 1, 1e18); break;
		case O_BETA: o->beta = ifg_opt_double("--beta", optarg, 1e-6, 1e6); break;
		default: ifg_cli_std_option(&std, c, optarg);
		}
	}
	if (!o->out && !o->dump)
		ifg_usage_error("an output directory is required (-o DIR)");
	if ((o->steps >= 0) + (o->epochs > 0) + (o->tokens > 0) > 1)
		ifg_usage_error("--steps, --epochs and --tokens exclude each other");
	const struct ifg_gpt_config *g = &o->cfg;
	if (o->init && (g->n_layer || g->n_head || g->n_embd || g->n_ctx || g->vocab_size ||
			o->arch_set || g->n_kv_head || g->d_ff || o->tied >= 0))
		ifg_usage_error("--init takes the model's shape from the checkpoint");
	struct ifg_train_hp *h = &o->hp;
	if (!h->micro) { /* the largest divisor of batch up to 8 */
		for (h->micro = h->batch < 8 ? h->batch : 8; h->batch % h->micro; h->micro--)
			;
	}
	if (h->batch % h->micro)
		ifg_usage_error("--micro-batch %ld does not divide --batch %ld", h->micro, h->batch);
	if (o->dpo && !o->init)
		ifg_usage_error("--dpo fine-tunes a checkpoint: --init is required");
	if (o->dpo && o->valid)
		ifg_usage_error("--valid takes token records: not with --dpo");
	if (!o->dpo && o->ref)
		ifg_usage_error("--ref is the reference model of --dpo");
	return optind;
}

/* The data: token records, or with --dpo preference pairs, whose count,
 * identity, tokenizer, longest sequence and largest id d takes too (for
 * the checks and the record loop); and the --valid records. */
static void load_data(const struct opts *o, const char *const *files, int n, struct ifg_tokdata *d,
		      struct ifg_tokdata *v, struct ifg_pairdata *pd)
{
	if (o->dpo) {
		if (ifg_pairdata_load(pd, files, n) < 0)
			ifg_die_err("reading pairs");
		if (pd->n == 0)
			ifg_die("no pair records in the input");
		d->n = pd->n;
		d->max_len = pd->max_len;
		d->max_id = pd->max_id;
		d->vocab_size = pd->vocab_size;
		d->tokenizer = pd->tokenizer;
		d->ntok = pd->ntok;
		memcpy(d->sha256, pd->sha256, sizeof d->sha256);
	} else {
		if (ifg_tokdata_load(d, files, n) < 0)
			ifg_die_err("reading tokens");
		if (d->n == 0)
			ifg_die("no token records in the input");
	}
	if (o->valid && ifg_tokdata_load(v, &o->valid, 1) < 0)
		ifg_die_err("--valid");
	if (o->valid && v->tokenizer && d->tokenizer && strcmp(v->tokenizer, d->tokenizer))
		ifg_die("--valid: made with another tokenizer than the training data");
}

/* The model: --init's (its identity in init_sha), or a new one of the
 * options' shape (by default the data's context and vocabulary) from the
 * seed; checked against the data.  *T: the longest sequence. */
static struct ifg_gpt *make_model(struct opts *o, const struct ifg_tokdata *d,
				  const struct ifg_tokdata *v, char *init_sha, uint32_t *T)
{
	struct ifg_gpt *m;
	struct ifg_tok_id data_tok;	/* every input's (tokdata checked they agree) */
	char what[600];
	snprintf(what, sizeof what, d->nfiles ? "'%.580s'" : "the pairs", d->nfiles ? d->files[0] : "");
	if (o->init && !o->any_tok && ifg_tok_id_from_json(d->tokenizer, &data_tok) == 1 &&
	    ifg_ckpt_tok_check(o->init, &data_tok, what) < 0)
		ifg_die("--init: %s", ifg_err());
	if (o->init) {
		if (!(m = ifg_gpt_load(o->init)))
			ifg_die_err("--init");
		struct ifg_model_id id;
		ifg_gpt_identity(m, &id);
		snprintf(init_sha, 65, "%s", id.sha256);
		o->cfg = *ifg_gpt_cfg(m);
	} else {
		struct ifg_gpt_config *g = &o->cfg;
		g->n_layer = g->n_layer ? g->n_layer : 4;
		g->n_head = g->n_head ? g->n_head : 4;
		g->n_embd = g->n_embd ? g->n_embd : 256;
		if (!g->n_ctx)
			g->n_ctx = (int)(v->max_len > d->max_len ? v->max_len : d->max_len);
		if (!g->vocab_size)
			g->vocab_size = d->vocab_size > 0 ? (int)d->vocab_size : (int)d->max_id + 1;
		/* Pythia's parallel residual and untied output; Llama tied, as
		 * Llama-3.2-1B */
		g->parallel_residual = g->arch == IFG_ARCH_NEOX;
		g->untied = o->tied >= 0 ? !o->tied : g->arch == IFG_ARCH_NEOX;
		if (!(m = ifg_gpt_new(g)))
			ifg_die_err("model");
		ifg_gpt_init_weights(m, o->seed);
		o->cfg = *ifg_gpt_cfg(m); /* with the family's defaults filled in */
	}
	const struct ifg_gpt_config *cfg = ifg_gpt_cfg(m);
	if (!o->dpo && ifg_tokdata_fits(d, cfg->n_ctx, cfg->vocab_size) < 0)
		ifg_die("%s", ifg_err());
	if (o->valid && ifg_tokdata_fits(v, cfg->n_ctx, cfg->vocab_size) < 0)
		ifg_die("--valid: %s", ifg_err());
	if (d->max_id >= (uint32_t)cfg->vocab_size || (o->valid && v->max_id >= (uint32_t)cfg->vocab_size))
		ifg_die("token id %u is outside the model's vocabulary (%d)",
			d->max_id > v->max_id ? d->max_id : v->max_id, cfg->vocab_size);
	*T = d->max_len > v->max_len ? d->max_len : v->max_len;
	if (*T > (uint32_t)cfg->n_ctx)
		ifg_die("a record has %u tokens, more than the model's context %d (use ifg-tokenize "
			"--block)", *T, cfg->n_ctx);
	return m;
}

/* The number of steps (from --steps, --tokens or --epochs) and of warmup
 * steps, into the schedule. */
static void plan_steps(struct opts *o, const struct ifg_tokdata *d, const struct ifg_pairdata *pd)
{
	if (o->steps < 0 && o->tokens > 0) {
		/* tokens a record (a pair: both its sequences, the prompt twice) */
		double seq = (double)d->ntok;
		for (size_t i = 0; o->dpo && i < pd->n; i++)
			seq += pd->np[i];
		o->steps = (long)ceil(o->tokens / ((double)o->hp.batch * (seq / (double)d->n)));
	}
	if (o->steps < 0)
		o->steps = (long)ceil((o->epochs > 0 ? o->epochs : 1.0) * (double)d->n /
				      (double)o->hp.batch);
	if (o->warmup < 0)
		o->warmup = (long)ceil(o->warmup_ratio * (double)o->steps);
	o->hp.sched.warmup = o->warmup;
	o->hp.sched.total = o->steps;
}

/* --dpo: the pairs' tokenizer must be the model's and the reference's (where
 * their checkpoints say), their vocabularies equal; then the reference
 * log-probabilities of every pair, cached in x. */
static void dpo_reference(const struct opts *o, const struct ifg_pairdata *pd,
			  const struct ifg_gpt *m, struct ifg_dpo *x, char *ref_sha)
{
	const char *paths[2] = { o->init, o->ref ? o->ref : o->init };
	struct ifg_tok_id pairs_tok;	/* --init was checked with the data */
	if (o->ref && !o->any_tok && ifg_tok_id_from_json(pd->tokenizer, &pairs_tok) == 1 &&
	    ifg_ckpt_tok_check(o->ref, &pairs_tok, "the pairs") < 0)
		ifg_die("--ref: %s", ifg_err());
	double t0 = ifg_now();
	struct ifg_gpt *ref = ifg_gpt_load(paths[1]);
	if (!ref)
		ifg_die_err("--ref");
	const struct ifg_gpt_config *rc = ifg_gpt_cfg(ref), *mc = ifg_gpt_cfg(m);
	if (rc->vocab_size != mc->vocab_size)
		ifg_die("--ref: '%s' has a vocabulary of %d tokens, the model %d", paths[1],
			rc->vocab_size, mc->vocab_size);
	if (pd->max_len > (uint32_t)rc->n_ctx)
		ifg_die("--ref: a pair has a sequence of %u tokens, more than the reference's "
			"context %d", pd->max_len, rc->n_ctx);
	struct ifg_model_id id;
	ifg_gpt_identity(ref, &id);
	snprintf(ref_sha, 65, "%s", id.sha256);
	if (ifg_dpo_reference(x, ref) < 0)
		ifg_die_err("the reference log-probabilities");
	ifg_gpt_free(ref);
	ifg_info("reference log-probabilities of %zu pairs in %.1f s", pd->n, ifg_now() - t0);
}

/* -o: the train state's path (NULL without -o), and with --resume the
 * state it holds loaded into ts and *step; the directory is created. */
static char *open_output(const struct opts *o, struct ifg_trainstep *ts, const char *settings,
			 long *step)
{
	if (!o->out)
		return NULL;
	size_t n = strlen(o->out) + 32;
	char *path = ifg_xmalloc(n, 1);
	snprintf(path, n, "%s/train-state.safetensors", o->out);
	if (o->resume && ifg_out_remove_stale(o->out) < 0)
		ifg_die_err("--resume");
	int got = o->resume ? ifg_trainstate_load(path, ts->m, ts->mv, step, settings) : 0;
	if (got < 0)
		ifg_die("--resume: %s", ifg_err());
	if (got)
		ifg_info("resuming at step %ld of %ld", *step, o->steps);
	if (ifg_out_mkdir(o->out) < 0)
		ifg_die_err("-o");
	return path;
}

/* --log, continued after the resumed step (later lines, logged before a
 * kill, are cut off), or NULL. */
static struct ifg_out *open_log(const struct opts *o, long step)
{
	struct ifg_out *log = NULL;
	bool resumed = o->resume && step > 0;
	if (o->log && resumed && ifg_trainlog_cut(o->log, step) < 0)
		ifg_die("--log: %s", ifg_err());
	if (o->log && !(log = ifg_out_open_log(o->log, resumed)))
		ifg_die_err("--log");
	return log;
}

/* The train state and the model after `step` steps. */
static void save(const struct opts *o, const struct ifg_trainstep *ts, const char *state_path,
		 const char *settings, const char *tokenizer, long step)
{
	if (ifg_trainstate_save(state_path, ts->m, ts->mv, step, settings) < 0)
		ifg_die_err("saving the train state");
	char num[32];
	snprintf(num, sizeof num, "%ld", step);
	const char *meta[] = { "ifg.steps", num, tokenizer ? "ifg.tokenizer" : NULL, tokenizer,
			       NULL };
	if (ifg_gpt_save(ts->m, o->out, meta) < 0)
		ifg_die_err("saving the model to '%s'", o->out);
}

/* --dump-grads: the first step's gradients (before clipping), and the
 * logits and NLL of its last micro-batch, for comparison with the PyTorch
 * reference. */
static void dump_grads(const char *path, struct ifg_trainstep *ts, const struct ifg_step_stats *st)
{
	struct ifg_gpt *m = ts->m;
	float *g = ifg_xmalloc(ts->P, sizeof(float));
	memcpy(g, ifg_gpt_grad_mem(m), ts->P * sizeof(float));
	if (ifg_trainstep_refresh(ts) < 0)
		ifg_die_err("forward");
	struct ifg_st_writer *w = ifg_st_writer_new();
	for (int i = 0; i < ifg_gpt_ntensors(m); i++) {
		const struct ifg_gpt_tensor *t = ifg_gpt_tensor(m, i);
		ifg_st_add_f32(w, t->name, t->ndim, t->shape, g + t->offset);
	}
	int64_t ls[3] = { ts->rows, ts->cols, ifg_gpt_cfg(m)->vocab_size }, ns[2] = { ts->rows, ts->cols };
	ifg_st_add_f32(w, "logits", 3, ls, ifg_gpt_logits(m));
	ifg_st_add_f32(w, "nll", 2, ns, ifg_gpt_nll(m));
	char num[40];
	snprintf(num, sizeof num, "%.17g", st->objective);
	ifg_st_set_meta(w, "loss", num);
	if (ts->dpo) {
		const struct ifg_dpo_stats *ds = &st->dpo;
		snprintf(num, sizeof num, "%.17g", ds->margin / ds->pairs);
		ifg_st_set_meta(w, "reward_margin", num);
		snprintf(num, sizeof num, "%.17g", (double)ds->correct / ds->pairs);
		ifg_st_set_meta(w, "reward_acc", num);
	}
	if (ifg_st_writer_write(w, path) < 0)
		ifg_die_err("--dump-grads");
	ifg_st_writer_free(w);
	free(g);
}

static double validate(struct ifg_trainstep *ts, const struct ifg_tokdata *v)
{
	double loss;
	if (ifg_trainstep_eval(ts, v, &loss) < 0)
		ifg_die_err("validation");
	return loss;
}

static void format_time(char *buf, size_t n, double s)
{
	if (!(s >= 0) || s > 1e7)
		snprintf(buf, n, "?");
	else if (s >= 3600)
		snprintf(buf, n, "%dh%02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
	else
		snprintf(buf, n, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
}

/* Every line of the log is checked (a full disk stops the run). */
#define log_put(log, ...)                                                                  \
	do {                                                                               \
		if (ifg_out_printf(log, __VA_ARGS__) < 0)                                  \
			ifg_die("--log: %s", ifg_err());                                   \
	} while (0)

/* The log line and the progress line of a step; el: seconds since the
 * first step of this run (step0 the step it started at). */
static void report_step(struct ifg_out *log, const struct opts *o, long step, long step0,
			const struct ifg_step_stats *st, uint64_t tokens_done, double el)
{
	double tps = tokens_done / (el > 0 ? el : 1e-9);
	char left[32];
	format_time(left, sizeof left, el / (step - step0) * (o->steps - step));
	if (o->dpo) {
		const struct ifg_dpo_stats *ds = &st->dpo;
		double n = (double)ds->pairs;
		if (log)
			log_put(log, "{\"step\":%ld,\"loss\":%.6f,\"reward_margin\":%.6f,"
				"\"reward_acc\":%.4f,\"reward_chosen\":%.6f,"
				"\"reward_rejected\":%.6f,\"lr\":%.6g,\"grad_norm\":%.6g,"
				"\"tokens\":%lld,\"tok_s\":%.1f,\"time\":%.3f}\n", step, st->loss,
				ds->margin / n, ds->correct / n, ds->chosen / n, ds->rejected / n,
				st->lr, st->grad_norm, (long long)st->labels, tps, el);
		ifg_progress("step %ld/%ld  loss %.4f  margin %.4f  acc %.2f  lr %.2e  "
			     "%.0f tok/s  %s left", step, o->steps, st->loss, ds->margin / n,
			     ds->correct / n, st->lr, tps, left);
	} else {
		if (log)
			log_put(log, "{\"step\":%ld,\"loss\":%.6f,\"objective\":%.6f,"
				"\"lr\":%.6g,\"grad_norm\":%.6g,\"tokens\":%lld,"
				"\"tok_s\":%.1f,\"time\":%.3f}\n", step, st->loss, st->objective,
				st->lr, st->grad_norm, (long long)st->labels, tps, el);
		ifg_progress("step %ld/%ld  loss %.4f  lr %.2e  %.0f tok/s  %s left", step,
			     o->steps, st->loss, st->lr, tps, left);
	}
}

/* -v: the run in one line. */
static void summary(const struct opts *o, long step, uint64_t tokens_done, double loss,
		    double vloss, const struct ifg_dpo_stats *ds, double el)
{
	if (ifg_verbosity <= 0)
		return;
	char vs[48] = "";
	if (o->valid)
		snprintf(vs, sizeof vs, ", valid loss %.4f", vloss);
	if (o->dpo && ds->pairs)
		snprintf(vs, sizeof vs, ", reward margin %.4f, accuracy %.3f",
			 ds->margin / ds->pairs, (double)ds->correct / ds->pairs);
	fprintf(stderr, "ifg-train: %ld steps, %llu tokens, %sloss %.4f%s, %.0f tok/s, %.1f s\n",
		step, (unsigned long long)tokens_done, o->dpo ? "DPO " : "", loss, vs,
		tokens_done / (el > 0 ? el : 1e-9), el);
}

int main(int argc, char **argv)
{
	ifg_cli_init("ifg-train");
	struct opts o;
	int first = parse_options(&o, argc, argv);
	ifg_gpt_set_threads((int)o.threads);
	struct ifg_tokdata d = { 0 }, v = { 0 };
	struct ifg_pairdata pd = { 0 };
	load_data(&o, (const char *const *)argv + first, argc - first, &d, &v, &pd);
	char init_sha[65] = "scratch", ref_sha[65] = "";
	uint32_t T;
	struct ifg_gpt *m = make_model(&o, &d, &v, init_sha, &T);
	plan_steps(&o, &d, &pd);
	if (ifg_gpt_reserve(m, (int)(o.dpo ? 2 * o.hp.micro : o.hp.micro), (int)T, IFG_GPT_TRAIN) < 0)
		ifg_die_err("model");
	struct ifg_dpo x = { 0 };
	if (o.dpo) {
		ifg_dpo_init(&x, &pd, o.beta, (int)o.hp.micro);
		dpo_reference(&o, &pd, m, &x, ref_sha);
	}
	struct ifg_trainstep ts;
	ifg_trainstep_init(&ts, m, &o.hp, o.dpo ? NULL : &d, &x, (int)T);
	const struct ifg_train_fingerprint fp = {
		.cfg = &o.cfg, .hp = &o.hp, .init = init_sha, .data = d.sha256, .seed = o.seed,
		.shuffle = o.shuffle, .threads = o.threads, .dpo = o.dpo, .beta = o.beta,
		.ref = ref_sha
	};
	char *settings = ifg_trainstate_settings(&fp);
	if (!settings)
		ifg_die_err("the settings");
	long step = 0;
	char *state_path = open_output(&o, &ts, settings, &step);
	struct ifg_out *log = open_log(&o, step);

	struct ifg_order ord;
	ifg_order_init(&ord, d.n, o.seed, o.shuffle);
	if (o.dpo)
		ifg_info("%zu pairs, %llu tokens, %zu parameters, %ld steps of %ld pairs x 2 x %u, "
			 "beta %g", d.n, (unsigned long long)d.ntok, ts.P, o.steps, o.hp.batch, T,
			 o.beta);
	else
		ifg_info("%zu records, %llu tokens (%llu masked), %zu parameters, %ld steps of %ld "
			 "x %u", d.n, (unsigned long long)d.ntok, (unsigned long long)d.nmasked, ts.P,
			 o.steps, o.hp.batch, T);

	/* the record loop: a step of batch records (pairs) in the epochs' order */
	double t0 = ifg_now(), loss = NAN, vloss = NAN;
	long step0 = step;
	uint64_t tokens_done = 0;
	struct ifg_step_stats st = { 0 };
	while (step < o.steps) {
		if (ifg_trainstep_grads(&ts, ifg_trainstep_take(&ts, &ord, step), &st) < 0)
			ifg_die("%s", ifg_err());
		if (o.dump) {
			dump_grads(o.dump, &ts, &st);
			goto done;
		}
		tokens_done += (uint64_t)st.labels;
		loss = st.loss;
		if (ifg_trainstep_update(&ts, step, &st) < 0)
			ifg_die("%s", ifg_err());
		step++;
		report_step(log, &o, step, step0, &st, tokens_done, ifg_now() - t0);
		bool last = step == o.steps;
		if (o.valid && ((o.eval_every && step % o.eval_every == 0) || last)) {
			vloss = validate(&ts, &v);
			if (log)
				log_put(log, "{\"step\":%ld,\"valid_loss\":%.6f}\n", step, vloss);
			if (!last) {
				ifg_progress_done();
				ifg_info("step %ld: valid loss %.4f", step, vloss);
			}
		}
		/* the log holds every step a saved state holds */
		if (log && ifg_out_flush(log) < 0)
			ifg_die("--log: %s", ifg_err());
		if (o.out && ((o.save_every && step % o.save_every == 0) || last))
			save(&o, &ts, state_path, settings, d.tokenizer, step);
	}
	ifg_progress_done();
	if (step == step0 && o.out) { /* nothing to do: still write the (initial) model */
		if (o.valid)
			vloss = validate(&ts, &v);
		save(&o, &ts, state_path, settings, d.tokenizer, step);
	}
	if (log && ifg_out_close(log) < 0)
		ifg_die("--log: %s", ifg_err());
	summary(&o, step, tokens_done, loss, vloss, &st.dpo, ifg_now() - t0);
done:	/* --dump-grads ends here too, after its first step */
	ifg_order_free(&ord);
	ifg_trainstep_release(&ts);
	free(settings);
	free(state_path);
	if (o.dpo) {
		ifg_dpo_release(&x);
		ifg_pairdata_free(&pd);
	} else {
		ifg_tokdata_free(&d);
	}
	ifg_tokdata_free(&v);
	ifg_gpt_free(m);
	return 0;
}
