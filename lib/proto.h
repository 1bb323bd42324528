/* The wire protocol between certtoken-enroll and certtokend.
 *
 * A frame is a 4-byte big-endian length N (CT_PROTO_MIN..CT_PROTO_FRAME_MAX)
 * followed by N bytes: the protocol version (1 byte), the message type
 * (1 byte) and fields.  A field is a tag (1 byte), a 2-byte big-endian
 * length and that many bytes of value.  A message has at most
 * CT_PROTO_FIELDS_MAX fields; a field's value may itself be a field list
 * (CT_TAG_TOKEN_INFO), parsed with ct_fields_parse.
 *
 * The parser never trusts a length: every field must lie inside the frame
 * and the frame must end exactly after its last field. */
#ifndef CT_PROTO_H
#define CT_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "ct.h"

#define CT_PROTO_VERSION 1
#define CT_PROTO_MIN 2 /* version and type */
#define CT_PROTO_FRAME_MAX 65536 /* bytes after the length prefix */
#define CT_PROTO_FIELDS_MAX 64
#define CT_PROTO_TEXT_MAX 1024 /* bytes of a prompt, answer or message */
#define CT_PROTO_PROMPTS_MAX 8 /* messages in one conversation round */

enum ct_msg_type {
	/* client -> service */
	CT_MSG_ENROLL = 1, /* TARGET (optional), CSR, ATTESTATION (optional) */
	CT_MSG_STATUS = 2, /* no fields */
	CT_MSG_CONV_REPLY = 3, /* one ANSWER per PROMPT, in order */
	CT_MSG_FETCH = 4, /* TOKEN: collect the certificate of a pending request */
	CT_MSG_UPLOAD = 5, /* CERT; answered by CHALLENGE, then PROOF */
	CT_MSG_PROOF = 6, /* SIGNATURE over the proof-of-possession message */
	CT_MSG_KEYGEN = 7, /* TARGET (optional), PIN (optional), LEGACY (optional) */
	/* service -> client */
	CT_MSG_CONV = 0x81, /* PROMPT... */
	CT_MSG_RESULT = 0x82, /* CODE, MESSAGE; enroll/fetch: TARGET CERT TOKEN (75: TARGET
	                         TOKEN), enroll also SSH_CERT for an ssh target; upload: TOKEN;
	                         keygen: TARGET CERT TOKEN PKCS12 PASSWORD (when the service chose
	                         it); status: TOKEN_INFO... */
	CT_MSG_CHALLENGE = 0x83 /* NONCE: sign it to prove possession */
};

enum ct_tag {
	CT_TAG_TARGET = 1, /* text: a target name */
	CT_TAG_CSR = 2, /* DER PKCS#10 */
	CT_TAG_ANSWER = 3, /* text: a reply to one prompt ("" for messages) */
	CT_TAG_PROMPT = 4, /* 1 byte PAM message style, then text */
	CT_TAG_CODE = 5, /* 1 byte: the exit status the client should give */
	CT_TAG_MESSAGE = 6, /* text: one line for the user */
	CT_TAG_CERT = 7, /* DER certificate */
	CT_TAG_TOKEN = 8, /* text: a token serial */
	CT_TAG_TOKEN_INFO = 9, /* a field list of the tags below */
	CT_TAG_ATTESTATION = 10, /* PEM or DER: the attestation certificate(s) */
	CT_TAG_NONCE = 11, /* random bytes */
	CT_TAG_SIGNATURE = 12, /* a signature */
	CT_TAG_PIN = 13, /* text: the token PIN that encrypts a PKCS#12 (secret) */
	CT_TAG_LEGACY = 14, /* 1 byte, 1: legacy PKCS#12 encryption */
	CT_TAG_PKCS12 = 15, /* DER PKCS#12 (holds a private key) */
	CT_TAG_PASSWORD = 16, /* text: the one-time PKCS#12 password (secret) */
	CT_TAG_SSH_CERT = 17, /* text: an OpenSSH certificate line "TYPE BASE64 KEYID"
	                         (enroll's RESULT, when the target issues one; clients
	                         that do not know it ignore it) */
	/* inside TOKEN_INFO; numbers are decimal text */
	CT_TAG_TI_SERIAL = 20,
	CT_TAG_TI_TYPE = 21,
	CT_TAG_TI_ACTIVE = 22,
	CT_TAG_TI_ROLLOUT = 23,
	CT_TAG_TI_DESC = 24,
	CT_TAG_TI_FAILCOUNT = 25,
	CT_TAG_TI_LOCKED_UNTIL = 26,
	CT_TAG_TI_TARGET = 27,
	CT_TAG_TI_CERT_SERIAL = 28,
	CT_TAG_TI_NOT_AFTER = 29,
	CT_TAG_TI_ISSUER = 30 /* optional */
};

struct ct_field {
	uint8_t tag;
	uint16_t len;
	const unsigned char *val; /* points into the message's buffer */
};

struct ct_msg {
	uint8_t type;
	size_t n;
	struct ct_field f[CT_PROTO_FIELDS_MAX];
	unsigned char *buf; /* owned by ct_msg_recv's messages */
	size_t buf_len;
};

/* Build a message in memory, then send it. */
struct ct_msgbuf {
	unsigned char *p;
	size_t len, cap;
	size_t fields;
	int failed; /* too large, too many fields or out of memory */
};

/* Start a message of TYPE (room for the length prefix included). */
int ct_msgbuf_init(struct ct_msgbuf *b, uint8_t type);
/* Append a field; an error (too large, too many fields, out of memory) is
 * remembered in B->failed and reported by ct_msg_send.  A send that fails
 * part-way leaves the stream out of step: close the connection. */
void ct_msgbuf_add(struct ct_msgbuf *b, uint8_t tag, const void *val, size_t len);
void ct_msgbuf_add_str(struct ct_msgbuf *b, uint8_t tag, const char *s);
void ct_msgbuf_add_num(struct ct_msgbuf *b, uint8_t tag, long long v);
/* Wipe and free the buffer. */
void ct_msgbuf_free(struct ct_msgbuf *b);
/* The field list of B (without prefix, version and type), for nesting it
 * as the value of another field; check B->failed first. */
const unsigned char *ct_msgbuf_fields(const struct ct_msgbuf *b, size_t *len);

/* Monotonic milliseconds, for deadlines. */
int64_t ct_now_ms(void);

/* Send B on FD before DEADLINE_MS (ct_now_ms clock).  CT_EINVAL if B could
 * not be built; CT_EIO on a write error or a closed peer; CT_EUNAVAIL when
 * the deadline passes. */
int ct_msg_send(int fd, struct ct_msgbuf *b, int64_t deadline_ms, struct ct_err *err);

/* Receive one frame from FD before DEADLINE_MS and parse it into M (which
 * then owns the buffer: ct_msg_free).  CT_EINVAL for a malformed frame (bad
 * length, version or field layout); CT_EIO for a read error or end of
 * stream (truncation included); CT_EUNAVAIL when the deadline passes. */
int ct_msg_recv(int fd, struct ct_msg *m, int64_t deadline_ms, struct ct_err *err);

/* Parse the N bytes of a frame (version, type, fields) into M; M's fields
 * point into DATA.  CT_EINVAL with the reason when malformed. */
int ct_msg_parse(const unsigned char *data, size_t n, struct ct_msg *m, struct ct_err *err);

/* Parse a bare field list (a TOKEN_INFO value) into M (type 0). */
int ct_fields_parse(const unsigned char *data, size_t n, struct ct_msg *m, struct ct_err *err);

/* Wipe and free the buffer of a received message. */
void ct_msg_free(struct ct_msg *m);

/* The first field with TAG, or NULL. */
const struct ct_field *ct_msg_get(const struct ct_msg *m, uint8_t tag);
/* Copy text field F into OUT (OUTSZ bytes with the NUL): CT_EINVAL if it
 * holds a NUL or an ASCII control character other than tab and newline, or
 * does not fit. */
int ct_field_text(const struct ct_field *f, char *out, size_t outsz, struct ct_err *err);
/* Decimal number in text field F, within [MIN, MAX]. */
int ct_field_num(
    const struct ct_field *f, long long min, long long max, long long *out, struct ct_err *err);

#endif
