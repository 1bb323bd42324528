/* The text forms of sshcert.h: key and certificate lines, fingerprints and
 * the openssh-key-v1 private key file. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "sshcert.h"
#include "sshkey.h"
#include "sshwire.h"

#define PRIV_BEGIN "-----BEGIN OPENSSH PRIVATE KEY-----\n"
#define PRIV_END "-----END OPENSSH PRIVATE KEY-----\n"
#define PRIV_MAGIC "openssh-key-v1" /* followed by its NUL */
#define PRIV_COLUMNS 70
#define PRIV_BLOCK 8 /* the block size of cipher "none" */

int
ct_sshcert_fingerprint(
    const unsigned char *blob, size_t len, char *out, size_t size, struct ct_err *err)
{
	unsigned char md[32];
	char b64[48];
	int n;

	if (EVP_Digest(blob, len, md, NULL, EVP_sha256(), NULL) != 1)
		return ct_err_set(err, CT_ECRYPTO, "ssh fingerprint: SHA-256 failed");
	n = EVP_EncodeBlock((unsigned char *)b64, md, sizeof(md));
	while (n > 0 && b64[n - 1] == '=')
		n--;
	if (size < 7 + (size_t)n + 1)
		return ct_err_set(err, CT_EINVAL, "ssh fingerprint: %zu bytes are too few", size);
	memcpy(out, "SHA256:", 7);
	memcpy(out + 7, b64, (size_t)n);
	out[7 + n] = '\0';
	return CT_OK;
}

/* The type name at the start of BLOB, a plain key type (the key's fields
 * checked) or a certificate type known here. */
static const char *
blob_type(const unsigned char *blob, size_t len, struct ct_err *err)
{
	struct ct_sshr r;
	const unsigned char *name;
	size_t n;
	const struct ct_sshkt *kt;

	ct_sshr_init(&r, blob, len, "ssh key line");
	if (ct_sshr_string(&r, "type", 64, &name, &n, err) != CT_OK)
		return NULL;
	if ((kt = ct_sshkt_by_name(name, n, 0)) != NULL)
		return ct_sshkey_read(&r, kt, NULL, err) == CT_OK &&
		        ct_sshr_done(&r, "key", err) == CT_OK
		    ? kt->name
		    : NULL;
	if ((kt = ct_sshkt_by_name(name, n, 1)) != NULL)
		return kt->cert_name;
	ct_err_set(err, CT_EINVAL, "ssh key line: type: not a key type known here");
	return NULL;
}

int
ct_sshcert_line_format(
    const unsigned char *blob, size_t len, const char *comment, char **line, struct ct_err *err)
{
	const char *type = blob_type(blob, len, err);
	size_t tlen, clen = comment != NULL ? strlen(comment) : 0, need;
	char *s;
	int n;

	if (type == NULL)
		return CT_EINVAL;
	if (len > CT_SSHCERT_BLOB_MAX)
		return ct_err_set(
		    err, CT_EINVAL, "ssh key line: blob of %zu bytes is too long", len);
	if (comment != NULL && strpbrk(comment, "\r\n") != NULL)
		return ct_err_set(err, CT_EINVAL, "ssh key line: comment holds a line break");
	tlen = strlen(type);
	need = tlen + 1 + 4 * ((len + 2) / 3) + 1 + clen + 2;
	s = malloc(need);
	if (s == NULL)
		return ct_err_set(err, CT_ENOMEM, "ssh key line: out of memory");
	memcpy(s, type, tlen);
	s[tlen] = ' ';
	n = EVP_EncodeBlock((unsigned char *)s + tlen + 1, blob, (int)len);
	tlen += 1 + (size_t)n;
	if (clen > 0) {
		s[tlen++] = ' ';
		memcpy(s + tlen, comment, clen);
		tlen += clen;
	}
	s[tlen++] = '\n';
	s[tlen] = '\0';
	*line = s;
	return CT_OK;
}

/* Decode the base64 text of N bytes at P (padded, no white space) into a
 * new buffer. */
static int
b64_decode(const char *p, size_t n, unsigned char **out, size_t *out_len, struct ct_err *err)
{
	size_t i, pad = 0;
	unsigned char *buf;
	int m;

	if (n == 0 || n % 4 != 0 || n / 4 * 3 > CT_SSHCERT_BLOB_MAX)
		return ct_err_set(err, CT_EINVAL, "ssh key line: base64 of %zu characters", n);
	for (i = 0; i < n; i++) {
		if (p[i] == '=' && i >= n - 2 && (i == n - 1 || p[n - 1] == '='))
			pad++;
		else if (!((p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= 'a' && p[i] <= 'z') ||
		             (p[i] >= '0' && p[i] <= '9') || p[i] == '+' || p[i] == '/'))
			return ct_err_set(
			    err, CT_EINVAL, "ssh key line: base64: a wrong character at %zu", i);
	}
	buf = malloc(n / 4 * 3);
	if (buf == NULL)
		return ct_err_set(err, CT_ENOMEM, "ssh key line: out of memory");
	m = EVP_DecodeBlock(buf, (const unsigned char *)p, (int)n);
	if (m < 0 || (size_t)m != n / 4 * 3) {
		free(buf);
		return ct_err_set(err, CT_EINVAL, "ssh key line: base64 does not decode");
	}
	*out = buf;
	*out_len = (size_t)m - pad;
	return CT_OK;
}

int
ct_sshcert_line_parse(const char *line, size_t len, unsigned char **blob, size_t *blob_len,
    char **type_out, struct ct_err *err)
{
	const char *sp, *b64, *end, *type;
	unsigned char *buf = NULL;
	size_t n = 0;
	char *t = NULL;

	if (len > CT_SSHCERT_LINE_MAX)
		return ct_err_set(err, CT_EINVAL, "ssh key line: %zu bytes is too long", len);
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (memchr(line, '\0', len) != NULL || memchr(line, '\n', len) != NULL)
		return ct_err_set(err, CT_EINVAL, "ssh key line: holds a NUL or a line break");
	sp = memchr(line, ' ', len);
	if (sp == NULL || sp == line)
		return ct_err_set(err, CT_EINVAL, "ssh key line: not \"TYPE BASE64 [COMMENT]\"");
	b64 = sp + 1;
	end = memchr(b64, ' ', len - (size_t)(b64 - line));
	if (end == NULL)
		end = line + len;
	if (b64_decode(b64, (size_t)(end - b64), &buf, &n, err) != CT_OK)
		return CT_EINVAL;
	type = blob_type(buf, n, err);
	if (type == NULL || strlen(type) != (size_t)(sp - line) ||
	    memcmp(type, line, (size_t)(sp - line)) != 0) {
		free(buf);
		return ct_err_set(err, CT_EINVAL, "ssh key line: the type is not the blob's");
	}
	if (type_out != NULL && (t = strdup(type)) == NULL) {
		free(buf);
		return ct_err_set(err, CT_ENOMEM, "ssh key line: out of memory");
	}
	if (type_out != NULL)
		*type_out = t;
	*blob = buf;
	*blob_len = n;
	return CT_OK;
}

/* The private section of an openssh-key-v1 file: check integers, the key,
 * the comment, padding to PRIV_BLOCK. */
static int
put_private_section(struct ct_sshw *w, const struct ct_sshkt *kt, const EVP_PKEY *key,
    const char *comment, struct ct_err *err)
{
	uint32_t check;
	uint8_t i;

	if (RAND_bytes((unsigned char *)&check, sizeof(check)) != 1)
		return ct_err_set(err, CT_ECRYPTO, "ssh private key: no random bytes");
	ct_sshw_u32(w, check);
	ct_sshw_u32(w, check);
	if (ct_sshkey_put_private(w, kt, key, err) != CT_OK)
		return CT_ECRYPTO;
	ct_sshw_cstring(w, comment != NULL ? comment : "");
	for (i = 1; w->len % PRIV_BLOCK != 0; i++)
		ct_sshw_u8(w, i);
	return CT_OK;
}

/* The binary openssh-key-v1 content for KEY. */
static int
private_binary(const EVP_PKEY *key, const char *comment, struct ct_sshw *w, struct ct_err *err)
{
	const struct ct_sshkt *kt = ct_sshkt_of(key);
	struct ct_sshw pub = {0}, priv = {0};
	int rc = CT_EINVAL;

	if (kt == NULL)
		return ct_err_set(err, CT_EINVAL, "ssh private key: a key type SSH does not have");
	ct_sshw_cstring(&pub, kt->name);
	if (ct_sshkey_put(&pub, kt, key, err) != CT_OK ||
	    put_private_section(&priv, kt, key, comment, err) != CT_OK)
		goto out;
	ct_sshw_raw(w, PRIV_MAGIC, sizeof(PRIV_MAGIC));
	ct_sshw_cstring(w, "none");
	ct_sshw_cstring(w, "none");
	ct_sshw_cstring(w, "");
	ct_sshw_u32(w, 1);
	ct_sshw_string(w, pub.p, pub.len);
	ct_sshw_string(w, priv.p, priv.len);
	rc = w->failed || pub.failed || priv.failed
	    ? ct_err_set(err, CT_ENOMEM, "ssh private key: out of memory")
	    : CT_OK;
out:
	ct_sshw_wipe(&pub);
	ct_sshw_wipe(&priv);
	return rc;
}

int
ct_sshcert_private_key(
    const EVP_PKEY *key, const char *comment, char **out, size_t *len, struct ct_err *err)
{
	struct ct_sshw bin = {0};
	unsigned char *b64 = NULL;
	char *s = NULL;
	size_t n, i, pos;
	int m, rc;

	if (comment != NULL && strlen(comment) > CT_SSHCERT_FIELD_MAX)
		return ct_err_set(err, CT_EINVAL, "ssh private key: comment too long");
	rc = private_binary(key, comment, &bin, err);
	if (rc != CT_OK)
		goto out;
	n = 4 * ((bin.len + 2) / 3);
	b64 = OPENSSL_malloc(n + 1);
	s = OPENSSL_malloc(sizeof(PRIV_BEGIN) + n + n / PRIV_COLUMNS + 1 + sizeof(PRIV_END));
	if (b64 == NULL || s == NULL) {
		rc = ct_err_set(err, CT_ENOMEM, "ssh private key: out of memory");
		goto out;
	}
	m = EVP_EncodeBlock(b64, bin.p, (int)bin.len);
	memcpy(s, PRIV_BEGIN, sizeof(PRIV_BEGIN) - 1);
	pos = sizeof(PRIV_BEGIN) - 1;
	for (i = 0; i < (size_t)m; i += PRIV_COLUMNS) {
		n = (size_t)m - i < PRIV_COLUMNS ? (size_t)m - i : PRIV_COLUMNS;
		memcpy(s + pos, b64 + i, n);
		pos += n;
		s[pos++] = '\n';
	}
	memcpy(s + pos, PRIV_END, sizeof(PRIV_END));
	*len = pos + sizeof(PRIV_END) - 1;
	*out = s;
	s = NULL;
	rc = CT_OK;
out:
	if (b64 != NULL)
		OPENSSL_clear_free(b64, 4 * ((bin.len + 2) / 3) + 1);
	OPENSSL_free(s); /* only when nothing was written to it */
	ct_sshw_wipe(&bin);
	return rc;
}
