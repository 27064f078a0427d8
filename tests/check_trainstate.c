/* check_trainstate.c: the train state (common/model/trainstate.h): the
 * fingerprint's exact text and its sensitivity to each setting, a state
 * written and read back bit for bit, a missing state, states made with other
 * settings (the first differing setting named), files that are not train
 * states, and the resumed log cut back to its step. */
#include <stdint.h>
#include <unistd.h>

#include "safetensors.h"
#include "testgpt.h"
#include "testutil.h"
#include "trainstate.h"
#include "util.h"

static const struct ifg_gpt_config tiny = { .n_layer = 1, .n_head = 2, .n_embd = 8, .n_ctx = 6,
					    .vocab_size = 7 };

static struct ifg_train_hp hp0(void)
{
	return (struct ifg_train_hp){ .batch = 8, .micro = 4, .lambda = 0.5, .clip = 1,
				      .adam = { 0.9f, 0.95f, 1e-8f, 4e-4f },
				      .sched = { IFG_SCHED_LINEAR, 6e-4, 1e-5, 3, 30 } };
}

START_TEST(test_settings_text)
{
	struct ifg_train_hp hp = hp0();
	struct ifg_train_fingerprint fp = { .cfg = &tiny, .hp = &hp, .init = "scratch",
					    .data = "abc", .seed = 1004, .shuffle = true,
					    .threads = 2 };
	char *s = ifg_trainstate_settings(&fp);
	ck_assert_str_eq(s, "n_layer=1;n_head=2;n_embd=8;n_ctx=6;vocab_size=7;init=scratch;"
			    "seed=1004;shuffle=1;batch=8;micro=4;steps=30;lr=0.00059999999999999995;"
			    "min_lr=1.0000000000000001e-05;schedule=linear;warmup=3;"
			    "weight_decay=0.00039999999;beta1=0.899999976;beta2=0.949999988;"
			    "eps=9.99999994e-09;clip=1;lambda=0.5;threads=2;data=abc");
	free(s);
	fp.dpo = true;
	fp.beta = 0.25;
	fp.ref = "def";
	s = ifg_trainstate_settings(&fp);
	const char *tail = ";data=abc;dpo=1;beta=0.25;ref=def";
	ck_assert_str_eq(s + strlen(s) - strlen(tail), tail);
	free(s);
}
END_TEST

/* Each setting a resumed run must share changes the fingerprint. */
START_TEST(test_settings_each)
{
	struct ifg_gpt_config cfg = tiny;
	struct ifg_train_hp hp = hp0();
	struct ifg_train_fingerprint fp = { .cfg = &cfg, .hp = &hp, .init = "scratch",
					    .data = "abc", .seed = 1, .shuffle = true,
					    .threads = 2, .beta = 0.1, .ref = "r" };
	char *base = ifg_trainstate_settings(&fp);
	for (int k = 0; k < 22; k++) {
		struct ifg_gpt_config c2 = cfg;
		struct ifg_train_hp h2 = hp;
		struct ifg_train_fingerprint f2 = fp;
		f2.cfg = &c2;
		f2.hp = &h2;
		switch (k) {
		case 0: c2.n_layer++; break;
		case 1: c2.n_head++; break;
		case 2: c2.n_embd++; break;
		case 3: c2.n_ctx++; break;
		case 4: c2.vocab_size++; break;
		case 5: f2.init = "0123"; break;
		case 6: f2.seed++; break;
		case 7: f2.shuffle = false; break;
		case 8: h2.batch++; break;
		case 9: h2.micro--; break;
		case 10: h2.sched.total++; break;
		case 11: h2.sched.lr = nextafter(h2.sched.lr, 1); break;
		case 12: h2.sched.min_lr = 0; break;
		case 13: h2.sched.kind = IFG_SCHED_COSINE; break;
		case 14: h2.sched.warmup++; break;
		case 15: h2.adam.weight_decay = nextafterf(h2.adam.weight_decay, 1); break;
		case 16: h2.adam.beta1 = nextafterf(h2.adam.beta1, 0); break;
		case 17: h2.adam.beta2 = 0.999f; break;
		case 18: h2.adam.eps = 1e-6f; break;
		case 19: h2.clip = 0; break;
		case 20: h2.lambda = nextafter(h2.lambda, 1); break;
		case 21: f2.threads = 1; break;
		}
		char *s = ifg_trainstate_settings(&f2);
		ck_assert_msg(strcmp(s, base) != 0, "setting %d does not show", k);
		free(s);
	}
	/* another family, and each of a family's own settings */
	struct ifg_gpt_config fam[5];
	for (int k = 0; k < 5; k++) {
		fam[k] = cfg;
		fam[k].arch = IFG_ARCH_NEOX;
	}
	fam[1].arch = IFG_ARCH_LLAMA;
	fam[2].untied = true;
	fam[3].parallel_residual = true;
	fam[4].d_ff = 64;
	char *fs[5];
	for (int k = 0; k < 5; k++) {
		fp.cfg = &fam[k];
		fs[k] = ifg_trainstate_settings(&fp);
		ck_assert_str_ne(fs[k], base);
		ck_assert_ptr_nonnull(strstr(fs[k], k == 1 ? ";arch=llama;" : ";arch=gpt_neox;"));
		for (int j = 0; j < k; j++)
			ck_assert_str_ne(fs[k], fs[j]);
	}
	for (int k = 0; k < 5; k++)
		free(fs[k]);
	struct ifg_gpt_config kv = fam[1];
	kv.n_kv_head = 1;
	fp.cfg = &kv;
	char *s1 = ifg_trainstate_settings(&fp);
	fp.cfg = &fam[1];
	char *s0 = ifg_trainstate_settings(&fp);
	ck_assert_str_ne(s1, s0);
	free(s1);
	free(s0);
	fp.cfg = &cfg;
	/* the data, and with DPO its beta and reference */
	fp.data = "abd";
	char *s = ifg_trainstate_settings(&fp);
	ck_assert_str_ne(s, base);
	free(s);
	fp.data = "abc";
	fp.dpo = true;
	char *d0 = ifg_trainstate_settings(&fp);
	ck_assert_str_ne(d0, base);
	fp.beta = 0.2;
	s = ifg_trainstate_settings(&fp);
	ck_assert_str_ne(s, d0);
	free(s);
	fp.beta = 0.1;
	fp.ref = "q";
	s = ifg_trainstate_settings(&fp);
	ck_assert_str_ne(s, d0);
	free(s);
	free(d0);
	free(base);
}
END_TEST

static char *path_in(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = ifg_xmalloc(n, 1);
	snprintf(p, n, "%s/%s", dir, name);
	return p;
}

/* A state file in a fresh directory, for a model with seed's random weights
 * and moments mv (2 P). */
struct fix {
	char *dir, *path;
	struct ifg_gpt *m;
	size_t P;
	float *mv;
};

static void fix_init(struct fix *x, uint64_t seed)
{
	x->dir = ifg_test_tmpdir();
	x->path = path_in(x->dir, "state.st");
	x->m = ifg_test_gpt(&tiny, seed, 0.5);
	x->P = ifg_gpt_nparams(x->m);
	x->mv = ifg_xmalloc(2 * x->P, sizeof *x->mv);
	for (size_t k = 0; k < 2 * x->P; k++)
		x->mv[k] = (float)k / 7.0f - (k >= x->P ? 0 : 3.0f);
}

static void fix_free(struct fix *x)
{
	unlink(x->path);
	ck_assert_int_eq(rmdir(x->dir), 0);	/* nothing else left behind */
	free(x->path);
	free(x->dir);
	free(x->mv);
	ifg_gpt_free(x->m);
}

START_TEST(test_roundtrip)
{
	struct fix x;
	fix_init(&x, 1);
	size_t P = x.P;
	struct ifg_gpt *b = ifg_gpt_new(&tiny);
	float *mv2 = ifg_xcalloc(2 * P, sizeof *mv2);
	ck_assert_int_eq(ifg_trainstate_save(x.path, x.m, x.mv, 123, "x=1;y=2"), 0);
	long step = -1;
	ck_assert_int_eq(ifg_trainstate_load(x.path, b, mv2, &step, "x=1;y=2"), 1);
	ck_assert_int_eq(step, 123);
	ck_assert_mem_eq(ifg_gpt_param_mem(x.m), ifg_gpt_param_mem(b), P * sizeof(float));
	ck_assert_mem_eq(x.mv, mv2, 2 * P * sizeof(float));
	/* the file's layout: three (P) tensors and the two metadata entries */
	struct ifg_st *st = ifg_st_open(x.path);
	ck_assert_ptr_nonnull(st);
	ck_assert_uint_eq(ifg_st_count(st), 3);
	const char *names[] = { "params", "adam_m", "adam_v" };
	for (int i = 0; i < 3; i++) {
		const struct ifg_st_tensor *t = ifg_st_find(st, names[i]);
		ck_assert_ptr_nonnull(t);
		ck_assert_uint_eq(t->n, P);
	}
	ck_assert_str_eq(ifg_st_meta(st, "step"), "123");
	ck_assert_str_eq(ifg_st_meta(st, "settings"), "x=1;y=2");
	ifg_st_close(st);
	/* no state: 0, nothing changed, nothing made */
	char *none = path_in(x.dir, "none.st");
	step = 5;
	ck_assert_int_eq(ifg_trainstate_load(none, b, mv2, &step, "x=1;y=2"), 0);
	ck_assert_int_eq(step, 5);
	ck_assert_int_eq(access(none, F_OK), -1);
	/* a directory that cannot be written */
	char *bad = path_in(x.dir, "no/such/dir.st");
	ck_assert_int_eq(ifg_trainstate_save(bad, x.m, x.mv, 1, "x=1"), -1);
	ck_assert(ifg_err()[0]);
	free(bad);
	free(none);
	free(mv2);
	ifg_gpt_free(b);
	fix_free(&x);
}
END_TEST

/* Another run's state is refused, naming its own first setting that
 * differs (at the start, in the middle, at the end; where one is a prefix
 * of the other, the setting at which it ends); nothing is loaded. */
START_TEST(test_other_settings)
{
	struct fix x;
	fix_init(&x, 2);
	ck_assert_int_eq(ifg_trainstate_save(x.path, x.m, x.mv, 4, "a=1;bb=22;c=3"), 0);
	const char *want[][2] = { { "a=2;bb=22;c=3", "(a=1)" },
				  { "a=1;bb=23;c=3", "(bb=22)" },
				  { "a=1;bb=2;c=3", "(bb=22)" },
				  { "a=1;bb=22;c=4", "(c=3)" },
				  { "a=1;bb=22", "(bb=22)" },	/* where the shorter ends */
				  { "a=1;bb=22;c=3;d=4", "(c=3)" } };
	struct ifg_gpt *b = ifg_gpt_new(&tiny);
	float *mv2 = ifg_xcalloc(2 * x.P, sizeof *mv2);
	for (int i = 0; i < 6; i++) {
		long step = -1;
		ck_assert_int_eq(ifg_trainstate_load(x.path, b, mv2, &step, want[i][0]), -1);
		char msg[512];
		snprintf(msg, sizeof msg, "'%s' was made with other settings or data %s", x.path,
			 want[i][1]);
		ck_assert_str_eq(ifg_err(), msg);
	}
	for (size_t k = 0; k < x.P; k++)	/* untouched */
		ck_assert(ifg_gpt_param_mem(b)[k] == 0 && mv2[k] == 0 && mv2[x.P + k] == 0);
	free(mv2);
	ifg_gpt_free(b);
	fix_free(&x);
}
END_TEST

/* Files that are not train states: no step, a step that is not a number,
 * a missing tensor, tensors of another model, not safetensors at all. */
START_TEST(test_not_a_state)
{
	struct fix x;
	fix_init(&x, 3);
	int64_t shape[1] = { (int64_t)x.P }, small[1] = { (int64_t)x.P - 1 };
	char msg[512];
	long step;
	for (int k = 0; k < 5; k++) {
		struct ifg_st_writer *w = ifg_st_writer_new();
		ifg_st_add_f32(w, "params", 1, k == 4 ? small : shape, x.mv);
		if (k != 3)
			ifg_st_add_f32(w, "adam_m", 1, shape, x.mv);
		ifg_st_add_f32(w, "adam_v", 1, shape, x.mv);
		if (k != 0)
			ifg_st_set_meta(w, "step", k == 1 ? "seven" : k == 2 ? "-1" : "7");
		ifg_st_set_meta(w, "settings", "s=1");
		ck_assert_int_eq(ifg_st_writer_write(w, x.path), 0);
		ifg_st_writer_free(w);
		ck_assert_int_eq(ifg_trainstate_load(x.path, x.m, x.mv, &step, "s=1"), -1);
		if (k < 3)
			snprintf(msg, sizeof msg, "'%s' is not a train state", x.path);
		else if (k == 3)
			snprintf(msg, sizeof msg, "'%s': tensor missing", x.path);
		if (k < 4)
			ck_assert_str_eq(ifg_err(), msg);
		if (k == 4) {	/* the reader's message, after the file's name */
			snprintf(msg, sizeof msg, "'%s': ", x.path);
			ck_assert_msg(strncmp(ifg_err(), msg, strlen(msg)) == 0 &&
					      strstr(ifg_err(), "params"), "%s", ifg_err());
		}
	}
	FILE *f = fopen(x.path, "w");
	fputs("not a safetensors file", f);
	fclose(f);
	ck_assert_int_eq(ifg_trainstate_load(x.path, x.m, x.mv, &step, "s=1"), -1);
	fix_free(&x);
}
END_TEST

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	static char buf[4096];
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

START_TEST(test_log_cut)
{
	char *dir = ifg_test_tmpdir(), *path = path_in(dir, "log.jsonl");
	const char *log = "{\"step\":1,\"loss\":2}\n{\"step\":2,\"loss\":1.5}\n"
			  "{\"step\":2,\"valid_loss\":1.7}\n{\"step\":3,\"loss\":1.2}\n"
			  "{\"step\":4,\"loss\":1.1}\n{\"step\":3,\"loss\":9}\n";
	FILE *f = fopen(path, "w");
	fputs(log, f);
	fclose(f);
	ck_assert_int_eq(ifg_trainlog_cut(path, 2), 0);
	ck_assert_str_eq(slurp(path), "{\"step\":1,\"loss\":2}\n{\"step\":2,\"loss\":1.5}\n"
				      "{\"step\":2,\"valid_loss\":1.7}\n");
	ck_assert_int_eq(ifg_trainlog_cut(path, 9), 0);	/* nothing later: kept */
	ck_assert_str_eq(slurp(path), "{\"step\":1,\"loss\":2}\n{\"step\":2,\"loss\":1.5}\n"
				      "{\"step\":2,\"valid_loss\":1.7}\n");
	ck_assert_int_eq(ifg_trainlog_cut(path, 0), 0);
	ck_assert_str_eq(slurp(path), "");
	char *none = path_in(dir, "none.jsonl");
	ck_assert_int_eq(ifg_trainlog_cut(none, 3), 0);
	ck_assert_int_eq(access(none, F_OK), -1);	/* not created */
	unlink(path);
	rmdir(dir);
	free(none);
	free(path);
	free(dir);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("trainstate");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_settings_text);
	tcase_add_test(tc, test_settings_each);
	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_other_settings);
	tcase_add_test(tc, test_not_a_state);
	tcase_add_test(tc, test_log_cut);
	suite_add_tcase(s, tc);
	return s;
}

IFG_TEST_MAIN
