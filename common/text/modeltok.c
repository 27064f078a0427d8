/* modeltok.c: a checkpoint's tokenizer against its input's. */
#include "modeltok.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "bpe.h"
#include "kinds.h"
#include "rec.h"
#include "util.h"

#define META_KEY "ifg.tokenizer"
#define MAX_HEADER (100u << 20)	/* as the safetensors reader */

static int id_from_json_obj(json_t *t, struct ifg_tok_id *id)
{
	json_t *sha = json_object_get(t, IFG_K_SHA256), *name = json_object_get(t, IFG_K_NAME);
	if (!json_is_string(sha))
		return 0;
	memset(id, 0, sizeof *id);
	snprintf(id->sha256, sizeof id->sha256, "%s", json_string_value(sha));
	if (json_is_string(name))
		snprintf(id->name, sizeof id->name, "%s", json_string_value(name));
	return 1;
}

int ifg_tok_id_from_json(const char *text, struct ifg_tok_id *id)
{
	if (!text)
		return 0;
	json_t *t = json_loads(text, 0, NULL);
	int rc = t ? id_from_json_obj(t, id) : 0;
	json_decref(t);
	return rc;
}

int ifg_tok_id_from_map(const msgpack_object *map, struct ifg_tok_id *id)
{
	const msgpack_object *sha = map ? ifg_get(map, IFG_K_SHA256) : NULL;
	if (!sha || sha->type != MSGPACK_OBJECT_STR)
		return 0;
	const msgpack_object *name = ifg_get(map, IFG_K_NAME);
	memset(id, 0, sizeof *id);
	snprintf(id->sha256, sizeof id->sha256, "%.*s", (int)sha->via.str.size, sha->via.str.ptr);
	if (name && name->type == MSGPACK_OBJECT_STR)
		snprintf(id->name, sizeof id->name, "%.*s", (int)name->via.str.size,
			 name->via.str.ptr);
	return 1;
}

void ifg_tok_id_from_bpe(const struct ifg_bpe *t, struct ifg_tok_id *id)
{
	memset(id, 0, sizeof *id);
	snprintf(id->name, sizeof id->name, "%s", ifg_bpe_name(t));
	snprintf(id->sha256, sizeof id->sha256, "%s", ifg_bpe_sha256(t));
}

static int read_full(int fd, void *buf, size_t n)
{
	for (size_t got = 0; got < n;) {
		ssize_t r = read(fd, (char *)buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

int ifg_ckpt_tokenizer(const char *ckpt, struct ifg_tok_id *id)
{
	struct stat sb;
	char *path;
	if (stat(ckpt, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		size_t n = strlen(ckpt) + 32;
		path = ifg_xmalloc(n, 1);
		snprintf(path, n, "%s/model.safetensors", ckpt);
	} else {
		path = ifg_xstrdup(ckpt);
	}
	int rc = -1, fd = open(path, O_RDONLY | O_CLOEXEC);
	char *hdr = NULL;
	uint8_t len8[8];
	if (fd < 0) {
		ifg_seterr("cannot open '%s': %s", path, strerror(errno));
		goto out;
	}
	if (read_full(fd, len8, 8) < 0) {
		ifg_seterr("'%s': too short for a safetensors file", path);
		goto out;
	}
	uint64_t n = 0;
	for (int i = 7; i >= 0; i--)
		n = n << 8 | len8[i];
	if (n > MAX_HEADER) {
		ifg_seterr("'%s': header of %llu bytes", path, (unsigned long long)n);
		goto out;
	}
	hdr = ifg_xmalloc(n + 1, 1);
	if (read_full(fd, hdr, n) < 0) {
		ifg_seterr("'%s': truncated header", path);
		goto out;
	}
	hdr[n] = 0;
	json_t *root = json_loads(hdr, 0, NULL);
	json_t *meta = root ? json_object_get(root, "__metadata__") : NULL;
	json_t *v = meta ? json_object_get(meta, META_KEY) : NULL;
	rc = json_is_string(v) ? ifg_tok_id_from_json(json_string_value(v), id) : 0;
	json_decref(root);
out:
	if (fd >= 0)
		close(fd);
	free(hdr);
	free(path);
	return rc;
}

int ifg_tok_id_check(const struct ifg_tok_id *model, const char *ckpt,
		     const struct ifg_tok_id *input, const char *what)
{
	if (!model || !input || !strcmp(model->sha256, input->sha256))
		return 0;
	return ifg_seterr("%s: tokenizer '%s' (sha256 %.12s...), but model '%s' was trained with "
			  "tokenizer '%s' (sha256 %.12s...; --any-tokenizer overrides)", what,
			  input->name, input->sha256, ckpt, model->name, model->sha256);
}

int ifg_ckpt_tok_check(const char *ckpt, const struct ifg_tok_id *input, const char *what)
{
	struct ifg_tok_id m;
	if (!input)
		return 0;
	int rc = ifg_ckpt_tokenizer(ckpt, &m);
	if (rc <= 0)
		return rc;
	return ifg_tok_id_check(&m, ckpt, input, what);
}
