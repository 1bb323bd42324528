#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "ct.h"

int
ct_err_set(struct ct_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || err->msg[0] != '\0')
		return code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

void
ct_err_prefix(struct ct_err *err, const char *fmt, ...)
{
	char pre[CT_ERR_MAX], tmp[2 * CT_ERR_MAX];
	va_list ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	snprintf(tmp, sizeof(tmp), "%s%s", pre, err->msg);
	memcpy(err->msg, tmp, sizeof(err->msg));
	err->msg[sizeof(err->msg) - 1] = '\0';
}

void
ct_err_openssl(struct ct_err *err)
{
	unsigned long e = ERR_get_error();
	size_t len;

	if (err != NULL && e != 0) {
		len = strlen(err->msg);
		if (len + 3 < sizeof(err->msg))
			snprintf(err->msg + len, sizeof(err->msg) - len, " (%s)",
			    ERR_reason_error_string(e) ? ERR_reason_error_string(e) : "unknown");
	}
	ERR_clear_error();
}

void
ct_err_clear(struct ct_err *err)
{
	if (err != NULL) {
		err->code = 0;
		err->msg[0] = '\0';
	}
}

int
ct_exit_status(int code)
{
	switch (code) {
	case CT_OK: return EX_OK;
	case CT_EUSAGE: return EX_USAGE;
	case CT_EINVAL: return EX_DATAERR;
	case CT_ENOENT: return EX_DATAERR;
	case CT_EUNAVAIL: return EX_UNAVAILABLE;
	case CT_EPENDING: return EX_TEMPFAIL;
	case CT_ECONFLICT: return EX_TEMPFAIL;
	case CT_EPERM: return EX_NOPERM;
	case CT_ELOCKED: return EX_NOPERM;
	case CT_ECONFIG: return EX_CONFIG;
	case CT_EIO: return EX_IOERR;
	case CT_EEXIST: return EX_CANTCREAT;
	case CT_ECRYPTO: return EX_SOFTWARE;
	case CT_ENOMEM: return EX_OSERR;
	default: return EX_SOFTWARE;
	}
}

void
ct_free_secret(char *s)
{
	if (s != NULL)
		OPENSSL_clear_free(s, strlen(s));
}

void
ct_json_string(FILE *f, const char *s)
{
	putc('"', f);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", (unsigned char)*s);
		else
			putc(*s, f);
	}
	putc('"', f);
}

void
ct_put_field16(unsigned char **p, const void *data, size_t len)
{
	(*p)[0] = (unsigned char)(len >> 8);
	(*p)[1] = (unsigned char)len;
	memcpy(*p + 2, data, len);
	*p += 2 + len;
}
