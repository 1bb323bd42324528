/* The CA material through a toy in-memory backend that keeps no file and no
 * key, as a verifier's directory-backed store would: it serves the public
 * items only (certificates and the end of the overlap), and ct_ca_trust,
 * ct_ca_version and the snapshot re-read work from them alone, while
 * whatever needs a key or a change is refused. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/x509.h>

#include "conf.h"
#include "issue.h"
#include "store.h"
#include "store_backend.h"

/* ---- the toy backend: group "g"'s public items, a version per change ---- */

static struct toy {
	unsigned char *item[CT_CA_ITEMS]; /* public items only; NULL: none */
	size_t len[CT_CA_ITEMS];
	unsigned version;
	int opens, reads;
	int replace_on_read; /* reads still to be overtaken by a rotation */
	int cannot_hold; /* CT_CADIR_CHANGE does not hold off rotations */
	int held_opens; /* snapshots opened with CT_CADIR_CHANGE */
} toy;

struct toy_cadir {
	struct ct_cadir base;
	unsigned version; /* of the material this snapshot reads */
	int held; /* opened with CT_CADIR_CHANGE: no rotation overtakes it */
};

static const char *const toy_names[CT_CA_ITEMS] = {"caCertificate", "caKey",
    "previousCaCertificate", "previousCaKey", "previousUntil", "nextCaCertificate", "nextCaKey",
    "crlNumber"};

static int
toy_open(const struct ct_config *cfg, unsigned flags, struct ct_store **out, struct ct_err *err)
{
	(void)cfg;
	(void)flags;
	if ((*out = calloc(1, sizeof(**out))) == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	return CT_OK;
}

static void
toy_close(struct ct_store *st)
{
	free(st);
}

static int
toy_ca_open(struct ct_store *st, const char *group, unsigned flags, struct ct_cadir **out,
    struct ct_err *err)
{
	struct toy_cadir *s;

	(void)st;
	if (strcmp(group, "g") != 0 || toy.item[CT_CA_CERT] == NULL)
		return ct_err_set(err, CT_ENOENT, "no entry for %s", group);
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	s->base.where = "toy:cn=g";
	s->base.names = toy_names;
	s->version = toy.version;
	s->held = (flags & CT_CADIR_CHANGE) && !toy.cannot_hold;
	toy.held_opens += (flags & CT_CADIR_CHANGE) != 0;
	toy.opens++;
	*out = &s->base;
	return CT_OK;
}

static void
toy_ca_close(struct ct_cadir *s)
{
	free(s);
}

static int
toy_ca_current(const struct ct_cadir *s)
{
	return ((const struct toy_cadir *)s)->version == toy.version;
}

static int
toy_ca_has(const struct ct_cadir *s, enum ct_ca_item item)
{
	(void)s;
	return toy.item[item] != NULL;
}

static int
toy_ca_read(const struct ct_cadir *s, enum ct_ca_item item, unsigned char **data, size_t *len,
    struct ct_err *err)
{
	assert_false(ct_ca_item_is_key(item)); /* the wrapper never asks for a key here */
	toy.reads++;
	if (toy.replace_on_read > 0 && !((const struct toy_cadir *)s)->held) {
		/* a rotation elsewhere, while we read */
		toy.replace_on_read--;
		toy.version++;
	}
	if (toy.item[item] == NULL)
		return ct_err_set(err, CT_ENOENT, "%s: no %s", s->where, s->names[item]);
	if ((*data = malloc(toy.len[item] + 1)) == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	memcpy(*data, toy.item[item], toy.len[item]);
	(*data)[toy.len[item]] = '\0';
	*len = toy.len[item];
	return CT_OK;
}

static int
toy_ca_version(
    struct ct_store *st, const char *group, struct ct_ca_version *out, struct ct_err *err)
{
	(void)st;
	if (strcmp(group, "g") != 0 || toy.item[CT_CA_CERT] == NULL)
		return ct_err_set(err, CT_ENOENT, "no entry for %s", group);
	snprintf(out->id, sizeof(out->id), "toy-%u", toy.version);
	return CT_OK;
}

/* No ca_key_read, ca_create, ca_replace: the keys are not here. */
static const struct ct_store_ops toy_ops = {
    .name = "toy",
    .open = toy_open,
    .close = toy_close,
    .ca_open = toy_ca_open,
    .ca_close = toy_ca_close,
    .ca_current = toy_ca_current,
    .ca_has = toy_ca_has,
    .ca_read = toy_ca_read,
    .ca_version = toy_ca_version,
};

/* ---- fixture ---- */

static struct ct_group group = {.name = "g", .key_type = CT_KEY_EC_P256, .ca_days = 1};

struct fixture {
	struct ct_store *st;
	X509 *cert[CT_CA_ITEMS]; /* the certificates the toy holds, by item */
};

/* Put a new CA's certificate (not its key) into the toy as ITEM. */
static void
put_ca(struct fixture *f, enum ct_ca_item item)
{
	struct ct_ca_pem pem = {0};
	struct ct_err err = {0};

	assert_int_equal(ct_ca_generate(&group, time(NULL), &pem, &err), CT_OK);
	toy.item[item] = malloc(pem.cert->length);
	memcpy(toy.item[item], pem.cert->data, pem.cert->length);
	toy.len[item] = pem.cert->length;
	f->cert[item] = pem.x509;
	pem.x509 = NULL;
	ct_ca_pem_clear(&pem);
}

/* Put TEXT into the toy as ITEM. */
static void
put_text(enum ct_ca_item item, const char *text)
{
	free(toy.item[item]);
	toy.item[item] = (unsigned char *)strdup(text);
	toy.len[item] = strlen(text);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct ct_config *cfg = NULL;
	struct ct_err err = {0};

	memset(&toy, 0, sizeof(toy));
	ct_store_backend_register(&toy_ops);
	assert_int_equal(ct_config_load_string("", "toy.conf", &cfg, NULL, &err), CT_OK);
	free(cfg->store_backend);
	cfg->store_backend = strdup("toy");
	if (ct_store_open(cfg, 0, &f->st, &err) != CT_OK)
		fail_msg("open: %s", err.msg);
	ct_config_free(cfg);
	put_ca(f, CT_CA_CERT);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	int i;

	for (i = 0; i < CT_CA_ITEMS; i++) {
		free(toy.item[i]);
		X509_free(f->cert[i]);
	}
	ct_store_close(f->st);
	ct_store_backend_register(NULL);
	free(f);
	return 0;
}

/* ct_ca_trust at NOW through the toy: the anchors, or NULL with the code in *RC. */
static STACK_OF(X509) *
trust(struct fixture *f, time_t now, int *rc, struct ct_err *err)
{
	STACK_OF(X509) *sk = NULL;

	ct_err_clear(err);
	*rc = ct_ca_trust(f->st, &group, now, &sk, err);
	if (*rc != CT_OK)
		assert_null(sk);
	return sk;
}

/* ---- tests ---- */

/* The anchors come from the toy alone: the current CA, the prepared one,
 * the previous one while the overlap lasts; no key is ever asked for (the
 * toy has no ca_key_read). */
static void
test_trust_without_files(void **state)
{
	struct fixture *f = *state;
	STACK_OF(X509) *sk;
	struct ct_err err = {0};
	time_t now = time(NULL);
	char until[32];
	int rc;

	assert_non_null(sk = trust(f, now, &rc, &err));
	assert_int_equal(sk_X509_num(sk), 1);
	assert_int_equal(X509_cmp(sk_X509_value(sk, 0), f->cert[CT_CA_CERT]), 0);
	sk_X509_pop_free(sk, X509_free);

	put_ca(f, CT_CA_PREVIOUS_CERT);
	put_ca(f, CT_CA_NEXT_CERT);
	snprintf(until, sizeof(until), "%lld\n", (long long)now + 60);
	put_text(CT_CA_UNTIL, until);
	assert_non_null(sk = trust(f, now, &rc, &err));
	assert_int_equal(sk_X509_num(sk), 3);
	assert_int_equal(X509_cmp(sk_X509_value(sk, 0), f->cert[CT_CA_CERT]), 0);
	assert_int_equal(X509_cmp(sk_X509_value(sk, 1), f->cert[CT_CA_NEXT_CERT]), 0);
	assert_int_equal(X509_cmp(sk_X509_value(sk, 2), f->cert[CT_CA_PREVIOUS_CERT]), 0);
	sk_X509_pop_free(sk, X509_free);
	/* the overlap over: the previous CA is not trusted, nor read */
	put_text(CT_CA_PREVIOUS_CERT, "junk");
	assert_non_null(sk = trust(f, now + 60, &rc, &err));
	assert_int_equal(sk_X509_num(sk), 2);
	sk_X509_pop_free(sk, X509_free);
	/* within it, the backend's names are in the messages */
	assert_null(trust(f, now, &rc, &err));
	assert_int_equal(rc, CT_EIO);
	assert_string_equal(err.msg, "toy:cn=g/previousCaCertificate: not a PEM certificate");
	put_text(CT_CA_UNTIL, "soon");
	assert_null(trust(f, now, &rc, &err));
	assert_int_equal(rc, CT_EIO);
	assert_non_null(strstr(err.msg, "toy:cn=g/previousUntil: not a time"));
}

/* What needs a key or a change is refused by a backend without keys; a
 * group the backend does not have has no CA, with the usual advice. */
static void
test_keys_and_changes_refused(void **state)
{
	struct fixture *f = *state;
	struct ct_rotation r = {0};
	struct ct_ca *ca = NULL;
	STACK_OF(X509) *sk = NULL;
	X509 *next = NULL, *replaced = NULL;
	struct ct_err err = {0};
	struct ct_group h = group;

	assert_int_equal(ct_ca_load(f->st, &group, &ca, &err), CT_EPERM);
	assert_null(ca);
	assert_string_equal(err.msg, "toy:cn=g/caKey: the CA keys are not kept here");
	ct_err_clear(&err);
	assert_int_equal(ct_ca_init(f->st, &group, time(NULL), &err), CT_EPERM);
	ct_err_clear(&err);
	assert_int_equal(ct_ca_rotate(f->st, &group, time(NULL), 0, 0, &r, &err), CT_EPERM);
	assert_null(r.cert);
	ct_err_clear(&err);
	assert_int_equal(
	    ct_ca_prepare(f->st, &group, time(NULL), 0, &next, &replaced, &err), CT_EPERM);
	assert_null(next);
	h.name = "h";
	ct_err_clear(&err);
	assert_int_equal(ct_ca_trust(f->st, &h, time(NULL), &sk, &err), CT_ENOENT);
	assert_null(sk);
	assert_string_equal(
	    err.msg, "access group 'h' has no CA yet (run: certtoken-admin ca init h)");
}

/* The version changes with the CA; a snapshot replaced while it was read
 * is read again, so the anchors come from one version. */
static void
test_version_and_reread(void **state)
{
	struct fixture *f = *state;
	struct ct_ca_version v1, v2;
	STACK_OF(X509) *sk;
	struct ct_err err = {0};
	struct ct_group h = group;
	int rc;

	assert_int_equal(ct_ca_version(f->st, &group, &v1, &err), CT_OK);
	assert_int_equal(ct_ca_version(f->st, &group, &v2, &err), CT_OK);
	assert_string_equal(v1.id, v2.id);
	toy.version++; /* a rotation */
	assert_int_equal(ct_ca_version(f->st, &group, &v2, &err), CT_OK);
	assert_string_not_equal(v1.id, v2.id);
	h.name = "h";
	assert_int_equal(ct_ca_version(f->st, &h, &v2, &err), CT_ENOENT);

	toy.opens = 0;
	toy.replace_on_read = 1; /* while the first snapshot is read */
	assert_non_null(sk = trust(f, time(NULL), &rc, &err));
	assert_int_equal(sk_X509_num(sk), 1);
	sk_X509_pop_free(sk, X509_free);
	assert_int_equal(toy.opens, 2);
	assert_int_equal(toy.held_opens, 0); /* no lock while reads succeed */
	/* a run of rotations does not starve a reader: the last try holds the
	 * group against changes (issue 13: test_trust_during_rotations failed
	 * once with "kept changing" under load) */
	toy.opens = 0;
	toy.replace_on_read = 100;
	assert_non_null(sk = trust(f, time(NULL), &rc, &err));
	assert_int_equal(sk_X509_num(sk), 1);
	sk_X509_pop_free(sk, X509_free);
	assert_int_equal(toy.opens, 5);
	assert_int_equal(toy.held_opens, 1);
	/* where a backend cannot hold it, one that keeps changing is an
	 * error, not a mix */
	toy.cannot_hold = 1;
	toy.replace_on_read = 100;
	assert_null(trust(f, time(NULL), &rc, &err));
	assert_int_equal(rc, CT_EIO);
	assert_non_null(strstr(err.msg, "kept changing"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_trust_without_files, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_keys_and_changes_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_version_and_reread, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
