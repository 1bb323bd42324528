/* DER reader and writers (see der.h). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "ct.h"
#include "der.h"

void
ct_der_init(struct ct_der *d, const unsigned char *p, size_t len)
{
	d->p = p;
	d->left = len;
}

/* The length of the element at Q (AVAIL bytes from its second byte on) into
 * *LEN and the bytes of the length field into *USED; -1 unless it is DER. */
static int
read_length(const unsigned char *q, size_t avail, size_t *len, size_t *used)
{
	size_t n, i, l;

	if (avail < 1)
		return -1;
	if (q[0] < 0x80) {
		*len = q[0];
		*used = 1;
		return 0;
	}
	n = q[0] & 0x7fu; /* 0: indefinite length, which DER has not */
	if (n == 0 || n > CT_DER_LEN_OCTETS || avail - 1 < n || q[1] == 0)
		return -1; /* a leading zero octet is not the shortest form */
	for (l = 0, i = 1; i <= n; i++)
		l = (l << 8) | q[i];
	if (l < 0x80)
		return -1; /* fits the short form */
	*len = l;
	*used = 1 + n;
	return 0;
}

int
ct_der_read(struct ct_der *d, unsigned char tag, struct ct_der *content, struct ct_der *elem)
{
	size_t len, used;

	if ((tag & 0x1fu) == 0x1fu || d->left < 2 || d->p[0] != tag ||
	    read_length(d->p + 1, d->left - 1, &len, &used) != 0 || len > CT_DER_LEN_MAX ||
	    len > d->left - 1 - used)
		return CT_EINVAL;
	if (content != NULL)
		ct_der_init(content, d->p + 1 + used, len);
	if (elem != NULL)
		ct_der_init(elem, d->p, 1 + used + len);
	d->p += 1 + used + len;
	d->left -= 1 + used + len;
	return CT_OK;
}

int
ct_der_peek(const struct ct_der *d)
{
	return d->left > 0 ? d->p[0] : -1;
}

int
ct_der_done(const struct ct_der *d)
{
	return d->left == 0;
}

size_t
ct_der_header_len(size_t len)
{
	return len < 0x80 ? 2 : len <= 0xff ? 3 : len <= 0xffff ? 4 : 5;
}

unsigned char *
ct_der_put_header(unsigned char *p, unsigned char tag, size_t len)
{
	size_t n = ct_der_header_len(len) - 2;

	*p++ = tag;
	if (n == 0) {
		*p++ = (unsigned char)len;
		return p;
	}
	*p++ = (unsigned char)(0x80u | n);
	while (n-- > 0)
		*p++ = (unsigned char)(len >> (8 * n));
	return p;
}

int
ct_der_wrap(unsigned char tag, const struct ct_der_part *parts, size_t n, unsigned char **out,
    size_t *out_len)
{
	size_t i, len = 0;
	unsigned char *buf, *p;

	for (i = 0; i < n; i++) {
		if (parts[i].n > CT_DER_LEN_MAX - len)
			return CT_EINVAL;
		len += parts[i].n;
	}
	if ((buf = malloc(ct_der_header_len(len) + len)) == NULL)
		return CT_ENOMEM;
	p = ct_der_put_header(buf, tag, len);
	for (i = 0; i < n; i++) {
		if (parts[i].n > 0)
			memcpy(p, parts[i].p, parts[i].n);
		p += parts[i].n;
	}
	*out = buf;
	*out_len = (size_t)(p - buf);
	return CT_OK;
}
