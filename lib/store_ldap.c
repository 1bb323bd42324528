/* The LDAP backend: opening the store from store.ldap (and store.path for
 * what stays on the host), and its operations table.  The layout is in
 * store_ldap.h.  Opening does no network I/O: a connection opens when an
 * operation first needs it. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "store_ldap.h"
#include "store_ldap_ca.h"

static void
ldap_close(struct ct_store *st)
{
	struct ct_ldap_store *ls = (struct ct_ldap_store *)st;

	if (ls == NULL)
		return;
	if (ls->ca != NULL && ls->ca_free != NULL)
		ls->ca_free(ls->ca);
	pthread_mutex_destroy(&ls->ca_mu);
	pthread_mutex_destroy(&ls->down_mu);
	if (ls->write != ls->read)
		ct_ldap_pool_free(ls->write);
	ct_ldap_pool_free(ls->read);
	ct_store_close(ls->files);
	if (ls->have_keys)
		ct_files_keys_free(&ls->keys);
	free(ls->base_dn);
	free(ls->path);
	free(ls->uri_text);
	free(ls->write_text);
	free(ls->bind_dn);
	free(ls->bind_password_file);
	free(ls->ca_file);
	free(ls);
}

/* *OUT = a copy of S (NULL stays NULL); 0, or -1 when out of memory. */
static int
dup_opt(const char *s, char **out)
{
	*out = s != NULL ? strdup(s) : NULL;
	return s != NULL && *out == NULL ? -1 : 0;
}

/* Copy what LS keeps of SL, and split the read URIs. */
static int
copy_conf(struct ct_ldap_store *ls, const struct ct_config *cfg, struct ct_err *err)
{
	const struct ct_store_ldap_conf *sl = &cfg->store_ldap;
	size_t n = 0;
	char *save = NULL, *u;

	if (dup_opt(sl->base, &ls->base_dn) < 0 || dup_opt(cfg->store_path, &ls->path) < 0 ||
	    dup_opt(sl->uri, &ls->uri_text) < 0 || dup_opt(sl->bind_dn, &ls->bind_dn) < 0 ||
	    dup_opt(sl->bind_password_file, &ls->bind_password_file) < 0 ||
	    dup_opt(sl->ca_file, &ls->ca_file) < 0)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	for (u = strtok_r(ls->uri_text, " \t", &save); u != NULL && n < CT_LDAP_URIS_MAX;
	     u = strtok_r(NULL, " \t", &save))
		ls->read_uris[n++] = u;
	if (n == 0)
		return ct_err_set(err, CT_ECONFIG, "store.ldap: no uri");
	if (dup_opt(sl->write_uri != NULL ? sl->write_uri : ls->read_uris[0], &ls->write_text) < 0)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	ls->write_uris[0] = ls->write_text;
	ls->read_s.n_uris = n;
	return CT_OK;
}

/* The connection settings of both pools, from SL. */
static void
settings(struct ct_ldap_store *ls, const struct ct_store_ldap_conf *sl, unsigned flags)
{
	struct ct_ldap_settings s = {0};

	s.starttls = sl->starttls;
	s.ca_file = ls->ca_file;
	s.bind = sl->sasl_external ? CT_LDAP_BIND_EXTERNAL
	    : ls->bind_dn != NULL  ? CT_LDAP_BIND_SIMPLE
	                           : CT_LDAP_BIND_ANONYMOUS;
	s.bind_dn = ls->bind_dn;
	s.bind_password_file = ls->bind_password_file;
	s.network_timeout_ms = ls->timeout_ms;
	s.op_timeout_ms = ls->timeout_ms;
	ls->write_s = s;
	ls->write_s.uris = ls->write_uris;
	ls->write_s.n_uris = 1;
	s.n_uris = ls->read_s.n_uris;
	ls->read_s = s;
	ls->read_s.uris = ls->read_uris;
	if (flags & CT_STORE_PRIMARY) { /* reads go to the provider too */
		ls->read_s.uris = ls->write_uris;
		ls->read_s.n_uris = 1;
	}
}

/* The files handle at store.path (created with CREATE), and with
 * CT_STORE_TOKENS the key the OTP secrets are sealed with. */
static int
open_files(
    struct ct_ldap_store *ls, const struct ct_config *cfg, unsigned flags, struct ct_err *err)
{
	struct ct_config files = *cfg;
	char name[] = "files";
	int rc;

	files.store_backend = name;
	if ((rc = ct_store_open(&files, flags & CT_STORE_CREATE, &ls->files, err)) < 0)
		return rc;
	if (!(flags & CT_STORE_TOKENS))
		return CT_OK;
	if ((rc = ct_files_keys_load(&ls->keys, ls->path, (flags & CT_STORE_CREATE) != 0, err)) < 0)
		return rc;
	ls->have_keys = 1;
	return CT_OK;
}

/* The read and write pools of store.ldap.connections each; when the reads
 * go to the write URI alone, one pool of twice as many serves both (the
 * same settings: a login opens one connection and binds once, not twice). */
static int
pools(struct ct_ldap_store *ls, const struct ct_store_ldap_conf *sl, struct ct_err *err)
{
	size_t n = (size_t)sl->connections;
	int rc;

	if (ls->read_s.n_uris == 1 && strcmp(ls->read_s.uris[0], ls->write_uris[0]) == 0) {
		if ((rc = ct_ldap_pool_new(&ls->read_s, 2 * n, &ls->read, err)) == CT_OK)
			ls->write = ls->read;
		return rc;
	}
	if ((rc = ct_ldap_pool_new(&ls->read_s, n, &ls->read, err)) < 0)
		return rc;
	return ct_ldap_pool_new(&ls->write_s, n, &ls->write, err);
}

static int
ldap_open(const struct ct_config *cfg, unsigned flags, struct ct_store **out, struct ct_err *err)
{
	const struct ct_store_ldap_conf *sl = &cfg->store_ldap;
	struct ct_ldap_store *ls;
	int rc;

	if (!sl->present || sl->base == NULL || sl->uri == NULL)
		return ct_err_set(err, CT_ECONFIG,
		    "store backend ldap: store.ldap { uri; base; } is not configured");
	if ((ls = calloc(1, sizeof(*ls))) == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	if (pthread_mutex_init(&ls->ca_mu, NULL) != 0) {
		free(ls);
		return ct_err_set(err, CT_ENOMEM, "store backend ldap: cannot set up a lock");
	}
	if (pthread_mutex_init(&ls->down_mu, NULL) != 0) {
		pthread_mutex_destroy(&ls->ca_mu);
		free(ls);
		return ct_err_set(err, CT_ENOMEM, "store backend ldap: cannot set up a lock");
	}
	ls->timeout_ms = sl->timeout * 1000;
	ls->cache_max_age = sl->cache_max_age;
	if ((rc = copy_conf(ls, cfg, err)) < 0)
		goto out;
	settings(ls, sl, flags);
	if ((rc = pools(ls, sl, err)) < 0 || (rc = open_files(ls, cfg, flags, err)) < 0)
		goto out;
	ls->base.op_timeout_ms = ls->timeout_ms;
	*out = &ls->base;
	ls = NULL;
out:
	ldap_close(ls != NULL ? &ls->base : NULL);
	return rc;
}

const struct ct_store_ops ct_store_ldap_ops = {
    .name = "ldap",
    .open = ldap_open,
    .close = ldap_close,
    .tx_begin = ct_lstore_tx_begin,
    .tx_read = ct_lstore_tx_read,
    .tx_write = ct_lstore_tx_write,
    .tx_end = ct_lstore_tx_end,
    .tokens_exists = ct_lstore_tokens_exists,
    .tokens_peek = ct_lstore_tokens_peek,
    .tokens_foreach_user = ct_lstore_tokens_foreach_user,
    .ca_open = ct_lstore_ca_open,
    .ca_close = ct_lstore_ca_close,
    .ca_current = ct_lstore_ca_current,
    .ca_has = ct_lstore_ca_has,
    .ca_read = ct_lstore_ca_read,
    .ca_version = ct_lstore_ca_version,
    .ca_key_read = ct_lstore_ca_key_read,
    .ca_create = ct_lstore_ca_create,
    .ca_replace = ct_lstore_ca_replace,
    .crl_publish = ct_lstore_crl_publish,
    .crl_read = ct_lstore_crl_read,
    .cert_add = ct_lstore_cert_add,
    .cert_remove = ct_lstore_cert_remove,
    .cert_get = ct_lstore_cert_get,
    .cert_foreach = ct_lstore_cert_foreach,
    .revoke = ct_lstore_revoke,
    .revoked_read = ct_lstore_revoked_read,
    .revoked_get = ct_lstore_revoked_get,
    .request_save = ct_lstore_request_save,
    .request_load = ct_lstore_request_load,
    .request_remove = ct_lstore_request_remove,
    .request_polled = ct_lstore_request_polled,
    .request_foreach = ct_lstore_request_foreach,
    .upload_save = ct_lstore_upload_save,
    .upload_load = ct_lstore_upload_load,
    .upload_remove = ct_lstore_upload_remove,
};
