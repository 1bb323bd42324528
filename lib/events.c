/* Event handlers: conditions, {placeholder} templates and the three actions
 * (e-mail through the sendmail interface, a syslog line, a command).
 *
 * Nothing here logs by itself: every line goes to the caller's log
 * function, which decides where it ends up. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "events.h"
#include "util.h"
#include "spawn.h"

#define EV_SUBJECT_MAX 990 /* "Subject: " and this stay within RFC 5322's 998 */
#define EV_BODY_MAX (64 * 1024) /* an expanded body or syslog line, with the NUL */
#define EV_HEADERS_MAX 8192 /* room for the header block of a message */
#define EV_WORD_MAX 4096 /* an expanded command word, with the NUL */
#define EV_VALUE_BUF 1024 /* a computed value: host name, time, user, issuer */
#define EV_LOG_MAX 1024
#define EV_B64_CHUNK 45 /* bytes per RFC 2047 encoded-word: 60 base64 chars, 72 in all */

/* ---- the vocabulary: events, conditions, placeholders ---- */

/* The events handlers can name, in the order messages list them. */
static const char *const event_names[] = {"token_init", "token_enrolled", "token_revoked",
    "token_deleted", "cert_rejected", "cert_expiring", NULL};

/* The token fields conditions ('when') can test. */
enum { F_ROLLOUT, F_TYPE, F_TARGET, F_ACTIVE, F_USER, F_COUNT };

static const char *const field_names[F_COUNT + 1] = {
    "rollout_state", "type", "target", "active", "user", NULL};

/* The placeholders, in the order of the environment of a command. */
enum {
	P_EVENT,
	P_USER,
	P_SERIAL,
	P_TYPE,
	P_ROLLOUT,
	P_TARGET,
	P_CERT_SERIAL,
	P_NOT_AFTER,
	P_HOST,
	P_ISSUER,
	P_COUNT
};

static const char *const placeholder_names[P_COUNT + 1] = {"event", "user", "serial", "type",
    "rollout_state", "target", "cert_serial", "not_after", "host", "issuer", NULL};

static const char *const env_names[P_COUNT] = {"CERTTOKEN_EVENT", "CERTTOKEN_USER",
    "CERTTOKEN_SERIAL", "CERTTOKEN_TYPE", "CERTTOKEN_ROLLOUT_STATE", "CERTTOKEN_TARGET",
    "CERTTOKEN_CERT_SERIAL", "CERTTOKEN_NOT_AFTER", "CERTTOKEN_HOST", "CERTTOKEN_ISSUER"};

_Static_assert(P_COUNT <= CT_SPAWN_ENV_MAX, "a command's environment holds every placeholder");

static const char *const *const vocabularies[] = {
    [CT_EVENT_WORD_EVENT] = event_names,
    [CT_EVENT_WORD_FIELD] = field_names,
    [CT_EVENT_WORD_PLACEHOLDER] = placeholder_names,
};

/* The index of NAME (LEN bytes) in the NULL-terminated WORDS, or -1. */
static int
word_index(const char *const *words, const char *name, size_t len)
{
	for (int i = 0; words[i] != NULL; i++)
		if (strlen(words[i]) == len && memcmp(words[i], name, len) == 0)
			return i;
	return -1;
}

int
ct_event_word_valid(enum ct_event_words v, const char *name, size_t len)
{
	return word_index(vocabularies[v], name, len) >= 0;
}

int
ct_event_name_valid(const char *name)
{
	return ct_event_word_valid(CT_EVENT_WORD_EVENT, name, strlen(name));
}

int
ct_event_placeholder_valid(const char *name, size_t len)
{
	return ct_event_word_valid(CT_EVENT_WORD_PLACEHOLDER, name, len);
}

void
ct_event_words_list(enum ct_event_words v, char *out, size_t outsz)
{
	const char *const *w = vocabularies[v];
	size_t len = 0;
	int n;

	out[0] = '\0';
	for (size_t i = 0; w[i] != NULL && len < outsz; i++) {
		n = snprintf(out + len, outsz - len, "%s%s", i > 0 ? " " : "", w[i]);
		if (n < 0 || (size_t)n >= outsz - len)
			break;
		len += (size_t)n;
	}
}

int
ct_mail_address_valid(const char *a)
{
	const char *at = strchr(a, '@');
	size_t n = strlen(a);

	if (n < 3 || n > 254 || a[0] == '-' || at == NULL || at == a || at[1] == '\0' ||
	    strchr(at + 1, '@') != NULL)
		return 0;
	for (; *a != '\0'; a++)
		if (!((*a >= 'a' && *a <= 'z') || (*a >= 'A' && *a <= 'Z') ||
		        (*a >= '0' && *a <= '9') || strchr("@.!#$%&'*+/=?^_`{|}~-", *a) != NULL))
			return 0;
	return 1;
}

/* ---- templates and conditions ---- */

static const char *
host_name(char *buf, size_t bufsz)
{
	if (gethostname(buf, bufsz) < 0 || buf[0] == '\0')
		snprintf(buf, bufsz, "localhost");
	buf[bufsz - 1] = '\0';
	return buf;
}

/* The value of placeholder WHICH for CTX; BUF holds computed ones. */
static const char *
value_of(const struct ct_event_ctx *ctx, int which, char *buf, size_t bufsz)
{
	const struct ct_token *t = ctx->token;
	struct tm tm;
	time_t when;

	switch (which) {
	case P_EVENT: return ctx->event != NULL ? ctx->event : "";
	/* free text: no C1 control, bidi override or line separator (ASCII as it
	 * is: ONE_LINE deals with line breaks where they matter) */
	case P_USER: return ct_text_printable(ctx->user, SIZE_MAX, CT_TEXT_KEEP_ASCII, buf, bufsz);
	case P_HOST: return host_name(buf, bufsz);
	case P_ISSUER:
		return ct_text_printable(ctx->issuer, SIZE_MAX, CT_TEXT_KEEP_ASCII, buf, bufsz);
	}
	if (t == NULL)
		return "";
	switch (which) {
	case P_SERIAL: return t->serial;
	case P_TYPE: return ct_token_type_name(t->type);
	case P_ROLLOUT: return t->rollout_state;
	case P_TARGET: return t->target;
	case P_CERT_SERIAL: return t->cert_serial;
	case P_NOT_AFTER:
		when = (time_t)t->not_after;
		if (t->not_after == 0 || gmtime_r(&when, &tm) == NULL ||
		    strftime(buf, bufsz, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
			return "";
		return buf;
	}
	return "";
}

/* A token field a condition names; NULL when CTX has no such value. */
static const char *
field_value(const struct ct_event_ctx *ctx, const char *field)
{
	const struct ct_token *t = ctx->token;
	int f = word_index(field_names, field, strlen(field));

	if (f == F_USER)
		return ctx->user;
	if (t == NULL)
		return NULL;
	switch (f) {
	case F_ROLLOUT: return t->rollout_state;
	case F_TYPE: return ct_token_type_name(t->type);
	case F_TARGET: return t->target;
	case F_ACTIVE: return t->active ? "true" : "false";
	}
	return NULL;
}

int
ct_event_matches(const struct ct_event *ev, const struct ct_event_ctx *ctx)
{
	const char *have, *want;

	for (size_t i = 0; i < ev->n_when; i++) {
		want = ev->when[i].value;
		if (strcmp(ev->when[i].field, "type") == 0 && strcmp(want, "cert") == 0)
			want = "certificate";
		have = field_value(ctx, ev->when[i].field);
		if (have == NULL || strcmp(have, want) != 0)
			return 0;
	}
	return 1;
}

/* Append N bytes of S to OUT; FLATTEN turns CR and LF into spaces.  -1
 * when it does not fit (with the NUL). */
static int
put(char *out, size_t outsz, size_t *len, const char *s, size_t n, int flatten)
{
	if (n >= outsz - *len)
		return -1;
	for (size_t i = 0; i < n; i++)
		out[(*len)++] = flatten && (s[i] == '\r' || s[i] == '\n') ? ' ' : s[i];
	out[*len] = '\0';
	return 0;
}

int
ct_event_expand(const char *template, const struct ct_event_ctx *ctx, int one_line, char *out,
    size_t outsz, struct ct_err *err)
{
	char buf[EV_VALUE_BUF];
	const char *p, *close, *v;
	size_t len = 0;
	int which, rc;

	if (outsz == 0)
		return ct_err_set(err, CT_EINVAL, "no room to expand a template");
	if (template == NULL)
		template = "";
	out[0] = '\0';
	p = template;
	while (*p != '\0') {
		if (p[0] == '{' && p[1] == '{') {
			rc = put(out, outsz, &len, "{", 1, 0);
			p += 2;
		} else if (p[0] == '{' && (close = strchr(p, '}')) != NULL &&
		    (which = word_index(placeholder_names, p + 1, (size_t)(close - p - 1))) >= 0) {
			v = value_of(ctx, which, buf, sizeof(buf));
			rc = put(out, outsz, &len, v, strlen(v), one_line);
			p = close + 1;
		} else /* a lone '}', or what the loader would have refused: as is */
			rc = put(out, outsz, &len, p++, 1, 0);
		if (rc < 0) {
			out[0] = '\0';
			return ct_err_set(err, CT_EINVAL,
			    "template expands to more than %zu bytes: \"%.40s...\"", outsz - 1,
			    template);
		}
	}
	return CT_OK;
}

int
ct_events_need_attrs(const struct ct_config *cfg, const char *event)
{
	for (size_t i = 0; i < cfg->n_events; i++) {
		const struct ct_event *ev = &cfg->events[i];

		if (ev->event != NULL && strcmp(ev->event, event) == 0 &&
		    ev->action == CT_ACTION_EMAIL && ev->to != NULL &&
		    strcmp(ev->to, "tokenowner") == 0)
			return 1;
	}
	return 0;
}

/* ---- reporting ---- */

struct reporter {
	ct_event_log_fn log;
	void *arg;
	const struct ct_event *ev;
};

static void report(const struct reporter *rp, int prio, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "event EVENT (handler at config line N): WHAT" */
static void
report(const struct reporter *rp, int prio, const char *fmt, ...)
{
	char line[EV_LOG_MAX];
	va_list ap;
	int n;

	if (rp->log == NULL)
		return;
	n = snprintf(line, sizeof(line), "event %s (handler at config line %d): ", rp->ev->event,
	    rp->ev->line);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	rp->log(rp->arg, prio, line);
}

/* Did the run succeed (exit 0)?  Logs why not. */
static int
check_run(const struct reporter *rp, const char *what, const struct ct_spawn *sp, int rc,
    const struct ct_spawn_result *res, const struct ct_err *err)
{
	char how[512];

	if (rc != CT_OK) {
		report(rp, LOG_ERR, "%s failed: %s", what, err->msg);
		return -1;
	}
	if (res->exited && res->status == 0)
		return 0;
	ct_spawn_describe(sp, res, how, sizeof(how));
	report(rp, LOG_ERR, "%s failed: %s", what, how);
	return -1;
}

/* ---- e-mail ---- */

/* The address of the mail: the fixed one, or the owner's attribute. */
static const char *
recipient(const struct ct_config *cfg, const struct ct_event_ctx *ctx, const struct reporter *rp)
{
	const char *attr = cfg->mail.address_attribute, *user = ctx->user ? ctx->user : "?", *a;

	if (rp->ev->to == NULL) {
		report(rp, LOG_ERR, "no e-mail sent: no recipient configured");
		return NULL;
	}
	if (strcmp(rp->ev->to, "tokenowner") != 0)
		return rp->ev->to;
	a = ctx->attrs != NULL ? ct_attrs_get(ctx->attrs, attr) : NULL;
	if (a == NULL || a[0] == '\0') {
		report(rp, LOG_ERR, "no e-mail sent: user %s has no '%s' attribute%s", user, attr,
		    ctx->attrs == NULL ? " (attributes not looked up)" : "");
		return NULL;
	}
	if (!ct_mail_address_valid(a)) {
		report(rp, LOG_ERR,
		    "no e-mail sent: the '%s' attribute of user %s is not a usable e-mail address",
		    attr, user);
		return NULL;
	}
	return a;
}

/* Subject: as is when ASCII, else RFC 2047 encoded-words (base64, UTF-8),
 * each on its own folded line, never splitting a UTF-8 sequence. */
static void
add_subject(struct ct_textbuf *m, const char *subject)
{
	const unsigned char *p = (const unsigned char *)subject;
	unsigned char b64[4 * EV_B64_CHUNK / 3 + 1];
	size_t n = strlen(subject), i, chunk;

	for (i = 0; i < n && p[i] < 0x80; i++)
		;
	if (i == n) {
		ct_textbuf_add(m, "Subject: %s\n", subject);
		return;
	}
	ct_textbuf_add(m, "Subject:");
	while (n > 0) {
		chunk = n < EV_B64_CHUNK ? n : EV_B64_CHUNK;
		while (chunk < n && chunk > 1 && (p[chunk] & 0xc0) == 0x80)
			chunk--;
		EVP_EncodeBlock(b64, p, (int)chunk);
		ct_textbuf_add(m, " =?UTF-8?B?%s?=\n", (char *)b64);
		p += chunk;
		n -= chunk;
	}
}

static void
add_date(struct ct_textbuf *m)
{
	static const char *const wday[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const mon[] = {
	    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	time_t now = time(NULL);
	struct tm tm;

	/* by hand: strftime's names follow the locale */
	if (gmtime_r(&now, &tm) == NULL) {
		m->full = 1;
		return;
	}
	ct_textbuf_add(m, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\n", wday[tm.tm_wday],
	    tm.tm_mday, mon[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Message-ID: <32 random hex digits@host>, the host name reduced to
 * characters a msg-id may hold. */
static int
add_message_id(struct ct_textbuf *m)
{
	unsigned char rnd[16];
	char host[EV_VALUE_BUF], hex[2 * sizeof(rnd) + 1];
	size_t i;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return -1;
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
	host_name(host, sizeof(host));
	for (i = 0; host[i] != '\0'; i++)
		if (!((host[i] >= 'a' && host[i] <= 'z') || (host[i] >= 'A' && host[i] <= 'Z') ||
		        (host[i] >= '0' && host[i] <= '9') || host[i] == '.' || host[i] == '-'))
			host[i] = '-';
	ct_textbuf_add(m, "Message-ID: <%s@%s>\n", hex, host);
	return 0;
}

/* The body with LF line endings (CR LF and a lone CR become LF) and a
 * final newline. */
static void
add_body(struct ct_textbuf *m, const char *body)
{
	const char *p;

	for (p = body; *p != '\0' && !m->full; p++) {
		if (*p == '\r' && p[1] == '\n')
			continue;
		if (m->len + 1 >= m->cap) {
			m->full = 1;
			break;
		}
		m->p[m->len++] = *p == '\r' ? '\n' : *p;
	}
	if (m->len == 0 || m->p[m->len - 1] != '\n')
		ct_textbuf_add(m, "\n");
}

/* Build the message to ADDR into M; -1 (logged) when it cannot be built. */
static int
build_mail(const struct ct_config *cfg, const struct ct_event_ctx *ctx, const char *addr,
    const struct reporter *rp, struct ct_textbuf *m)
{
	char subject[EV_SUBJECT_MAX], *body = NULL;
	struct ct_err err = {0};
	int rc = -1;

	if (ct_event_expand(rp->ev->subject, ctx, 1, subject, sizeof(subject), &err) != CT_OK) {
		report(rp, LOG_ERR, "no e-mail sent: subject: %s", err.msg);
		goto out;
	}
	if ((body = malloc(EV_BODY_MAX)) == NULL ||
	    (m->p = malloc(EV_BODY_MAX + EV_HEADERS_MAX)) == NULL) {
		report(rp, LOG_ERR, "no e-mail sent: out of memory");
		goto out;
	}
	m->cap = EV_BODY_MAX + EV_HEADERS_MAX;
	if (ct_event_expand(rp->ev->body, ctx, 0, body, EV_BODY_MAX, &err) != CT_OK) {
		report(rp, LOG_ERR, "no e-mail sent: body: %s", err.msg);
		goto out;
	}
	ct_textbuf_add(m, "From: %s\nTo: %s\n", cfg->mail.from, addr);
	add_subject(m, subject);
	add_date(m);
	if (add_message_id(m) < 0) {
		report(rp, LOG_ERR, "no e-mail sent: no random bytes for a Message-ID");
		goto out;
	}
	ct_textbuf_add(m,
	    "MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n"
	    "Content-Transfer-Encoding: 8bit\nAuto-Submitted: auto-generated\n\n");
	add_body(m, body);
	if (m->full) {
		report(rp, LOG_ERR, "no e-mail sent: the message is too long");
		goto out;
	}
	rc = 0;
out:
	free(body);
	return rc;
}

static int
send_mail(const struct ct_config *cfg, const struct ct_event_ctx *ctx, const struct reporter *rp)
{
	struct ct_spawn_result res = {0};
	struct ct_err err = {0};
	struct ct_spawn sp = {0};
	struct ct_textbuf m = {0};
	char what[300];
	const char *addr;
	char *argv[5];
	int rc = -1, run;

	if ((addr = recipient(cfg, ctx, rp)) == NULL || build_mail(cfg, ctx, addr, rp, &m) < 0)
		goto out;
	argv[0] = cfg->mail.sendmail;
	argv[1] = (char *)"-i";
	argv[2] = (char *)"--";
	argv[3] = (char *)addr;
	argv[4] = NULL;
	sp.argv = argv;
	sp.in = (const unsigned char *)m.p;
	sp.in_len = m.len;
	sp.timeout_ms = cfg->mail.timeout * 1000;
	run = ct_spawn_run(&sp, &res, &err);
	snprintf(what, sizeof(what), "e-mail to %s", addr);
	if ((rc = check_run(rp, what, &sp, run, &res, &err)) == 0)
		report(rp, LOG_INFO, "e-mail to %s sent", addr);
	ct_spawn_result_clear(&res);
out:
	free(m.p);
	return rc;
}

/* ---- syslog and command ---- */

static int
log_line(const struct ct_event_ctx *ctx, const struct reporter *rp)
{
	struct ct_err err = {0};
	char *line;
	size_t n;

	if ((line = malloc(EV_BODY_MAX)) == NULL) {
		report(rp, LOG_ERR, "no syslog line: out of memory");
		return -1;
	}
	if (ct_event_expand(rp->ev->body, ctx, 1, line, EV_BODY_MAX, &err) != CT_OK) {
		report(rp, LOG_ERR, "no syslog line: %s", err.msg);
		free(line);
		return -1;
	}
	for (n = 0; line[n] != '\0'; n++)
		if (line[n] == '\r' || line[n] == '\n')
			line[n] = ' ';
	while (n > 0 && line[n - 1] == ' ')
		line[--n] = '\0';
	if (rp->log != NULL)
		rp->log(rp->arg, LOG_NOTICE, line);
	free(line);
	return 0;
}

/* "CERTTOKEN_NAME=value" for every placeholder into SP->env (ENV owns them). */
static int
command_env(const struct ct_event_ctx *ctx, char **env, struct ct_spawn *sp)
{
	char buf[EV_VALUE_BUF];
	const char *v;
	size_t n;

	for (int i = 0; i < P_COUNT; i++) {
		v = value_of(ctx, i, buf, sizeof(buf));
		n = strlen(env_names[i]) + strlen(v) + 2;
		if ((env[i] = malloc(n)) == NULL)
			return -1;
		snprintf(env[i], n, "%s=%s", env_names[i], v);
		sp->env[i] = env[i];
	}
	return 0;
}

static int
run_command(const struct ct_event_ctx *ctx, const struct reporter *rp)
{
	char *argv[CT_ARGV_MAX + 1] = {0}, *env[P_COUNT] = {0}, what[300];
	const struct ct_event *ev = rp->ev;
	struct ct_spawn_result res = {0};
	struct ct_err err = {0};
	struct ct_spawn sp = {0};
	int rc = -1, run;
	size_t i;

	if (ev->argv == NULL || ev->argv[0] == NULL) {
		report(rp, LOG_ERR, "no command configured");
		return -1;
	}
	argv[0] = ev->argv[0];
	for (i = 1; i < CT_ARGV_MAX && ev->argv[i] != NULL; i++) {
		if ((argv[i] = malloc(EV_WORD_MAX)) == NULL) {
			report(rp, LOG_ERR, "command %s not run: out of memory", argv[0]);
			goto out;
		}
		if (ct_event_expand(ev->argv[i], ctx, 0, argv[i], EV_WORD_MAX, &err) != CT_OK) {
			report(
			    rp, LOG_ERR, "command %s not run: word %zu: %s", argv[0], i, err.msg);
			goto out;
		}
	}
	if (command_env(ctx, env, &sp) < 0) {
		report(rp, LOG_ERR, "command %s not run: out of memory", argv[0]);
		goto out;
	}
	sp.argv = argv;
	sp.timeout_ms = ev->timeout * 1000;
	run = ct_spawn_run(&sp, &res, &err);
	snprintf(what, sizeof(what), "command %s", argv[0]);
	if ((rc = check_run(rp, what, &sp, run, &res, &err)) == 0)
		report(rp, LOG_INFO, "command %s ran (exit 0)", argv[0]);
	ct_spawn_result_clear(&res);
out:
	for (i = 1; i < CT_ARGV_MAX; i++)
		free(argv[i]);
	for (i = 0; i < P_COUNT; i++)
		free(env[i]);
	return rc;
}

int
ct_events_fire(
    const struct ct_config *cfg, const struct ct_event_ctx *ctx, ct_event_log_fn log, void *arg)
{
	struct reporter rp = {log, arg, NULL};
	int failed = 0, rc;

	if (ctx->event == NULL)
		return 0;
	for (size_t i = 0; i < cfg->n_events; i++) {
		rp.ev = &cfg->events[i];
		if (rp.ev->event == NULL || strcmp(rp.ev->event, ctx->event) != 0 ||
		    !ct_event_matches(rp.ev, ctx))
			continue;
		switch (rp.ev->action) {
		case CT_ACTION_EMAIL: rc = send_mail(cfg, ctx, &rp); break;
		case CT_ACTION_SYSLOG: rc = log_line(ctx, &rp); break;
		case CT_ACTION_COMMAND: rc = run_command(ctx, &rp); break;
		default: rc = -1; break;
		}
		if (rc != 0)
			failed++;
	}
	return failed;
}
