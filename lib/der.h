/* DER: one bounded reader and the few writers leaf assembly needs.
 *
 * The reader is a cursor over (pointer, length).  Every read consumes one
 * whole element or fails and leaves the cursor where it was.  It accepts
 * DER only: a one-byte tag, a definite length in the shortest form (at most
 * CT_DER_LEN_OCTETS long-form octets, at most CT_DER_LEN_MAX), checked
 * against the bytes that remain before anything is used.  Indefinite
 * lengths, high tag numbers and non-minimal lengths fail. */
#ifndef CT_DER_H
#define CT_DER_H

#include <stddef.h>

#define CT_DER_LEN_OCTETS 3 /* long-form length octets we read and write */
#define CT_DER_LEN_MAX 0xffffffu /* largest element content, in bytes */

/* Tags of the universal types certtoken reads and writes. */
#define CT_DER_INTEGER 0x02
#define CT_DER_BIT_STRING 0x03
#define CT_DER_OID 0x06
#define CT_DER_SEQUENCE 0x30

/* A reader: LEFT bytes from P on. */
struct ct_der {
	const unsigned char *p;
	size_t left;
};

/* A reader over the LEN bytes at P. */
void ct_der_init(struct ct_der *d, const unsigned char *p, size_t len);

/* Read the next element of D, which must have tag TAG.  CONTENT (may be
 * NULL) becomes a reader over its content, ELEM (may be NULL) a reader over
 * the whole element, header included; D moves past it.  CT_EINVAL, with D,
 * CONTENT and ELEM unchanged, on a wrong tag, a truncated header, a length
 * past the end of D or over CT_DER_LEN_MAX, or a length not in DER form. */
int ct_der_read(struct ct_der *d, unsigned char tag, struct ct_der *content, struct ct_der *elem);

/* The tag of D's next element, or -1 when D is empty. */
int ct_der_peek(const struct ct_der *d);

/* Has D been read to its end? */
int ct_der_done(const struct ct_der *d);

/* Bytes of an element header for content of LEN bytes (LEN <= CT_DER_LEN_MAX). */
size_t ct_der_header_len(size_t len);

/* Write the header of a TAG element with LEN bytes of content at P (room for
 * ct_der_header_len(LEN) bytes); gives the byte after it. */
unsigned char *ct_der_put_header(unsigned char *p, unsigned char tag, size_t len);

/* A piece of content: N bytes at P. */
struct ct_der_part {
	const unsigned char *p;
	size_t n;
};

/* A new TAG element (malloc'd) whose content is the N PARTS one after the
 * other.  CT_EINVAL when that is over CT_DER_LEN_MAX, CT_ENOMEM. */
int ct_der_wrap(unsigned char tag, const struct ct_der_part *parts, size_t n, unsigned char **out,
    size_t *out_len);

#endif
