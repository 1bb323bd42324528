/* Small helpers every layer needs: NSS lookups with a buffer that grows,
 * untrusted text made printable for a message, times as UTC text, and the
 * option table of a command-line program's commands.  None of them logs or
 * keeps state; all but ct_opts_parse (which is getopt) are safe from any
 * thread. */
#ifndef CT_UTIL_H
#define CT_UTIL_H

#include <grp.h>
#include <pwd.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ct.h"

#define CT_NSS_BUF_MAX (1024 * 1024) /* bytes: the largest entry buffer tried */

/* User NAME's passwd entry into *PW, its strings in *BUF (the caller frees
 * it): CT_OK; CT_ENOENT when NSS has no such user, CT_EUNAVAIL when the
 * name service fails (or needs more than CT_NSS_BUF_MAX), CT_ENOMEM.
 * *ERRNUM (if not NULL) gets the lookup's errno value, 0 when NSS simply
 * has no entry.  *PW and *BUF are set only on success. */
int ct_nss_getpwnam(const char *name, struct passwd *pw, char **buf, int *errnum);

/* The same for the passwd entry of UID. */
int ct_nss_getpwuid(uid_t uid, struct passwd *pw, char **buf, int *errnum);

/* The same for group NAME's entry into *GR. */
int ct_nss_getgrnam(const char *name, struct group *gr, char **buf, int *errnum);

#define CT_TEXT_ASCII 0x1 /* every byte above 0x7e becomes '?' (or \XX) */
#define CT_TEXT_ELLIPSIS 0x2 /* text cut to fit ends in "..." (when SIZE > 4) */
#define CT_TEXT_HEX 0x4 /* escapes are \XX per byte, as RFC 4514 writes names */
/* ASCII stays as it is, controls too (for a caller that deals with them itself) */
#define CT_TEXT_KEEP_ASCII 0x8

/* Copy at most LEN bytes of untrusted S (fewer at its NUL; NULL is "") into
 * BUF of SIZE bytes (at least 1) for a one-line message or a stored field:
 * UTF-8 is decoded, and each code point that could disguise or break a
 * line - C0 controls, DEL, C1 controls (U+0080-U+009F), the bidi marks,
 * embeddings, overrides and isolates (U+061C, U+200E, U+200F,
 * U+202A-U+202E, U+2066-U+2069), the line and paragraph separators (U+2028,
 * U+2029), and the invisible ones that can disguise a name (zero-width
 * space, non-joiner and joiner U+200B-U+200D, word joiner and invisible
 * operators U+2060-U+2064, U+FEFF) - becomes one '?', as does each byte that is not part of
 * well-formed UTF-8 (overlong, surrogate, above U+10FFFF, cut short).
 * Other UTF-8 is kept.  FLAGS (CT_TEXT_*) say more.  Text is cut between
 * two characters, never inside one; BUF is always terminated; returns BUF. */
const char *ct_text_printable(const char *s, size_t len, unsigned flags, char *buf, size_t size);

/* The same, returning the length the whole escaped text needs (without the
 * NUL), as snprintf does: it was cut when that is SIZE or more. */
size_t ct_text_escape(const char *s, size_t len, unsigned flags, char *buf, size_t size);

enum ct_time_style {
	CT_TIME_ISO, /* 2026-12-04T23:11:58Z */
	CT_TIME_SPACED /* 2026-12-04 23:11:58Z */
};

/* T (seconds since the epoch) as UTC text in STYLE into OUT of SIZE bytes
 * (32 are enough); "-" for 0 (never) or a time that has no calendar date.
 * Returns OUT. */
const char *ct_time_utc(int64_t t, enum ct_time_style style, char *out, size_t size);

/* One long option of a command (there are no short forms): with ARG it
 * takes a value, stored in *ARG; with FLAG it takes none and sets *FLAG to 1. */
struct ct_opt {
	const char *name;
	const char **arg;
	int *flag;
};

#define CT_OPTS_MAX 16 /* options in one table */

/* Parse the options of ARGV from optind (getopt_long, which says on stderr
 * what is wrong) by OPTS, at most CT_OPTS_MAX ended by a NULL name: CT_OK
 * with optind at the first operand; CT_EUSAGE at an unknown option or a
 * missing value; CT_EINVAL for a table that is too long. */
int ct_opts_parse(int argc, char **argv, const struct ct_opt *opts);

/* A command-line number: S all decimal digits (no sign, no space), from
 * MIN to MAX, into *OUT: 0, else -1 (*OUT untouched). */
int ct_parse_long(const char *s, long min, long max, long *out);

/* The index of NAME in NAMES (N of them; NOCASE: ignoring ASCII case), or
 * -1. */
int ct_name_index(const char *const *names, size_t n, const char *name, int nocase);

/* Text built in a caller's buffer of fixed size: P (CAP bytes), LEN used,
 * FULL once something did not fit (then nothing more is added). */
struct ct_textbuf {
	char *p;
	size_t len, cap;
	int full;
};

/* Append printf-style text to B, or mark it full (B->p stays terminated). */
void ct_textbuf_add(struct ct_textbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
