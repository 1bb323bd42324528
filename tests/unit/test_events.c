/* Event handlers: conditions, templates, and the actions run against a
 * fake sendmail and a recording command in a temporary directory. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "attrs.h"
#include "conf.h"
#include "events.h"

#define LOG_LINES 16

struct logs {
	int n;
	int prio[LOG_LINES];
	char line[LOG_LINES][1024];
};

struct fx {
	char dir[64];
	char path[256]; /* scratch */
	struct logs logs;
	struct ct_token tok;
	struct ct_attrs *attrs;
	struct ct_event_ctx ctx;
	struct ct_config *cfg;
};

static void
collect(void *arg, int prio, const char *line)
{
	struct logs *l = arg;

	if (l->n < LOG_LINES) {
		l->prio[l->n] = prio;
		snprintf(l->line[l->n], sizeof(l->line[0]), "%s", line);
		l->n++;
	}
}

/* The first line logged at PRIO that contains NEEDLE, or NULL. */
static const char *
logged(const struct logs *l, int prio, const char *needle)
{
	for (int i = 0; i < l->n; i++)
		if (l->prio[i] == prio && strstr(l->line[i], needle) != NULL)
			return l->line[i];
	return NULL;
}

static void
dump_logs(const struct logs *l)
{
	for (int i = 0; i < l->n; i++)
		fprintf(stderr, "log %d: %s\n", l->prio[i], l->line[i]);
}

static const char *
in_dir(struct fx *f, const char *name)
{
	snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, name);
	return f->path;
}

/* The contents of DIR/NAME, NULL when it does not exist. */
static char *
slurp(struct fx *f, const char *name)
{
	FILE *fp = fopen(in_dir(f, name), "r");
	char *buf;
	size_t n;

	if (fp == NULL)
		return NULL;
	assert_non_null(buf = calloc(1, 1 << 20));
	n = fread(buf, 1, (1 << 20) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

/* An executable shell script DIR/NAME; "@DIR@" in TEXT is the directory. */
static void
script(struct fx *f, const char *name, const char *text)
{
	FILE *fp = fopen(in_dir(f, name), "w");
	const char *p;

	assert_non_null(fp);
	fputs("#!/bin/sh\n", fp);
	for (p = text; *p != '\0'; p++) {
		if (strncmp(p, "@DIR@", 5) == 0) {
			fputs(f->dir, fp);
			p += 4;
		} else
			fputc(*p, fp);
	}
	fclose(fp);
	assert_int_equal(chmod(f->path, 0700), 0);
}

/* Load a configuration: "@DIR@" in TEXT is the directory. */
static void
load(struct fx *f, const char *text)
{
	char buf[8192], *o = buf;
	struct ct_diag diag = {0};
	struct ct_err err = {0};
	const char *p;

	for (p = text; *p != '\0' && o < buf + sizeof(buf) - 100; p++) {
		if (strncmp(p, "@DIR@", 5) == 0) {
			o += snprintf(o, 64, "%s", f->dir);
			p += 4;
		} else
			*o++ = *p;
	}
	*o = '\0';
	ct_config_free(f->cfg);
	f->cfg = NULL;
	if (ct_config_load_string(buf, "t.conf", &f->cfg, &diag, &err) != CT_OK)
		fail_msg("config: %s", err.msg);
	ct_diag_clear(&diag);
}

static int
fire(struct fx *f)
{
	memset(&f->logs, 0, sizeof(f->logs));
	return ct_events_fire(f->cfg, &f->ctx, collect, &f->logs);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct ct_err err = {0};

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/ct-events-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	script(f, "sendmail",
	    "printf '%s\\n' \"$@\" >> @DIR@/mail.argv\n"
	    "cat >> @DIR@/mail.msg\n");
	script(f, "hang", "sleep 30\n");
	script(f, "queuefull", "cat >/dev/null; echo 'sendmail: queue full' >&2; exit 75\n");
	script(f, "cmd",
	    "printf '%s\\n' \"$@\" > @DIR@/cmd.args\n"
	    "env > @DIR@/cmd.env\n");
	script(f, "cmdfail", "echo oops >&2; exit 4\n");

	snprintf(f->tok.serial, sizeof(f->tok.serial), "CERT1234ABCD");
	f->tok.type = CT_TOKEN_CERT;
	f->tok.active = 1;
	snprintf(f->tok.rollout_state, sizeof(f->tok.rollout_state), "enrolled");
	snprintf(f->tok.target, sizeof(f->tok.target), "vpn");
	snprintf(f->tok.cert_serial, sizeof(f->tok.cert_serial), "0A1B2C");
	f->tok.not_after = 1700000000; /* 2023-11-14T22:13:20Z */
	if ((f->attrs = ct_attrs_new()) == NULL ||
	    ct_attrs_add_raw(f->attrs, "mail", "alice@example.org", &err) != CT_OK)
		return -1;
	f->ctx.event = "token_enrolled";
	f->ctx.user = "alice";
	f->ctx.token = &f->tok;
	f->ctx.attrs = f->attrs;
	f->ctx.issuer = "CN=Group CA vpn";
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	if (system(cmd) != 0)
		return -1;
	ct_config_free(f->cfg);
	ct_attrs_free(f->attrs);
	free(f);
	return 0;
}

/* ---- conditions ---- */

static int
matches1(struct fx *f, const char *field, const char *value)
{
	struct ct_event ev = {0};

	ev.when[0].field = (char *)field;
	ev.when[0].value = (char *)value;
	ev.n_when = 1;
	return ct_event_matches(&ev, &f->ctx);
}

static void
test_matches(void **state)
{
	struct fx *f = *state;
	struct ct_event ev = {0};

	assert_true(ct_event_matches(&ev, &f->ctx)); /* no condition */
	assert_true(matches1(f, "rollout_state", "enrolled"));
	assert_false(matches1(f, "rollout_state", "pending"));
	assert_true(matches1(f, "type", "certificate"));
	assert_true(matches1(f, "type", "cert"));
	assert_false(matches1(f, "type", "totp"));
	assert_true(matches1(f, "target", "vpn"));
	assert_false(matches1(f, "target", "VPN"));
	assert_true(matches1(f, "active", "true"));
	assert_false(matches1(f, "active", "false"));
	assert_true(matches1(f, "user", "alice"));
	assert_false(matches1(f, "user", "bob"));
	f->tok.active = 0;
	assert_true(matches1(f, "active", "false"));
	f->tok.type = CT_TOKEN_TOTP;
	assert_true(matches1(f, "type", "totp"));
	assert_false(matches1(f, "type", "cert"));

	/* all must hold */
	ev.when[0].field = "user", ev.when[0].value = "alice";
	ev.when[1].field = "type", ev.when[1].value = "totp";
	ev.n_when = 2;
	assert_true(ct_event_matches(&ev, &f->ctx));
	ev.when[1].value = "hotp";
	assert_false(ct_event_matches(&ev, &f->ctx));

	/* without a token only the user can match */
	f->ctx.token = NULL;
	assert_true(matches1(f, "user", "alice"));
	assert_false(matches1(f, "rollout_state", ""));
	assert_false(matches1(f, "active", "false"));
}

/* ---- templates ---- */

static void
expect_expand(struct fx *f, const char *tmpl, int one_line, const char *want)
{
	char out[1024];
	struct ct_err err = {0};

	if (ct_event_expand(tmpl, &f->ctx, one_line, out, sizeof(out), &err) != CT_OK)
		fail_msg("expand \"%s\": %s", tmpl, err.msg);
	assert_string_equal(out, want);
}

static void
test_expand(void **state)
{
	struct fx *f = *state;
	char host[256], want[1024], out[16];
	struct ct_err err = {0};

	assert_int_equal(gethostname(host, sizeof(host)), 0);
	snprintf(want, sizeof(want),
	    "token_enrolled|alice|CERT1234ABCD|certificate|enrolled|vpn|0A1B2C|"
	    "2023-11-14T22:13:20Z|%s|CN=Group CA vpn",
	    host);
	expect_expand(f,
	    "{event}|{user}|{serial}|{type}|{rollout_state}|{target}|{cert_serial}|"
	    "{not_after}|{host}|{issuer}",
	    0, want);

	/* braces */
	expect_expand(f, "{{user}} is {user}", 0, "{user}} is alice");
	expect_expand(f, "{{{user}", 0, "{alice");
	expect_expand(f, "a } b {nope} c {", 0, "a } b {nope} c {");
	expect_expand(f, "", 0, "");

	/* line breaks in values: kept, or spaces in one_line mode (the
	 * template's own are the template's) */
	f->ctx.issuer = "CN=x\r\nBcc: victim@example.org\n";
	expect_expand(f, "a\n{issuer}", 0, "a\nCN=x\r\nBcc: victim@example.org\n");
	expect_expand(f, "a\n{issuer}", 1, "a\nCN=x  Bcc: victim@example.org ");

	/* C1 controls, bidi overrides and line separators in values: '?' (issue 13) */
	f->ctx.issuer = "CN=a\xc2\x9b"
	                "b\xe2\x80\xae"
	                "c\xe2\x80\xa8"
	                "d\xff";
	f->ctx.user = "al\xe2\x81\xa6"
	              "ice";
	expect_expand(f, "{issuer} {user}", 0, "CN=a?b?c?d? al?ice");
	f->ctx.user = "alice";

	/* empty values */
	f->tok.not_after = 0;
	f->ctx.issuer = NULL;
	expect_expand(f, "[{not_after}][{issuer}]", 0, "[][]");
	f->ctx.token = NULL;
	expect_expand(f, "[{serial}][{type}][{user}]", 0, "[][][alice]");
	f->ctx.token = &f->tok;

	/* overflow */
	assert_int_equal(ct_event_expand("0123456789{user}", &f->ctx, 0, out, 16, &err), CT_OK);
	assert_string_equal(out, "0123456789alice");
	assert_int_equal(ct_event_expand("0123456789{user}", &f->ctx, 0, out, 15, &err), CT_EINVAL);
	assert_string_equal(out, "");
	assert_non_null(strstr(err.msg, "more than 14 bytes"));
	ct_err_clear(&err);
	assert_int_equal(ct_event_expand("{{{{", &f->ctx, 0, out, 2, &err), CT_EINVAL);
}

static void
test_need_attrs(void **state)
{
	struct fx *f = *state;

	load(f,
	    "events = ( { event = \"token_init\"; action = \"email\"; to = \"tokenowner\"; },\n"
	    "  { event = \"token_enrolled\"; action = \"email\"; to = \"sec@example.org\"; },\n"
	    "  { event = \"token_revoked\"; action = \"syslog\"; } );\n");
	assert_true(ct_events_need_attrs(f->cfg, "token_init"));
	assert_false(ct_events_need_attrs(f->cfg, "token_enrolled"));
	assert_false(ct_events_need_attrs(f->cfg, "token_revoked"));
	assert_false(ct_events_need_attrs(f->cfg, "cert_expiring"));
}

/* ---- e-mail ---- */

#define MAIL_CONF                                                                                  \
	"mail: { sendmail = \"@DIR@/sendmail\"; from = \"ca@example.org\"; timeout = 5; };\n"

static void
test_mail_fixed_address(void **state)
{
	struct fx *f = *state;
	char *argv, *msg, *body, want[128];

	load(f,
	    MAIL_CONF
	    "events = (\n"
	    "  { event = \"token_enrolled\"; action = \"email\"; to = \"sec@example.org\";\n"
	    "    subject = \"New token {serial} for {user}\";\n"
	    "    body = \"Token {serial}\\r\\nof {user}, valid until {not_after}.\"; } );\n");
	if (fire(f) != 0) {
		dump_logs(&f->logs);
		fail();
	}
	assert_non_null(argv = slurp(f, "mail.argv"));
	assert_string_equal(argv, "-i\n--\nsec@example.org\n");
	assert_non_null(msg = slurp(f, "mail.msg"));
	assert_non_null(body = strstr(msg, "\n\n"));
	body[1] = '\0'; /* msg: the header block */
	body += 2;
	assert_string_equal(
	    body, "Token CERT1234ABCD\nof alice, valid until 2023-11-14T22:13:20Z.\n");
	assert_true(strncmp(msg, "From: ca@example.org\nTo: sec@example.org\n", 41) == 0);
	assert_non_null(strstr(msg, "\nSubject: New token CERT1234ABCD for alice\n"));
	assert_non_null(strstr(msg, "\nDate: "));
	assert_non_null(strstr(msg, " +0000\n"));
	assert_non_null(strstr(msg, "\nMessage-ID: <"));
	assert_non_null(strstr(msg, "\nMIME-Version: 1.0\n"));
	assert_non_null(strstr(msg, "\nContent-Type: text/plain; charset=UTF-8\n"));
	assert_non_null(strstr(msg, "\nContent-Transfer-Encoding: 8bit\n"));
	assert_non_null(strstr(msg, "\nAuto-Submitted: auto-generated\n"));
	assert_null(strchr(msg, '\r'));
	snprintf(want, sizeof(want),
	    "event token_enrolled (handler at config line %d): e-mail to sec@example.org sent",
	    f->cfg->events[0].line);
	assert_non_null(logged(&f->logs, LOG_INFO, want));
	free(argv);
	free(msg);
}

static void
test_mail_tokenowner(void **state)
{
	struct fx *f = *state;
	char *argv, *msg;

	load(f,
	    MAIL_CONF "events = ( { event = \"token_enrolled\"; action = \"email\";\n"
	              "  to = \"tokenowner\"; when = { type = \"cert\"; active = true; }; } );\n");
	assert_int_equal(fire(f), 0);
	assert_non_null(argv = slurp(f, "mail.argv"));
	assert_string_equal(argv, "-i\n--\nalice@example.org\n");
	assert_non_null(msg = slurp(f, "mail.msg"));
	assert_non_null(strstr(msg, "\nTo: alice@example.org\n"));
	/* the default subject and body */
	assert_non_null(
	    strstr(msg, "\nSubject: certtoken: token_enrolled for token CERT1234ABCD of alice\n"));
	assert_non_null(
	    strstr(msg, "token CERT1234ABCD (certificate) of user alice, target vpn,\n"));
	assert_non_null(logged(&f->logs, LOG_INFO, "e-mail to alice@example.org sent"));
	free(argv);
	free(msg);
}

/* No usable address of the owner: a failure naming user and attribute, no mail. */
static void
test_mail_owner_without_address(void **state)
{
	struct fx *f = *state;
	struct ct_attrs *none = ct_attrs_new(), *bad = ct_attrs_new();
	struct ct_err err = {0};

	assert_non_null(none);
	assert_non_null(bad);
	assert_int_equal(ct_attrs_add_raw(none, "cn", "Alice", &err), CT_OK);
	assert_int_equal(ct_attrs_add_raw(bad, "mail", "-oQ/tmp/x@example.org", &err), CT_OK);
	load(f,
	    MAIL_CONF "events = ( { event = \"token_enrolled\"; action = \"email\";\n"
	              "  to = \"tokenowner\"; } );\n");

	f->ctx.attrs = none;
	assert_int_equal(fire(f), 1);
	assert_non_null(logged(&f->logs, LOG_ERR, "user alice has no 'mail' attribute"));

	f->ctx.attrs = NULL;
	assert_int_equal(fire(f), 1);
	assert_non_null(logged(&f->logs, LOG_ERR, "user alice has no 'mail' attribute"));

	f->ctx.attrs = bad;
	assert_int_equal(fire(f), 1);
	assert_non_null(logged(&f->logs, LOG_ERR,
	    "the 'mail' attribute of user alice is not a usable e-mail address"));

	assert_null(slurp(f, "mail.argv"));
	assert_null(slurp(f, "mail.msg"));
	f->ctx.attrs = f->attrs;
	ct_attrs_free(none);
	ct_attrs_free(bad);
}

static void
test_no_match_sends_nothing(void **state)
{
	struct fx *f = *state;

	load(f,
	    MAIL_CONF
	    "events = (\n"
	    "  { event = \"token_enrolled\"; action = \"email\"; to = \"a@example.org\";\n"
	    "    when = { rollout_state = \"pending\"; }; },\n"
	    "  { event = \"token_enrolled\"; action = \"email\"; to = \"b@example.org\";\n"
	    "    when = { user = \"alice\"; type = \"totp\"; }; },\n"
	    "  { event = \"token_revoked\"; action = \"email\"; to = \"c@example.org\"; } "
	    ");\n");
	assert_int_equal(fire(f), 0);
	assert_int_equal(f->logs.n, 0);
	assert_null(slurp(f, "mail.msg"));
}

/* A line break in a value never starts a header of its own. */
static void
test_mail_header_injection(void **state)
{
	struct fx *f = *state;
	char *msg;

	f->ctx.issuer = "CN=x\nBcc: victim@example.org";
	load(f,
	    MAIL_CONF "events = ( { event = \"token_enrolled\"; action = \"email\";\n"
	              "  to = \"sec@example.org\"; subject = \"issued by {issuer}\"; } );\n");
	assert_int_equal(fire(f), 0);
	assert_non_null(msg = slurp(f, "mail.msg"));
	assert_non_null(strstr(msg, "\nSubject: issued by CN=x Bcc: victim@example.org\n"));
	assert_null(strstr(msg, "\nBcc:"));
	free(msg);
}

/* Decode every encoded-word of the Subject: header in MSG into OUT. */
static void
decode_subject(const char *msg, char *out, size_t outsz)
{
	const char *p = strstr(msg, "\nSubject:"), *end;
	unsigned char dec[128];
	size_t len = 0;
	int n;

	assert_non_null(p);
	p += 9;
	for (;;) {
		assert_true(strncmp(p, " =?UTF-8?B?", 11) == 0);
		p += 11;
		assert_non_null(end = strstr(p, "?=\n"));
		assert_true(end - p + 12 <= 75); /* RFC 2047's limit for a word */
		assert_true(end - p <= (int)(4 * sizeof(dec) / 3));
		n = EVP_DecodeBlock(dec, (const unsigned char *)p, (int)(end - p));
		assert_true(n > 2);
		n -= (end[-1] == '=') + (end[-2] == '='); /* padding decodes to NULs */
		/* a word never ends in the middle of a UTF-8 sequence */
		assert_true((dec[n - 1] & 0x80) == 0 || (dec[n - 1] & 0xc0) == 0x80);
		assert_true(len + (size_t)n < outsz);
		memcpy(out + len, dec, (size_t)n);
		len += (size_t)n;
		p = end + 3; /* a folding space starts the next word */
		if (*p != ' ')
			break;
	}
	out[len] = '\0';
}

static void
test_mail_subject_utf8(void **state)
{
	struct fx *f = *state;
	char *msg, subject[512];
	const char *long_subject = "Zertifikat für {user}: äöü ÄÖÜ ß € — こんにちは, "
	                           "the quick brown fox jumps over the lazy dog ✓";

	load(f,
	    MAIL_CONF "events = ( { event = \"token_enrolled\"; action = \"email\";\n"
	              "  to = \"sec@example.org\"; subject = \"Zertifikat für {user}\"; } );\n");
	assert_int_equal(fire(f), 0);
	assert_non_null(msg = slurp(f, "mail.msg"));
	assert_non_null(strstr(msg, "\nSubject: =?UTF-8?B?WmVydGlmaWthdCBmw7xyIGFsaWNl?=\n"));
	free(msg);

	/* long: several words, each whole characters */
	unlink(in_dir(f, "mail.msg"));
	snprintf(subject, sizeof(subject),
	    MAIL_CONF "events = ( { event = \"token_enrolled\"; action = \"email\";\n"
	              "  to = \"sec@example.org\"; subject = \"%s\"; } );\n",
	    long_subject);
	load(f, subject);
	assert_int_equal(fire(f), 0);
	assert_non_null(msg = slurp(f, "mail.msg"));
	decode_subject(msg, subject, sizeof(subject));
	assert_string_equal(subject,
	    "Zertifikat für alice: äöü ÄÖÜ ß € — こんにちは, "
	    "the quick brown fox jumps over the lazy dog ✓");
	free(msg);
}

/* sendmail that hangs is cut off at mail.timeout; one that fails is logged. */
static void
test_mail_failures(void **state)
{
	struct fx *f = *state;
	struct timespec t0, t1;
	double took;

	load(f,
	    "mail: { sendmail = \"@DIR@/hang\"; from = \"ca@example.org\"; timeout = 1; };\n"
	    "events = ( { event = \"token_enrolled\"; action = \"email\";\n"
	    "  to = \"sec@example.org\"; } );\n");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(fire(f), 1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_true(took >= 0.9 && took < 1.6);
	assert_non_null(
	    logged(&f->logs, LOG_ERR, "e-mail to sec@example.org failed: timed out after 1 s"));

	load(f,
	    "mail: { sendmail = \"@DIR@/queuefull\"; from = \"ca@example.org\"; };\n"
	    "events = ( { event = \"token_enrolled\"; action = \"email\";\n"
	    "  to = \"sec@example.org\"; } );\n");
	assert_int_equal(fire(f), 1);
	assert_non_null(logged(&f->logs, LOG_ERR, "failed: exit 75: sendmail: queue full"));

	load(f,
	    "mail: { sendmail = \"@DIR@/nonexistent\"; from = \"ca@example.org\"; };\n"
	    "events = ( { event = \"token_enrolled\"; action = \"email\";\n"
	    "  to = \"sec@example.org\"; } );\n");
	assert_int_equal(fire(f), 1);
	assert_non_null(logged(&f->logs, LOG_ERR, "/nonexistent: No such file or directory"));
}

/* ---- syslog and command ---- */

static void
test_syslog(void **state)
{
	struct fx *f = *state;

	load(f,
	    "events = ( { event = \"token_enrolled\"; action = \"syslog\";\n"
	    "  body = \"token {serial}\\nof {user}\\n\"; } );\n");
	assert_int_equal(fire(f), 0);
	assert_int_equal(f->logs.n, 1);
	assert_int_equal(f->logs.prio[0], LOG_NOTICE);
	assert_string_equal(f->logs.line[0], "token CERT1234ABCD of alice");

	/* the default body, on one line */
	load(f, "events = ( { event = \"token_enrolled\"; action = \"syslog\"; } );\n");
	assert_int_equal(fire(f), 0);
	assert_int_equal(f->logs.n, 1);
	assert_null(strchr(f->logs.line[0], '\n'));
	assert_non_null(strstr(f->logs.line[0], "token CERT1234ABCD (certificate) of user alice"));
}

static void
test_command(void **state)
{
	struct fx *f = *state;
	char *args, *env;

	load(f,
	    "events = ( { event = \"token_enrolled\"; action = \"command\";\n"
	    "  command = [\"@DIR@/cmd\", \"{serial}\", \"user={user}\", \"{{literal}\",\n"
	    "    \"{not_after} {issuer}\"]; } );\n");
	if (fire(f) != 0) {
		dump_logs(&f->logs);
		fail();
	}
	assert_non_null(args = slurp(f, "cmd.args"));
	assert_string_equal(
	    args, "CERT1234ABCD\nuser=alice\n{literal}\n2023-11-14T22:13:20Z CN=Group CA vpn\n");
	assert_non_null(env = slurp(f, "cmd.env"));
	assert_non_null(strstr(env, "PATH=/usr/sbin:/usr/bin:/sbin:/bin\n"));
	assert_non_null(strstr(env, "CERTTOKEN_EVENT=token_enrolled\n"));
	assert_non_null(strstr(env, "CERTTOKEN_USER=alice\n"));
	assert_non_null(strstr(env, "CERTTOKEN_SERIAL=CERT1234ABCD\n"));
	assert_non_null(strstr(env, "CERTTOKEN_TYPE=certificate\n"));
	assert_non_null(strstr(env, "CERTTOKEN_ROLLOUT_STATE=enrolled\n"));
	assert_non_null(strstr(env, "CERTTOKEN_TARGET=vpn\n"));
	assert_non_null(strstr(env, "CERTTOKEN_CERT_SERIAL=0A1B2C\n"));
	assert_non_null(strstr(env, "CERTTOKEN_NOT_AFTER=2023-11-14T22:13:20Z\n"));
	assert_non_null(strstr(env, "CERTTOKEN_HOST="));
	assert_non_null(strstr(env, "CERTTOKEN_ISSUER=CN=Group CA vpn\n"));
	assert_null(strstr(env, "HOME="));
	assert_non_null(logged(&f->logs, LOG_INFO, "ran (exit 0)"));
	free(args);
	free(env);

	/* a failing command counts and is logged with its stderr */
	load(f,
	    "events = ( { event = \"token_enrolled\"; action = \"command\";\n"
	    "  command = [\"@DIR@/cmdfail\"]; } );\n");
	assert_int_equal(fire(f), 1);
	assert_non_null(logged(&f->logs, LOG_ERR, "cmdfail failed: exit 4: oops"));
}

/* Every matching handler runs; the result counts the failures. */
static void
test_several_handlers(void **state)
{
	struct fx *f = *state;

	load(f,
	    MAIL_CONF
	    "events = (\n"
	    "  { event = \"token_enrolled\"; action = \"syslog\"; body = \"one\"; },\n"
	    "  { event = \"token_enrolled\"; action = \"command\";\n"
	    "    command = [\"@DIR@/cmdfail\"]; },\n"
	    "  { event = \"token_enrolled\"; action = \"email\"; to = \"tokenowner\"; },\n"
	    "  { event = \"token_enrolled\"; action = \"syslog\"; body = \"two\"; } );\n");
	assert_int_equal(fire(f), 1);
	assert_non_null(logged(&f->logs, LOG_NOTICE, "one"));
	assert_non_null(logged(&f->logs, LOG_NOTICE, "two"));
	assert_non_null(logged(&f->logs, LOG_INFO, "e-mail to alice@example.org sent"));

	/* a NULL log function is allowed */
	assert_int_equal(ct_events_fire(f->cfg, &f->ctx, NULL, NULL), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_matches, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_expand, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_need_attrs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mail_fixed_address, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mail_tokenowner, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mail_owner_without_address, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_match_sends_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mail_header_injection, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mail_subject_utf8, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mail_failures, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_syslog, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_command, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_several_handlers, setup, teardown),
	};

	return cmocka_run_group_tests_name("events", tests, NULL, NULL);
}
