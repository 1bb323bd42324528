/* The files backend: opening the store at store.path, and its operations
 * table.  The layout is in store_files.h. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "store_files.h"

/* Make the token state ready: STORE/tokens (created when CREATE) and the
 * secret key. */
static int
open_tokens(struct ct_files_store *fs, int create, struct ct_err *err)
{
	int rc;

	if ((fs->tokens_dir = ct_path_join(fs->path, "tokens")) == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	rc = create ? ct_store_mkdir(fs->tokens_dir, err) : ct_store_check_dir(fs->tokens_dir, err);
	if (rc != CT_OK)
		return rc;
	return ct_files_keys_load(&fs->keys, fs->path, create, err);
}

static void
files_close(struct ct_store *st)
{
	struct ct_files_store *fs = ct_files_of(st);

	if (fs == NULL)
		return;
	ct_files_keys_free(&fs->keys);
	free(fs->tokens_dir);
	free(fs->path);
	free(fs);
}

/* The store directory must exist (or is created with CT_STORE_CREATE) and
 * be safe; with CT_STORE_TOKENS the token directory and key too. */
static int
files_open(const struct ct_config *cfg, unsigned flags, struct ct_store **out, struct ct_err *err)
{
	struct ct_files_store *fs;
	int create = (flags & CT_STORE_CREATE) != 0, rc;

	if ((fs = calloc(1, sizeof(*fs))) == NULL)
		return ct_err_set(err, CT_ENOMEM, "out of memory");
	if ((fs->path = strdup(cfg->store_path)) == NULL) {
		rc = ct_err_set(err, CT_ENOMEM, "out of memory");
		goto out;
	}
	rc = create ? ct_store_mkdir(fs->path, err) : ct_store_check_dir(fs->path, err);
	if (rc == CT_OK && (flags & CT_STORE_TOKENS))
		rc = open_tokens(fs, create, err);
	if (rc != CT_OK)
		goto out;
	*out = &fs->base;
	fs = NULL;
out:
	files_close(fs != NULL ? &fs->base : NULL);
	return rc;
}

const struct ct_store_ops ct_store_files_ops = {
    .name = "files",
    .open = files_open,
    .close = files_close,
    .tx_begin = ct_files_tx_begin,
    .tx_read = ct_files_tx_read,
    .tx_write = ct_files_tx_write,
    .tx_end = ct_files_tx_end,
    .tokens_exists = ct_files_tokens_exists,
    .tokens_peek = ct_files_tokens_peek,
    .tokens_foreach_user = ct_files_tokens_foreach_user,
    .cert_add = ct_files_cert_add,
    .cert_remove = ct_files_cert_remove,
    .cert_get = ct_files_cert_get,
    .cert_foreach = ct_files_cert_foreach,
    .revoke = ct_files_revoke,
    .revoked_read = ct_files_revoked_read,
    .request_save = ct_files_request_save,
    .request_load = ct_files_request_load,
    .request_remove = ct_files_request_remove,
    .request_polled = ct_files_request_polled,
    .request_foreach = ct_files_request_foreach,
    .upload_save = ct_files_upload_save,
    .upload_load = ct_files_upload_load,
    .upload_remove = ct_files_upload_remove,
    .ca_open = ct_files_ca_open,
    .ca_close = ct_files_ca_close,
    .ca_current = ct_files_ca_current,
    .ca_has = ct_files_ca_has,
    .ca_read = ct_files_ca_read,
    .ca_version = ct_files_ca_version,
    .ca_key_read = ct_files_ca_key_read,
    .ca_create = ct_files_ca_create,
    .ca_replace = ct_files_ca_replace,
    .crl_publish = ct_files_crl_publish,
    .crl_read = ct_files_crl_read,
};
