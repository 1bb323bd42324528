/* An access group's SSH CA (sshca.h). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "cadir.h"
#include "certindex.h"
#include "keys.h"
#include "pattern.h"
#include "sshca.h"
#include "sshcert.h"
#include "sshkrl.h"

#define KRL_CAS 3 /* current, prepared, previous */

/* ---- new keys ---- */

/* KEY as PKCS#8 PEM into a new buffer *OUT. */
static int
key_pem(EVP_PKEY *key, BUF_MEM **out)
{
	BIO *b = BIO_new(BIO_s_mem());
	int rc = -1;

	if (b != NULL && PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL)) {
		BIO_get_mem_ptr(b, out);
		(void)BIO_set_close(b, BIO_NOCLOSE);
		rc = 0;
	}
	BIO_free(b);
	return rc;
}

int
ct_sshca_generate(
    enum ct_key_type t, const char *group, struct ct_sshca_new *out, struct ct_err *err)
{
	struct ct_sshca_new res = {0};
	EVP_PKEY *k = NULL;
	unsigned char *blob = NULL;
	size_t len = 0;
	char comment[CT_NAME_MAX + 16];
	int rc;

	if (t != CT_KEY_ED25519 && t != CT_KEY_EC_P256)
		return ct_err_set(err, CT_EINVAL, "an SSH CA key is ed25519 or ec-p256, not %s",
		    ct_key_type_name(t));
	snprintf(comment, sizeof(comment), "certtoken:%s", group);
	if ((k = ct_key_generate(t)) == NULL || key_pem(k, &res.key) != 0) {
		rc = ct_err_set(
		    err, CT_ECRYPTO, "cannot create the SSH CA of access group '%s'", group);
		ct_err_openssl(err);
		goto out;
	}
	if ((rc = ct_sshcert_key_to_blob(k, &blob, &len, err)) != CT_OK ||
	    (rc = ct_sshcert_line_format(blob, len, comment, &res.pub, err)) != CT_OK)
		goto out;
	*out = res;
	memset(&res, 0, sizeof(res));
out:
	ct_sshca_new_clear(&res);
	free(blob);
	EVP_PKEY_free(k);
	return rc;
}

void
ct_sshca_new_clear(struct ct_sshca_new *n)
{
	if (n->key != NULL)
		OPENSSL_cleanse(n->key->data, n->key->max);
	BUF_MEM_free(n->key);
	free(n->pub);
	memset(n, 0, sizeof(*n));
}

/* ---- reading ---- */

/* CT_ENOENT: GROUP has no SSH CA, and how to give it one. */
static int
no_ssh_ca(const char *group, struct ct_err *err)
{
	ct_err_clear(err);
	return ct_err_set(err, CT_ENOENT,
	    "access group '%s' has no SSH CA yet (run: certtoken-admin ca ssh-init %s)", group,
	    group);
}

/* The public key blob of line ITEM of S into *BLOB (free()). */
static int
read_pub(const struct ct_cadir *s, enum ct_ca_item item, unsigned char **blob, size_t *len,
    struct ct_err *err)
{
	unsigned char *data = NULL;
	size_t n = 0;
	int rc;

	if ((rc = ct_cadir_read(s, item, &data, &n, err)) != CT_OK)
		return rc;
	if ((rc = ct_sshcert_line_parse((const char *)data, n, blob, len, NULL, err)) != CT_OK) {
		ct_err_prefix(err, "%s/%s: ", s->where, s->names[item]);
		rc = CT_EIO;
	}
	free(data);
	return rc;
}

struct load_ctx {
	const char *group;
	EVP_PKEY *key;
};

static int
load_read(const struct ct_cadir *s, void *ctx, struct ct_err *err)
{
	struct load_ctx *l = ctx;
	unsigned char *pub = NULL, *mine = NULL;
	size_t pub_len = 0, mine_len = 0;
	int rc;

	if (!ct_cadir_has(s, CT_CA_SSH_PUB))
		return no_ssh_ca(l->group, err);
	if ((rc = read_pub(s, CT_CA_SSH_PUB, &pub, &pub_len, err)) != CT_OK ||
	    (rc = ct_cadir_pem(s, CT_CA_SSH_KEY, NULL, &l->key, err)) != CT_OK ||
	    (rc = ct_sshcert_key_to_blob(l->key, &mine, &mine_len, err)) != CT_OK)
		goto out;
	if (pub_len != mine_len || memcmp(pub, mine, pub_len) != 0)
		rc = ct_err_set(err, CT_EIO, "%s/%s: does not match %s", s->where,
		    s->names[CT_CA_SSH_PUB], s->names[CT_CA_SSH_KEY]);
out:
	free(pub);
	free(mine);
	return rc;
}

static void
load_reset(void *ctx)
{
	struct load_ctx *l = ctx;

	EVP_PKEY_free(l->key);
	l->key = NULL;
}

int
ct_sshca_load(struct ct_store *st, const char *group, EVP_PKEY **key, struct ct_err *err)
{
	struct load_ctx l = {group, NULL};
	int rc;

	if ((rc = ct_cadir_run(st, group, load_read, load_reset, &l, err)) != CT_OK) {
		load_reset(&l);
		return rc;
	}
	*key = l.key;
	return CT_OK;
}

const char *
ct_sshca_role_name(enum ct_sshca_role r)
{
	return r == CT_SSHCA_CURRENT ? "current" : r == CT_SSHCA_NEXT ? "prepared" : "previous";
}

struct trust_ctx {
	const char *group;
	time_t now;
	int all;
	struct ct_sshca_trust t;
};

/* Add line ITEM of S in ROLE to T. */
static int
trust_add(struct ct_sshca_trust *t, const struct ct_cadir *s, enum ct_ca_item item,
    enum ct_sshca_role role, time_t until, struct ct_err *err)
{
	int rc;

	if ((rc = read_pub(s, item, &t->key[t->n].blob, &t->key[t->n].len, err)) != CT_OK)
		return rc;
	t->key[t->n].role = role;
	t->key[t->n].until = until;
	t->n++;
	return CT_OK;
}

static int
trust_read(const struct ct_cadir *s, void *ctx, struct ct_err *err)
{
	struct trust_ctx *c = ctx;
	time_t until = 0;
	int rc;

	if (!ct_cadir_has(s, CT_CA_SSH_PUB))
		return no_ssh_ca(c->group, err);
	if ((rc = trust_add(&c->t, s, CT_CA_SSH_PUB, CT_SSHCA_CURRENT, 0, err)) != CT_OK ||
	    (ct_cadir_has(s, CT_CA_NEXT_SSH_PUB) &&
	        (rc = trust_add(&c->t, s, CT_CA_NEXT_SSH_PUB, CT_SSHCA_NEXT, 0, err)) != CT_OK) ||
	    !ct_cadir_has(s, CT_CA_PREVIOUS_SSH_PUB) ||
	    (rc = ct_cadir_until(s, &until, err)) != CT_OK || (!c->all && c->now >= until))
		return rc;
	return trust_add(&c->t, s, CT_CA_PREVIOUS_SSH_PUB, CT_SSHCA_PREVIOUS, until, err);
}

static void
trust_reset(void *ctx)
{
	ct_sshca_trust_clear(&((struct trust_ctx *)ctx)->t);
}

int
ct_sshca_trust(struct ct_store *st, const char *group, time_t now, int all,
    struct ct_sshca_trust *out, struct ct_err *err)
{
	struct trust_ctx c;
	int rc;

	memset(&c, 0, sizeof(c));
	c.group = group;
	c.now = now;
	c.all = all;
	if ((rc = ct_cadir_run(st, group, trust_read, trust_reset, &c, err)) != CT_OK) {
		trust_reset(&c);
		return rc;
	}
	*out = c.t;
	return CT_OK;
}

void
ct_sshca_trust_clear(struct ct_sshca_trust *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		free(t->key[i].blob);
	memset(t, 0, sizeof(*t));
}

/* ---- certificates ---- */

/* A random serial, never 0. */
static int
random_serial(uint64_t *out)
{
	uint64_t v = 0;

	while (v == 0)
		if (RAND_bytes((unsigned char *)&v, sizeof(v)) != 1)
			return -1;
	*out = v;
	return 0;
}

/* The principals of R, expanded, into P (N of them). */
static int
principals(const struct ct_sshca_req *r, char **p, size_t *n, struct ct_err *err)
{
	size_t i;
	int rc;

	for (i = 0; i < r->conf->n_principals; i++) {
		if ((rc = ct_pattern_expand_text(r->conf->principals[i], r->attrs, &p[i], err)) !=
		    CT_OK)
			return rc;
		*n = i + 1;
	}
	return CT_OK;
}

/* The critical options and extensions of R's target into F (arrays OPTS and
 * EXTS, each with room for every option). */
static void
options(const struct ct_ssh_conf *conf, struct ct_sshcert_opt *opts, struct ct_sshcert_opt *exts,
    struct ct_sshcert_fields *f)
{
	unsigned bit;

	f->options = opts;
	f->extensions = exts;
	if (conf->force_command != NULL) {
		opts[f->n_options].name = "force-command";
		opts[f->n_options++].value = conf->force_command;
	}
	if (conf->source_address != NULL) {
		opts[f->n_options].name = "source-address";
		opts[f->n_options++].value = conf->source_address;
	}
	for (bit = 1; bit <= CT_SSH_EXT_USER_RC; bit <<= 1)
		if (conf->extensions & bit)
			exts[f->n_extensions++].name = ct_ssh_ext_name(bit);
}

/* The subject's key of R as an EVP_PKEY. */
static int
subject_key(const struct ct_sshca_req *r, EVP_PKEY **key, struct ct_err *err)
{
	const unsigned char *p = r->spki;

	if ((*key = d2i_PUBKEY(NULL, &p, (long)r->spki_len)) == NULL) {
		ERR_clear_error();
		return ct_err_set(
		    err, CT_EINVAL, "ssh certificate: the public key is not readable");
	}
	return CT_OK;
}

int
ct_sshca_check(const struct ct_sshca_req *r, struct ct_err *err)
{
	char *p[CT_SSH_PRINCIPALS_MAX] = {0};
	EVP_PKEY *key = NULL;
	size_t n = 0, i;
	int rc;

	if ((rc = principals(r, p, &n, err)) == CT_OK &&
	    (rc = subject_key(r, &key, err)) == CT_OK && ct_sshcert_key_type(key) == NULL)
		rc = ct_err_set(err, CT_EINVAL,
		    "ssh certificate: the public key is of a type OpenSSH certificates do not "
		    "have");
	for (i = 0; i < n; i++)
		free(p[i]);
	EVP_PKEY_free(key);
	return rc;
}

int
ct_sshca_issue(
    EVP_PKEY *ca, const struct ct_sshca_req *r, struct ct_sshca_cert *out, struct ct_err *err)
{
	struct ct_sshcert_opt opts[2], exts[8];
	struct ct_sshcert_fields f;
	struct ct_sshca_cert res = {0};
	char *p[CT_SSH_PRINCIPALS_MAX] = {0};
	unsigned char *blob = NULL;
	EVP_PKEY *key = NULL;
	size_t n = 0, len = 0, i;
	int rc;

	memset(&f, 0, sizeof(f));
	memset(opts, 0, sizeof(opts));
	memset(exts, 0, sizeof(exts));
	if (asprintf(&res.key_id, "certtoken:%s:%s:%s", r->user, r->target, r->x509_serial) < 0) {
		res.key_id = NULL;
		rc = ct_err_set(err, CT_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = principals(r, p, &n, err)) != CT_OK || (rc = subject_key(r, &key, err)) != CT_OK)
		goto out;
	if (random_serial(&res.serial) != 0) {
		rc = ct_err_set(err, CT_ECRYPTO, "ssh certificate: no random serial");
		goto out;
	}
	f.key = key;
	f.serial = res.serial;
	f.type = CT_SSHCERT_USER;
	f.key_id = res.key_id;
	f.principals = (const char *const *)p;
	f.n_principals = n;
	f.valid_after = (uint64_t)r->not_before;
	f.valid_before = (uint64_t)r->not_after;
	options(r->conf, opts, exts, &f);
	if ((rc = ct_sshcert_sign(&f, ca, res.key_id, &blob, &len, &res.line, err)) != CT_OK)
		goto out;
	*out = res;
	memset(&res, 0, sizeof(res));
out:
	for (i = 0; i < n; i++)
		free(p[i]);
	free(blob);
	EVP_PKEY_free(key);
	ct_sshca_cert_clear(&res);
	return rc;
}

void
ct_sshca_cert_clear(struct ct_sshca_cert *c)
{
	free(c->line);
	free(c->key_id);
	memset(c, 0, sizeof(*c));
}

/* ---- KRL ---- */

/* One access group of a KRL: its SSH CA keys and the SSH serials of its
 * revoked certificates, from their index entries. */
struct krl_group {
	const char *group;
	struct ct_sshca_trust t;
	uint64_t *serials;
	size_t n;
};

/* Add the SSH serial of revoked certificate R (if R->group is G's and its
 * index entry has one) to G.  An entry that cannot be read fails: a KRL
 * that silently left out a revocation would let the certificate in. */
static int
revoked_one(
    struct ct_store *st, const struct ct_revocation *r, struct krl_group *g, struct ct_err *err)
{
	struct ct_cert_entry e;
	int rc;

	if (strcmp(r->group, g->group) != 0)
		return CT_OK;
	if ((rc = ct_certindex_get(st, r->serial, &e, err)) == CT_ENOENT) {
		ct_err_clear(err); /* revoked, never in the index (no OpenSSH certificate) */
		return CT_OK;
	}
	if (rc != CT_OK) {
		ct_err_prefix(err, "revoked certificate %s: ", r->serial);
		return rc;
	}
	if (e.ssh_serial != 0)
		g->serials[g->n++] = e.ssh_serial;
	ct_cert_entry_clear(&e);
	return CT_OK;
}

/* G's SSH CA keys at NOW (all of them: a KRL lists the serials of the
 * previous one too) and the SSH serials of its certificates among the N
 * revocations of LIST. */
static int
krl_group_read(struct ct_store *st, const struct ct_revocation *list, size_t n, time_t now,
    struct krl_group *g, struct ct_err *err)
{
	size_t i;
	int rc;

	if ((rc = ct_sshca_trust(st, g->group, now, 1, &g->t, err)) != CT_OK)
		return rc;
	if (n > 0 && (g->serials = calloc(n, sizeof(*g->serials))) == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	for (i = 0; rc == CT_OK && i < n; i++)
		rc = revoked_one(st, &list[i], g, err);
	return rc;
}

/* The KRL's comment: "certtoken access group(s) A B ..." (free()). */
static char *
krl_comment(const struct krl_group *g, size_t n)
{
	size_t len = 40, i;
	char *c;

	for (i = 0; i < n; i++)
		len += strlen(g[i].group) + 1;
	if ((c = malloc(len)) == NULL)
		return NULL;
	strcpy(c, n == 1 ? "certtoken access group" : "certtoken access groups");
	for (i = 0; i < n; i++) {
		strcat(c, " ");
		strcat(c, g[i].group);
	}
	return c;
}

/* The KRL of the N groups G (read) at NOW: one certificate section per SSH
 * CA key of each. */
static int
krl_build(const struct krl_group *g, size_t n, time_t now, unsigned char **out, size_t *out_len,
    struct ct_err *err)
{
	struct ct_sshkrl_ca *cas = calloc(n * KRL_CAS, sizeof(*cas));
	char *comment = krl_comment(g, n);
	size_t i, j, m = 0;
	int rc;

	if (cas == NULL || comment == NULL) {
		rc = ct_err_set(err, CT_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++)
		for (j = 0; j < g[i].t.n; j++, m++) {
			cas[m].ca_blob = g[i].t.key[j].blob;
			cas[m].ca_blob_len = g[i].t.key[j].len;
			cas[m].serials = g[i].serials;
			cas[m].n_serials = g[i].n;
		}
	rc = ct_sshkrl_build(cas, m, (uint64_t)now, (int64_t)now, comment, out, out_len, err);
out:
	free(comment);
	free(cas);
	return rc;
}

int
ct_sshca_krl_groups(struct ct_store *st, const char *const *groups, size_t n, time_t now,
    unsigned char **out, size_t *out_len, size_t *n_serials, struct ct_err *err)
{
	struct ct_revocation *list = NULL;
	struct krl_group *g = NULL;
	size_t n_list = 0, i, j, total = 0;
	int rc;

	if (n == 0)
		return ct_err_set(err, CT_EINVAL, "a KRL needs at least one access group");
	for (i = 1; i < n; i++)
		for (j = 0; j < i; j++)
			if (strcmp(groups[i], groups[j]) == 0)
				return ct_err_set(
				    err, CT_EINVAL, "access group '%s' is named twice", groups[i]);
	if ((g = calloc(n, sizeof(*g))) == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	if ((rc = ct_revoked_read(st, &list, &n_list, err)) != CT_OK)
		goto out;
	for (i = 0; rc == CT_OK && i < n; i++) {
		g[i].group = groups[i];
		rc = krl_group_read(st, list, n_list, now, &g[i], err);
		total += g[i].n;
	}
	if (rc == CT_OK && (rc = krl_build(g, n, now, out, out_len, err)) == CT_OK)
		*n_serials = total;
out:
	for (i = 0; i < n; i++) {
		free(g[i].serials);
		ct_sshca_trust_clear(&g[i].t);
	}
	free(g);
	free(list);
	return rc;
}

int
ct_sshca_krl(struct ct_store *st, const char *group, time_t now, unsigned char **out,
    size_t *out_len, size_t *n_serials, struct ct_err *err)
{
	return ct_sshca_krl_groups(st, &group, 1, now, out, out_len, n_serials, err);
}
