/* ifg-train: train or fine-tune a GPT-2 on token records, with the IF-Guide
 * penalty on masked tokens (doc/method.md §7).
 *
 * Reads tokens streams (ifg-tokenize, or ifg-select's output with masks) into
 * memory and writes a checkpoint directory: model.safetensors + config.json
 * (Hugging Face GPT-2), and train-state.safetensors (parameters, AdamW
 * state, step) from which --resume continues bit-identically.  Per optimizer
 * step of `batch` records, each target token weighs 1, or -lambda where its
 * record's mask selects it, and the weighted NLL sum is divided by the
 * number of label positions of the step (common/tokdata.h, common/gpt.h).
 *
 * With --dpo it reads preference pairs instead (kind "pairs") and fine-tunes
 * the --init checkpoint by Direct Preference Optimization against a frozen
 * reference (--init, or --ref), whose log-probabilities are computed once
 * before the first step (common/dpo.h); a step of `batch` pairs minimises
 * their mean DPO loss. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "dpo.h"
#include "gpt.h"
#include "modeltok.h"
#include "optim.h"
#include "safetensors.h"
#include "stream.h"
#include "tokdata.h"
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
	long batch, micro, steps, warmup, eval_every, save_every, threads;
	double epochs, warmup_ratio, lambda, clip, tokens;
	unsigned long long seed;
	struct ifg_adamw adam;
	struct ifg_sched sched;
};

static double evaluate(struct ifg_gpt *m, const struct ifg_tokdata *v, long micro, int T,
		       uint32_t *tok, int32_t *tgt)
{
	double sum = 0;
	int64_t npred = 0;
	size_t idx[64];
	for (size_t i = 0; i < v->n; i += (size_t)micro) {
		int nb = 0;
		for (size_t k = i; k < v->n && nb < micro; k++)
			idx[nb++] = k;
		int64_t np;
		if (ifg_tokdata_batch(v, idx, nb, T, 0, tok, tgt, NULL, &np) < 0)
			ifg_die_err("--valid");
		double s;
		if (ifg_gpt_forward(m, tok, tgt, nb, T, &s) < 0)
			ifg_die_err("validation");
		sum += s;
		npred += np;
	}
	return npred ? sum / (double)npred : NAN;
}

/* The settings a resumed run must share, as "key=value;..." */
static char *settings_string(const struct opts *o, const char *data_sha, const char *init_sha,
			     const char *ref_sha)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);
	const struct ifg_gpt_config *c = &o->cfg;
	fprintf(f, "n_layer=%d;n_head=%d;n_embd=%d;n_ctx=%d;vocab_size=%d;", c->n_layer, c->n_head,
		c->n_embd, c->n_ctx, c->vocab_size);
	if (c->arch != IFG_ARCH_GPT2) /* (GPT-2's string predates the families) */
		fprintf(f, "arch=%s;n_kv_head=%d;d_ff=%d;untied=%d;parallel=%d;", ifg_arch_name(c->arch),
			c->n_kv_head, c->d_ff, c->untied, c->parallel_residual);
	fprintf(f, "init=%s;seed=%llu;shuffle=%d;batch=%ld;micro=%ld;steps=%ld;", init_sha, o->seed,
		o->shuffle, o->batch, o->micro, o->steps);
	fprintf(f, "lr=%.17g;min_lr=%.17g;schedule=%s;warmup=%ld;", o->sched.lr, o->sched.min_lr,
		ifg_sched_name(o->sched.kind), o->warmup);
	fprintf(f, "weight_decay=%.9g;beta1=%.9g;beta2=%.9g;eps=%.9g;clip=%.17g;lambda=%.17g;",
		o->adam.weight_decay, o->adam.beta1, o->adam.beta2, o->adam.eps, o->clip, o->lambda);
	fprintf(f, "threads=%ld;data=%s", o->threads, data_sha);
	if (o->dpo)
		fprintf(f, ";dpo=1;beta=%.17g;ref=%s", o->beta, ref_sha);
	fclose(f);
	return s;
}

static void save_state(const char *path, struct ifg_gpt *m, float *mv, long step,
		       const char *settings)
{
	size_t P = ifg_gpt_nparams(m);
	int64_t shape[1] = { (int64_t)P };
	struct ifg_st_writer *w = ifg_st_writer_new();
	ifg_st_add_f32(w, "params", 1, shape, ifg_gpt_param_mem(m));
	ifg_st_add_f32(w, "adam_m", 1, shape, mv);
	ifg_st_add_f32(w, "adam_v", 1, shape, mv + P);
	char num[32];
	snprintf(num, sizeof num, "%ld", step);
	ifg_st_set_meta(w, "step", num);
	ifg_st_set_meta(w, "settings", settings);
	if (ifg_st_writer_write(w, path) < 0)
		ifg_die_err("saving the train state");
	ifg_st_writer_free(w);
}

/* 1 with the state loaded, 0 when there is none. */
static int load_state(const char *path, struct ifg_gpt *m, float *mv, long *step,
		      const char *settings)
{
	if (access(path, F_OK) != 0)
		return 0;
	struct ifg_st *st = ifg_st_open(path);
	if (!st)
		ifg_die_err("--resume");
	const char *s = ifg_st_meta(st, "settings"), *sp = ifg_st_meta(st, "step");
	if (!s || !sp || ifg_parse_long(sp, 0, LONG_MAX, step) < 0)
		ifg_die("--resume: '%s' is not a train state", path);
	if (strcmp(s, settings) != 0) {
		/* name the first setting that differs */
		const char *a = s, *b = settings;
		while (*a && *a == *b)
			a++, b++;
		while (a > s && a[-1] != ';')
			a--;
		ifg_die("--resume: '%s' was made with other settings or data (%.*s)", path,
			(int)strcspn(a, ";"), a);
	}
	size_t P = ifg_gpt_nparams(m);
	int64_t shape[1] = { (int64_t)P };
	const char *names[] = { "params", "adam_m", "adam_v" };
	float *dst[] = { ifg_gpt_param_mem(m), mv, mv + P };
	for (int i = 0; i < 3; i++) {
		const struct ifg_st_tensor *t = ifg_st_find(st, names[i]);
		if (!t || ifg_st_read_f32(st, t, dst[i], 1, shape) < 0)
			ifg_die("--resume: '%s': %s", path, t ? ifg_err() : "tensor missing");
	}
	ifg_st_close(st);
	return 1;
}

static void save_model(struct ifg_gpt *m, const struct opts *o, const char *tokenizer, long step)
{
	char num[32];
	snprintf(num, sizeof num, "%ld", step);
	const char *meta[] = { "ifg.steps", num, tokenizer ? "ifg.tokenizer" : NULL, tokenizer,
			       NULL };
	if (ifg_gpt_save(m, o->out, meta) < 0)
		ifg_die_err("saving the model to '%s'", o->out);
}

/* The first step's gradients (before clipping), and the logits and NLL of
 * its last micro-batch, for comparison with the PyTorch reference. */
static void dump_grads(const char *path, struct ifg_gpt *m, const float *grads, double obj, int B,
		       int T, const struct ifg_dpo_stats *dpo)
{
	struct ifg_st_writer *w = ifg_st_writer_new();
	for (int i = 0; i < ifg_gpt_ntensors(m); i++) {
		const struct ifg_gpt_tensor *t = ifg_gpt_tensor(m, i);
		ifg_st_add_f32(w, t->name, t->ndim, t->shape, grads + t->offset);
	}
	int64_t ls[3] = { B, T, ifg_gpt_cfg(m)->vocab_size }, ns[2] = { B, T };
	ifg_st_add_f32(w, "logits", 3, ls, ifg_gpt_logits(m));
	ifg_st_add_f32(w, "nll", 2, ns, ifg_gpt_nll(m));
	char num[40];
	snprintf(num, sizeof num, "%.17g", obj);
	ifg_st_set_meta(w, "loss", num);
	if (dpo) {
		snprintf(num, sizeof num, "%.17g", dpo->margin / dpo->pairs);
		ifg_st_set_meta(w, "reward_margin", num);
		snprintf(num, sizeof num, "%.17g", (double)dpo->correct / dpo->pairs);
		ifg_st_set_meta(w, "reward_acc", num);
	}
	if (ifg_st_writer_write(w, path) < 0)
		ifg_die_err("--dump-grads");
	ifg_st_writer_free(w);
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

/* A resumed run continues its log after the last step the train state
 * holds: lines of later steps (logged before the kill) are cut off. */
static void log_cut_after(const char *path, long step)
{
	FILE *f = fopen(path, "r+");
	if (!f)
		return; /* none yet: it is created */
	char line[512];
	long keep = 0, s;
	while (fgets(line, sizeof line, f)) {
		if (sscanf(line, "{\"step\":%ld", &s) == 1 && s > step)
			break;
		keep = ftell(f);
	}
	if (ferror(f) || ftruncate(fileno(f), keep) != 0)
		ifg_die("--log: cannot cut '%s' back to step %ld: %m", path, step);
	fclose(f);
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

enum { O_INIT = 256, O_RESUME, O_LAYERS, O_HEADS, O_EMBD, O_CTX, O_VOCAB, O_LR, O_MINLR,
       O_SCHED, O_WARMUP, O_WRATIO, O_WD, O_B1, O_B2, O_EPS, O_CLIP, O_NOSHUF, O_VALID,
       O_EVERY, O_SAVE, O_LOG, O_DUMP, O_DPO, O_REF, O_BETA, O_TOKENS, O_ANYTOK,
       O_ARCH, O_KVHEADS, O_FF, O_TIED, O_UNTIED };

int main(int argc, char **argv)
{
	ifg_cli_init("ifg-train");
	struct opts o = { .shuffle = 1, .tied = -1, .batch = 8, .steps = -1, .warmup = -1, .epochs = -1,
			  .warmup_ratio = 0.01, .lambda = 1.0, .clip = 1.0, .seed = 1004, .beta = 0.1,
			  .adam = { 0.9f, 0.95f, 1e-8f, 4e-4f },
			  .sched = { IFG_SCHED_COSINE, 6e-4, 0, 0, 0 } };
	o.threads = sysconf(_SC_NPROCESSORS_ONLN) > 0 ? sysconf(_SC_NPROCESSORS_ONLN) : 1;
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
	const struct ifg_cli_std std = { usage, &o.out, NULL };
	while ((c = getopt_long(argc, argv, "o:b:m:n:e:l:s:j:qv", lo, NULL)) != -1) {
		switch (c) {
		case O_INIT: o.init = optarg; break;
		case O_RESUME: o.resume = 1; break;
		case O_ANYTOK: o.any_tok = 1; break;
		case O_ARCH: {
			int a = ifg_arch_parse(optarg);
			if (a < 0)
				ifg_usage_error("--arch: '%s' is not gpt2, gpt_neox or llama", optarg);
			o.cfg.arch = (enum ifg_arch)a;
			o.arch_set = 1;
			break;
		}
		case O_KVHEADS: o.cfg.n_kv_head = (int)ifg_opt_long("--kv-heads", optarg, 1, 1024); break;
		case O_FF: o.cfg.d_ff = (int)ifg_opt_long("--ff", optarg, 1, 1 << 20); break;
		case O_TIED: o.tied = 1; break;
		case O_UNTIED: o.tied = 0; break;
		case O_LAYERS: o.cfg.n_layer = (int)ifg_opt_long("--layers", optarg, 1, 1024); break;
		case O_HEADS: o.cfg.n_head = (int)ifg_opt_long("--heads", optarg, 1, 1024); break;
		case O_EMBD: o.cfg.n_embd = (int)ifg_opt_long("--embd", optarg, 1, 65536); break;
		case O_CTX: o.cfg.n_ctx = (int)ifg_opt_long("--ctx", optarg, 1, 65536); break;
		case O_VOCAB: o.cfg.vocab_size = (int)ifg_opt_long("--vocab", optarg, 1, 1 << 24); break;
		case 'b': o.batch = ifg_opt_long("--batch", optarg, 1, 1 << 20); break;
		case 'm': o.micro = ifg_opt_long("--micro-batch", optarg, 1, 64); break;
		case 'n': o.steps = ifg_opt_long("--steps", optarg, 0, 1L << 40); break;
		case 'e': o.epochs = ifg_opt_double("--epochs", optarg, 1e-9, 1e6); break;
		case O_LR: o.sched.lr = ifg_opt_double("--lr", optarg, 0, 10); break;
		case O_MINLR: o.sched.min_lr = ifg_opt_double("--min-lr", optarg, 0, 10); break;
		case O_SCHED:
			if (ifg_sched_parse(optarg) < 0)
				ifg_usage_error("--schedule: '%s' is not cosine, linear or constant",
						optarg);
			o.sched.kind = ifg_sched_parse(optarg);
			break;
		case O_WARMUP: o.warmup = ifg_opt_long("--warmup", optarg, 0, 1L << 40); break;
		case O_WRATIO: o.warmup_ratio = ifg_opt_double("--warmup-ratio", optarg, 0, 1); break;
		case O_WD: o.adam.weight_decay = (float)ifg_opt_double("--weight-decay", optarg, 0, 10); break;
		case O_B1: o.adam.beta1 = (float)ifg_opt_double("--beta1", optarg, 0, 0.999999); break;
		case O_B2: o.adam.beta2 = (float)ifg_opt_double("--beta2", optarg, 0, 0.999999999); break;
		case O_EPS: o.adam.eps = (float)ifg_opt_double("--adam-eps", optarg, 1e-30, 1); break;
		case O_CLIP: o.clip = ifg_opt_double("--clip", optarg, 0, 1e30); break;
		case 'l': o.lambda = ifg_opt_double("--lambda", optarg, 0, 1e6); break;
		case 's': o.seed = (unsigned long long)ifg_opt_long("--seed", optarg, 0, LONG_MAX); break;
		case O_NOSHUF: o.shuffle = 0; break;
		case 'j': o.threads = ifg_opt_long("--threads", optarg, 1, 1024); break;
		case O_VALID: o.valid = optarg; break;
		case O_EVERY: o.eval_every = ifg_opt_long("--eval-every", optarg, 0, 1L << 40); break;
		case O_SAVE: o.save_every = ifg_opt_long("--save-every", optarg, 0, 1L << 40); break;
		case O_LOG: o.log = optarg; break;
		case O_DUMP: o.dump = optarg; break;
		case O_DPO: o.dpo = 1; break;
		case O_REF: o.ref = optarg; break;
		case O_TOKENS: o.tokens = ifg_opt_double("--tokens", optarg, 1, 1e18); break;
		case O_BETA: o.beta = ifg_opt_double("--beta", optarg, 1e-6, 1e6); break;
		default: ifg_cli_std_option(&std, c, optarg);
		}
	}
	if (!o.out && !o.dump)
		ifg_usage_error("an output directory is required (-o DIR)");
	if ((o.steps >= 0) + (o.epochs > 0) + (o.tokens > 0) > 1)
		ifg_usage_error("--steps, --epochs and --tokens exclude each other");
	if (o.init && (o.cfg.n_layer || o.cfg.n_head || o.cfg.n_embd || o.cfg.n_ctx || o.cfg.vocab_size ||
		       o.arch_set || o.cfg.n_kv_head || o.cfg.d_ff || o.tied >= 0))
		ifg_usage_error("--init takes the model's shape from the checkpoint");
	if (!o.micro) { /* the largest divisor of batch up to 8 */
		for (o.micro = o.batch < 8 ? o.batch : 8; o.batch % o.micro; o.micro--)
			;
	}
	if (o.batch % o.micro)
		ifg_usage_error("--micro-batch %ld does not divide --batch %ld", o.micro, o.batch);
	if (o.dpo && !o.init)
		ifg_usage_error("--dpo fine-tunes a checkpoint: --init is required");
	if (o.dpo && o.valid)
		ifg_usage_error("--valid takes token records: not with --dpo");
	if (!o.dpo && o.ref)
		ifg_usage_error("--ref is the reference model of --dpo");
	ifg_gpt_set_threads((int)o.threads);

	/* the data: token records, or with --dpo preference pairs; the record
	 * loop below needs their count, identity, tokenizer, longest sequence
	 * and largest id */
	struct ifg_tokdata d = { 0 }, v = { 0 };
	struct ifg_pairdata pd = { 0 };
	const char *const *files = (const char *const *)argv + optind;
	if (o.dpo) {
		if (ifg_pairdata_load(&pd, files, argc - optind) < 0)
			ifg_die_err("reading pairs");
		if (pd.n == 0)
			ifg_die("no pair records in the input");
		d.n = pd.n;
		d.max_len = pd.max_len;
		d.max_id = pd.max_id;
		d.vocab_size = pd.vocab_size;
		d.tokenizer = pd.tokenizer;
		d.ntok = pd.ntok;
		memcpy(d.sha256, pd.sha256, sizeof d.sha256);
	} else {
		if (ifg_tokdata_load(&d, files, argc - optind) < 0)
			ifg_die_err("reading tokens");
		if (d.n == 0)
			ifg_die("no token records in the input");
	}
	if (o.valid && ifg_tokdata_load(&v, &o.valid, 1) < 0)
		ifg_die_err("--valid");
	if (o.valid && v.tokenizer && d.tokenizer && strcmp(v.tokenizer, d.tokenizer))
		ifg_die("--valid: made with another tokenizer than the training data");

	/* the model */
	struct ifg_gpt *m;
	char init_sha[65] = "scratch";
	struct ifg_tok_id data_tok;	/* every input's (tokdata checked they agree) */
	char what[600];
	snprintf(what, sizeof what, d.nfiles ? "'%.580s'" : "the pairs", d.nfiles ? d.files[0] : "");
	if (o.init && !o.any_tok && ifg_tok_id_from_json(d.tokenizer, &data_tok) == 1 &&
	    ifg_ckpt_tok_check(o.init, &data_tok, what) < 0)
		ifg_die("--init: %s", ifg_err());
	if (o.init) {
		if (!(m = ifg_gpt_load(o.init)))
			ifg_die_err("--init");
		struct ifg_model_id id;
		ifg_gpt_identity(m, &id);
		snprintf(init_sha, sizeof init_sha, "%s", id.sha256);
		o.cfg = *ifg_gpt_cfg(m);
	} else {
		struct ifg_gpt_config *g = &o.cfg;
		g->n_layer = g->n_layer ? g->n_layer : 4;
		g->n_head = g->n_head ? g->n_head : 4;
		g->n_embd = g->n_embd ? g->n_embd : 256;
		if (!g->n_ctx)
			g->n_ctx = (int)(v.max_len > d.max_len ? v.max_len : d.max_len);
		if (!g->vocab_size)
			g->vocab_size = d.vocab_size > 0 ? (int)d.vocab_size : (int)d.max_id + 1;
		/* Pythia's parallel residual and untied output; Llama tied, as
		 * Llama-3.2-1B */
		g->parallel_residual = g->arch == IFG_ARCH_NEOX;
		g->untied = o.tied >= 0 ? !o.tied : g->arch == IFG_ARCH_NEOX;
		if (!(m = ifg_gpt_new(g)))
			ifg_die_err("model");
		ifg_gpt_init_weights(m, o.seed);
		o.cfg = *ifg_gpt_cfg(m); /* with the family's defaults filled in */
	}
	const struct ifg_gpt_config *cfg = ifg_gpt_cfg(m);
	if (!o.dpo && ifg_tokdata_fits(&d, cfg->n_ctx, cfg->vocab_size) < 0)
		ifg_die("%s", ifg_err());
	if (o.valid && ifg_tokdata_fits(&v, cfg->n_ctx, cfg->vocab_size) < 0)
		ifg_die("--valid: %s", ifg_err());
	if (d.max_id >= (uint32_t)cfg->vocab_size || (o.valid && v.max_id >= (uint32_t)cfg->vocab_size))
		ifg_die("token id %u is outside the model's vocabulary (%d)",
			d.max_id > v.max_id ? d.max_id : v.max_id, cfg->vocab_size);
	uint32_t T = d.max_len > v.max_len ? d.max_len : v.max_len;
	if (T > (uint32_t)cfg->n_ctx)
		ifg_die("a record has %u tokens, more than the model's context %d (use ifg-tokenize "
			"--block)", T, cfg->n_ctx);

	if (o.steps < 0 && o.tokens > 0) {
		/* tokens a record (a pair: both its sequences, the prompt twice) */
		double seq = (double)d.ntok;
		for (size_t i = 0; o.dpo && i < pd.n; i++)
			seq += pd.np[i];
		o.steps = (long)ceil(o.tokens / ((double)o.batch * (seq / (double)d.n)));
	}
	if (o.steps < 0)
		o.steps = (long)ceil((o.epochs > 0 ? o.epochs : 1.0) * (double)d.n / (double)o.batch);
	if (o.warmup < 0)
		o.warmup = (long)ceil(o.warmup_ratio * (double)o.steps);
	o.sched.warmup = o.warmup;
	o.sched.total = o.steps;
	if (ifg_gpt_reserve(m, (int)(o.dpo ? 2 * o.micro : o.micro), (int)T, IFG_GPT_TRAIN) < 0)
		ifg_die_err("model");
	struct ifg_dpo x = { 0 };
	char ref_sha[65] = "";
	if (o.dpo) {
		ifg_dpo_init(&x, &pd, o.beta, (int)o.micro);
		dpo_reference(&o, &pd, m, &x, ref_sha);
	}

	size_t P = ifg_gpt_nparams(m);
	float *mv = ifg_xaligned(2 * P, sizeof(float)); /* AdamW m (P) | v (P) */
	memset(mv, 0, 2 * P * sizeof(float));
	char *settings = settings_string(&o, d.sha256, init_sha, ref_sha);
	char *state_path = NULL;
	long step = 0;
	if (o.out) {
		size_t n = strlen(o.out) + 32;
		state_path = ifg_xmalloc(n, 1);
		snprintf(state_path, n, "%s/train-state.safetensors", o.out);
		if (o.resume && ifg_out_remove_stale(o.out) < 0)
			ifg_die_err("--resume");
		if (o.resume && load_state(state_path, m, mv, &step, settings))
			ifg_info("resuming at step %ld of %ld", step, o.steps);
		if (ifg_out_mkdir(o.out) < 0)
			ifg_die_err("-o");
	}
	struct ifg_out *log = NULL;
	if (o.log && o.resume && step > 0)
		log_cut_after(o.log, step);
	if (o.log && !(log = ifg_out_open_log(o.log, o.resume && step > 0)))
		ifg_die_err("--log");

	size_t BT = (size_t)o.micro * T;
	uint32_t *tok = ifg_xmalloc(BT, sizeof *tok);
	int32_t *tgt = ifg_xmalloc(BT, sizeof *tgt);
	float *wts = ifg_xmalloc(BT, sizeof *wts);
	size_t *idx = ifg_xmalloc(o.batch, sizeof *idx);
	struct ifg_order ord;
	ifg_order_init(&ord, d.n, o.seed, o.shuffle);
	if (o.dpo)
		ifg_info("%zu pairs, %llu tokens, %zu parameters, %ld steps of %ld pairs x 2 x %u, "
			 "beta %g", d.n, (unsigned long long)d.ntok, P, o.steps, o.batch, T, o.beta);
	else
		ifg_info("%zu records, %llu tokens (%llu masked), %zu parameters, %ld steps of %ld "
			 "x %u", d.n, (unsigned long long)d.ntok, (unsigned long long)d.nmasked, P,
			 o.steps, o.batch, T);

	double t0 = ifg_now(), loss = NAN, vloss = NAN;
	long step0 = step;
	uint64_t tokens_done = 0;
	struct ifg_dpo_stats ds = { 0 };
	while (step < o.steps) {
		ifg_gpt_zero_grad(m);
		for (long k = 0; k < o.batch; k++)
			idx[k] = ifg_order_at(&ord, (uint64_t)step * o.batch + k);
		/* the divisor: label positions of the whole step (DPO: its pairs) */
		int64_t labels = 0, npred = 0, np;
		double nll = 0, obj = 0;
		if (o.dpo) {
			memset(&ds, 0, sizeof ds);
			for (long mb = 0; mb < o.batch; mb += o.micro) {
				if (ifg_dpo_forward(&x, m, idx + mb, (int)o.micro, &ds) < 0)
					ifg_die_err("forward");
				if (ifg_dpo_backward(&x, m, (double)o.batch) < 0)
					ifg_die_err("backward");
				if (o.dump && mb + o.micro >= o.batch) {
					float *g = ifg_xmalloc(P, sizeof(float));
					memcpy(g, ifg_gpt_grad_mem(m), P * sizeof(float));
					if (ifg_gpt_forward(m, x.tok, x.tgt, 2 * (int)o.micro, x.Tb, NULL) < 0)
						ifg_die_err("forward");
					dump_grads(o.dump, m, g, ds.loss / o.batch, 2 * (int)o.micro, x.Tb,
						   &ds);
					free(g);
					goto done;
				}
			}
			labels = ds.tokens;
			npred = o.batch;
			nll = obj = ds.loss;
			goto update;
		}
		for (long k = 0; k < o.batch; k++)
			labels += (int64_t)(d.off[idx[k] + 1] - d.off[idx[k]]);
		for (long mb = 0; mb < o.batch; mb += o.micro) {
			int Tm = 1; /* the longest record of this micro-batch */
			for (long k = mb; k < mb + o.micro; k++)
				if (d.off[idx[k] + 1] - d.off[idx[k]] > (uint64_t)Tm)
					Tm = (int)(d.off[idx[k] + 1] - d.off[idx[k]]);
			if (ifg_tokdata_batch(&d, idx + mb, (int)o.micro, Tm, o.lambda, tok, tgt, wts,
					      &np) < 0)
				ifg_die_err("batch");
			double s;
			if (ifg_gpt_forward(m, tok, tgt, (int)o.micro, Tm, &s) < 0)
				ifg_die_err("forward");
			const float *l = ifg_gpt_nll(m);
			for (size_t i = 0; i < (size_t)o.micro * Tm; i++)
				obj += (double)wts[i] * l[i];
			nll += s;
			npred += np;
			if (labels > 0 && ifg_gpt_backward(m, wts, (double)labels) < 0)
				ifg_die_err("backward");
			if (o.dump && mb + o.micro >= o.batch) {
				float *g = ifg_xmalloc(P, sizeof(float));
				memcpy(g, ifg_gpt_grad_mem(m), P * sizeof(float));
				/* the backward overwrote the logits: recompute them */
				if (ifg_gpt_forward(m, tok, tgt, (int)o.micro, Tm, NULL) < 0)
					ifg_die_err("forward");
				dump_grads(o.dump, m, g, labels ? obj / labels : 0, (int)o.micro, Tm, NULL);
				free(g);
				goto done;
			}
		}
update:
		tokens_done += (uint64_t)labels;
		loss = npred ? nll / npred : NAN;
		if (!isfinite(loss) || !isfinite(obj))
			ifg_die("step %ld: the loss is not finite", step + 1);
		double gnorm = ifg_clip_grad_norm(ifg_gpt_grad_mem(m), P, o.clip);
		double lr = ifg_sched_lr(&o.sched, step);
		for (int i = 0; i < ifg_gpt_ntensors(m); i++) {
			const struct ifg_gpt_tensor *t = ifg_gpt_tensor(m, i);
			ifg_adamw_update(&o.adam, ifg_gpt_param_mem(m) + t->offset,
					 ifg_gpt_grad_mem(m) + t->offset, mv + t->offset,
					 mv + P + t->offset, t->n, lr, step + 1, t->decay);
		}
		step++;
		double el = ifg_now() - t0, tps = tokens_done / (el > 0 ? el : 1e-9);
		char left[32];
		format_time(left, sizeof left, el / (step - step0) * (o.steps - step));
		if (o.dpo) {
			double n = (double)ds.pairs;
			if (log)
				log_put(log, "{\"step\":%ld,\"loss\":%.6f,\"reward_margin\":%.6f,"
					"\"reward_acc\":%.4f,\"reward_chosen\":%.6f,"
					"\"reward_rejected\":%.6f,\"lr\":%.6g,\"grad_norm\":%.6g,"
					"\"tokens\":%lld,\"tok_s\":%.1f,\"time\":%.3f}\n", step, loss,
					ds.margin / n, ds.correct / n, ds.chosen / n, ds.rejected / n, lr,
					gnorm, (long long)labels, tps, el);
			ifg_progress("step %ld/%ld  loss %.4f  margin %.4f  acc %.2f  lr %.2e  "
				     "%.0f tok/s  %s left", step, o.steps, loss, ds.margin / n,
				     ds.correct / n, lr, tps, left);
		} else {
			if (log)
				log_put(log, "{\"step\":%ld,\"loss\":%.6f,\"objective\":%.6f,"
					"\"lr\":%.6g,\"grad_norm\":%.6g,\"tokens\":%lld,"
					"\"tok_s\":%.1f,\"time\":%.3f}\n", step, loss,
					labels ? obj / labels : 0, lr, gnorm, (long long)labels, tps, el);
			ifg_progress("step %ld/%ld  loss %.4f  lr %.2e  %.0f tok/s  %s left", step,
				     o.steps, loss, lr, tps, left);
		}
		bool last = step == o.steps;
		if (o.valid && ((o.eval_every && step % o.eval_every == 0) || last)) {
			vloss = evaluate(m, &v, o.micro, (int)T, tok, tgt);
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
		if (o.out && ((o.save_every && step % o.save_every == 0) || last)) {
			save_state(state_path, m, mv, step, settings);
			save_model(m, &o, d.tokenizer, step);
		}
	}
	ifg_progress_done();
	if (step == step0 && o.out) { /* nothing to do: still write the (initial) model */
		if (o.valid)
			vloss = evaluate(m, &v, o.micro, (int)T, tok, tgt);
		save_state(state_path, m, mv, step, settings);
		save_model(m, &o, d.tokenizer, step);
	}
	if (log && ifg_out_close(log) < 0)
		ifg_die("--log: %s", ifg_err());
	double el = ifg_now() - t0;
	if (ifg_verbosity > 0) {
		char vs[48] = "";
		if (o.valid)
			snprintf(vs, sizeof vs, ", valid loss %.4f", vloss);
		if (o.dpo && ds.pairs)
			snprintf(vs, sizeof vs, ", reward margin %.4f, accuracy %.3f",
				 ds.margin / ds.pairs, (double)ds.correct / ds.pairs);
		fprintf(stderr, "ifg-train: %ld steps, %llu tokens, %sloss %.4f%s, %.0f tok/s, %.1f s\n",
			step, (unsigned long long)tokens_done, o.dpo ? "DPO " : "", loss, vs,
			tokens_done / (el > 0 ? el : 1e-9), el);
	}
done:	/* --dump-grads ends here too, after its first step */
	ifg_order_free(&ord);
	free(tok);
	free(tgt);
	free(wts);
	free(idx);
	free(mv);
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
