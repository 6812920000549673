/* Blocking SMTP client: a small loop around the core (smtp_proto.c, sasl.c). */
#include "postie/smtp.h"
#include "postie/base64.h"
#include "postie/scram.h"

#include <string.h>

/* ------------------------------------------------------------------------ */
/* Plumbing                                                                 */

/* The session is dead: later calls get POSTIE_ERR_STATE until close(). */
static postie_status fatal(postie_smtp *s, postie_status st)
{
    s->state = POSTIE_SMTP_STATE_CLOSED;
    s->data_opened = 0;
    s->cmd_len = 0;
    return st;
}

static postie_status flush(postie_smtp *s)
{
    postie_status st;
    if (s->cmd_len == 0) {
        return POSTIE_OK;
    }
    st = postie_transport_send_all(&s->tr, s->cmd, s->cmd_len, s->timeout_ms);
    s->cmd_len = 0;
    if (st != POSTIE_OK) {
        return fatal(s, st == POSTIE_ERR_PARAM ? POSTIE_ERR_IO : st);
    }
    return POSTIE_OK;
}

/* Reads one complete reply into s->reply. With ehlo, the lines after the
 * first of a 250 reply are parsed as extensions into s->ext. A 421 reply
 * kills the session (POSTIE_ERR_TRANSIENT). */
static postie_status read_reply(postie_smtp *s, int ehlo)
{
    postie_smtp_reply_init(&s->reply);
    for (;;) {
        if (s->rpos >= s->rlen) {
            long r = s->tr.recv(s->tr.ctx, s->rbuf, sizeof s->rbuf, s->timeout_ms);
            if (r < 0) {
                return fatal(s, (postie_status)r);
            }
            if (r == 0) {
                return fatal(s, POSTIE_ERR_CLOSED);
            }
            if ((size_t)r > sizeof s->rbuf) {
                return fatal(s, POSTIE_ERR_IO);
            }
            s->rpos = 0;
            s->rlen = (size_t)r;
        }
        while (s->rpos < s->rlen) {
            size_t used = 0;
            postie_status st = postie_line_feed(&s->line, s->rbuf + s->rpos,
                                                s->rlen - s->rpos, &used);
            s->rpos += used;
            if (st == POSTIE_OK) {
                break;
            }
            if (st != POSTIE_DONE) {
                return fatal(s, st);
            }
            st = postie_smtp_reply_line(&s->reply, s->line.buf, s->line.len);
            if (st != POSTIE_OK && st != POSTIE_DONE) {
                return fatal(s, st);
            }
            if (ehlo && s->reply.lines > 1 && s->reply.code == 250) {
                (void)postie_smtp_ehlo_line(&s->ext, s->reply.line_text, s->reply.line_len);
            }
            if (st == POSTIE_DONE) {
                if (s->reply.code == 421) {
                    return fatal(s, POSTIE_ERR_TRANSIENT);
                }
                return POSTIE_OK;
            }
        }
    }
}

/* Bounded writer of command text. With out == NULL it only counts. */
typedef struct cw {
    char *out;
    size_t cap, len;
    int over;
} cw;

static void cw_put(cw *w, const char *p, size_t n)
{
    if (w->over || n > w->cap - w->len) {
        w->over = 1;
        return;
    }
    if (w->out != NULL) {
        memcpy(w->out + w->len, p, n);
    }
    w->len += n;
}

static void cw_str(cw *w, const char *p)
{
    cw_put(w, p, strlen(p));
}

static void cw_ull(cw *w, unsigned long long v)
{
    char tmp[24];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v > 0);
    cw_put(w, tmp + i, sizeof tmp - i);
}

static cw cw_tail(postie_smtp *s)
{
    cw w;
    w.out = s->cmd + s->cmd_len;
    w.cap = sizeof s->cmd - s->cmd_len;
    w.len = 0;
    w.over = 0;
    return w;
}

/* Sends "verb[ arg]\r\n" and reads the reply. */
static postie_status command(postie_smtp *s, const char *verb, const char *arg, int ehlo)
{
    cw w;
    postie_status st;

    s->cmd_len = 0;
    w = cw_tail(s);
    cw_str(&w, verb);
    if (arg != NULL) {
        cw_put(&w, " ", 1);
        cw_str(&w, arg);
    }
    cw_put(&w, "\r\n", 2);
    if (w.over) {
        return POSTIE_ERR_PARAM;
    }
    s->cmd_len = w.len;
    st = flush(s);
    if (st != POSTIE_OK) {
        return st;
    }
    return read_reply(s, ehlo);
}

/* Status of a reply that should be 2xx: OK, TRANSIENT, SERVER; a 1xx/3xx
 * reply is a protocol error that kills the session. */
static postie_status expect2(postie_smtp *s)
{
    int c = s->reply.code / 100;
    if (c == 2) {
        return POSTIE_OK;
    }
    if (c == 4 || c == 5) {
        return postie_smtp_code_status(s->reply.code);
    }
    return fatal(s, POSTIE_ERR_PROTOCOL);
}

/* RSET after a failed transaction; only transport/reply failures matter. */
static postie_status rset_quiet(postie_smtp *s)
{
    postie_status st = command(s, "RSET", NULL, 0);
    if (st != POSTIE_OK) {
        return st;
    }
    s->state = POSTIE_SMTP_STATE_READY;
    return POSTIE_OK;
}

/* ------------------------------------------------------------------------ */
/* Set-up                                                                   */

postie_status postie_smtp_init(postie_smtp *s, const postie_transport *t)
{
    if (s == NULL || t == NULL || t->send == NULL || t->recv == NULL) {
        return POSTIE_ERR_PARAM;
    }
    memset(s, 0, sizeof *s);
    s->tr = *t;
    s->timeout_ms = POSTIE_DEFAULT_TIMEOUT_MS;
    s->state = POSTIE_SMTP_STATE_CLOSED;
    s->connected = 1;
    memcpy(s->domain, "[127.0.0.1]", sizeof "[127.0.0.1]");
    postie_smtp_ext_init(&s->ext);
    postie_smtp_reply_init(&s->reply);
    postie_smtp_reply_init(&s->saved);
    postie_line_init(&s->line);
    postie_smtp_dot_init(&s->dot);
    return POSTIE_OK;
}

void postie_smtp_set_timeout(postie_smtp *s, unsigned timeout_ms)
{
    if (s != NULL) {
        s->timeout_ms = timeout_ms;
    }
}

postie_status postie_smtp_set_domain(postie_smtp *s, const char *domain)
{
    if (s == NULL || !postie_smtp_domain_ok(domain)) {
        return POSTIE_ERR_PARAM;
    }
    memcpy(s->domain, domain, strlen(domain) + 1);
    return POSTIE_OK;
}

postie_status postie_smtp_set_local_addr(postie_smtp *s, const char *ip)
{
    char lit[POSTIE_SMTP_DOMAIN_MAX];
    if (s == NULL || postie_smtp_address_literal(ip, lit, sizeof lit) != POSTIE_OK) {
        return POSTIE_ERR_PARAM;
    }
    memcpy(s->domain, lit, strlen(lit) + 1);
    return POSTIE_OK;
}

postie_status postie_smtp_set_tls(postie_smtp *s, postie_tls_policy policy,
                                  const char *server_name)
{
    if (s == NULL) {
        return POSTIE_ERR_PARAM;
    }
    if (s->state != POSTIE_SMTP_STATE_CLOSED || s->greeted || !s->connected) {
        return POSTIE_ERR_STATE;
    }
    if (postie_tls_policy_check(policy, server_name, s->server_name) != POSTIE_OK) {
        return POSTIE_ERR_PARAM;
    }
    s->tls_policy = (unsigned char)policy;
    s->tls_active = policy == POSTIE_TLS_IMPLICIT;
    return POSTIE_OK;
}

void postie_smtp_allow_plaintext_credentials(postie_smtp *s, int allow)
{
    if (s != NULL) {
        s->allow_plain = allow != 0;
    }
}

void postie_smtp_set_random(postie_smtp *s, postie_random_fn fn, void *ctx)
{
    if (s != NULL) {
        s->random = fn;
        s->random_ctx = ctx;
    }
}

int postie_smtp_tls_active(const postie_smtp *s)
{
    return s != NULL && s->tls_active;
}

/* EHLO (or HELO when the session uses HELO); fills s->ext. */
static postie_status hello(postie_smtp *s, int allow_fallback)
{
    postie_status st;

    postie_smtp_ext_init(&s->ext);
    if (!s->helo) {
        st = command(s, "EHLO", s->domain, 1);
        if (st != POSTIE_OK) {
            return st;
        }
        if (s->reply.code / 100 == 2) {
            s->ext.flags |= POSTIE_SMTP_EXT_EHLO;
            return POSTIE_OK;
        }
        postie_smtp_ext_init(&s->ext);
        if (!allow_fallback || (s->reply.code != 500 && s->reply.code != 502)) {
            return expect2(s);
        }
        s->helo = 1;
    }
    st = command(s, "HELO", s->domain, 0);
    if (st != POSTIE_OK) {
        return st;
    }
    return expect2(s);
}

/* Polite end of a session that cannot go on: QUIT, reply ignored. */
static postie_status give_up(postie_smtp *s, postie_status st)
{
    if (s->state != POSTIE_SMTP_STATE_CLOSED || s->greeted) {
        postie_smtp_reply keep = s->reply;
        s->state = POSTIE_SMTP_STATE_READY; /* let command() run */
        (void)command(s, "QUIT", NULL, 0);
        s->reply = keep;
    }
    return fatal(s, st);
}

postie_status postie_smtp_open(postie_smtp *s)
{
    postie_status st;

    if (s == NULL) {
        return POSTIE_ERR_PARAM;
    }
    if (s->state != POSTIE_SMTP_STATE_CLOSED || !s->connected || s->greeted) {
        return POSTIE_ERR_STATE;
    }
    if (!s->tls_active && s->server_name[0] == '\0' &&
        (s->tls_policy == POSTIE_TLS_REQUIRED || s->tls_policy == POSTIE_TLS_OPPORTUNISTIC)) {
        return POSTIE_ERR_PARAM; /* no name to check a certificate against */
    }
    s->greeted = 1;
    st = read_reply(s, 0);
    if (st != POSTIE_OK) {
        return st;
    }
    if (s->reply.code != 220) {
        if (s->reply.code / 100 == 4 || s->reply.code / 100 == 5) {
            return give_up(s, postie_smtp_code_status(s->reply.code));
        }
        return fatal(s, POSTIE_ERR_PROTOCOL);
    }
    s->state = POSTIE_SMTP_STATE_READY;
    st = hello(s, 1);
    if (st == POSTIE_ERR_TRANSIENT || st == POSTIE_ERR_SERVER) {
        if (s->state == POSTIE_SMTP_STATE_CLOSED) {
            return st; /* 421 */
        }
        return give_up(s, st);
    }
    if (st != POSTIE_OK || s->tls_active || s->tls_policy == POSTIE_TLS_OFF) {
        return st;
    }
    /* the TLS policy: upgrade when offered; REQUIRED refuses a server without it */
    if ((s->ext.flags & POSTIE_SMTP_EXT_STARTTLS) && s->tr.start_tls != NULL) {
        st = postie_smtp_starttls(s, s->server_name);
        if ((st == POSTIE_ERR_TRANSIENT || st == POSTIE_ERR_SERVER) &&
            s->state != POSTIE_SMTP_STATE_CLOSED) {
            /* STARTTLS refused, session usable and still plain */
            return s->tls_policy == POSTIE_TLS_REQUIRED ? give_up(s, st) : POSTIE_OK;
        }
        return st;
    }
    if (s->tls_policy == POSTIE_TLS_REQUIRED) {
        return give_up(s, POSTIE_ERR_TLS_REQUIRED);
    }
    return POSTIE_OK;
}

postie_status postie_smtp_ehlo(postie_smtp *s)
{
    if (s == NULL) {
        return POSTIE_ERR_PARAM;
    }
    if (s->state != POSTIE_SMTP_STATE_READY) {
        return POSTIE_ERR_STATE;
    }
    return hello(s, 0);
}

postie_status postie_smtp_starttls(postie_smtp *s, const char *server_name)
{
    postie_status st;
    const char *p;

    if (s == NULL || server_name == NULL || server_name[0] == '\0') {
        return POSTIE_ERR_PARAM;
    }
    for (p = server_name; *p; p++) {
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p == 0x7f) {
            return POSTIE_ERR_PARAM;
        }
    }
    if (s->state != POSTIE_SMTP_STATE_READY || s->tls_active) {
        return POSTIE_ERR_STATE;
    }
    if (!(s->ext.flags & POSTIE_SMTP_EXT_STARTTLS) || s->tr.start_tls == NULL) {
        return POSTIE_ERR_UNSUPPORTED;
    }
    st = command(s, "STARTTLS", NULL, 0);
    if (st != POSTIE_OK) {
        return st;
    }
    if (s->reply.code != 220) {
        st = expect2(s);
        return st == POSTIE_OK ? fatal(s, POSTIE_ERR_PROTOCOL) : st;
    }
    /* Anything already received after the 220 was sent in the clear and
     * would be read as if it came over TLS: refuse it (CVE-2011-0411 class). */
    if (s->rpos < s->rlen || (!s->line.complete && s->line.len > 0)) {
        return fatal(s, POSTIE_ERR_PROTOCOL);
    }
    st = s->tr.start_tls(s->tr.ctx, server_name);
    if (st != POSTIE_OK) {
        return fatal(s, st < 0 ? st : POSTIE_ERR_TLS);
    }
    s->tls_active = 1;
    s->helo = 0;
    /* hello() forgets the plain-text extensions before parsing the new ones */
    return hello(s, 0);
}

/* ------------------------------------------------------------------------ */
/* AUTH                                                                     */

/* s->sasl holds the initial response whole; for challenges it is split in
 * two halves: the decoded challenge, then the raw response. */
#define CHAL_MAX (sizeof ((postie_smtp *)0)->sasl / 2)

static postie_status auth_send_line(postie_smtp *s, const char *raw, size_t n)
{
    postie_status st;
    size_t el = 0;

    if (postie_base64_encoded_len(n) + 3 > sizeof s->cmd) {
        return POSTIE_ERR_BUFFER;
    }
    st = postie_base64_encode(raw, n, s->cmd, sizeof s->cmd, &el);
    if (st != POSTIE_OK) {
        return st;
    }
    memcpy(s->cmd + el, "\r\n", 2);
    s->cmd_len = el + 2;
    st = flush(s);
    if (st != POSTIE_OK) {
        return st;
    }
    return read_reply(s, 0);
}

/* Cancels an exchange with "*" (RFC 4954 sec. 4) and returns st. */
static postie_status auth_cancel(postie_smtp *s, postie_status st)
{
    postie_status r;
    postie_smtp_reply keep = s->reply;
    memcpy(s->cmd, "*\r\n", 3);
    s->cmd_len = 3;
    r = flush(s);
    if (r == POSTIE_OK) {
        r = read_reply(s, 0);
    }
    if (r != POSTIE_OK) {
        return r;
    }
    s->reply = keep;
    return st;
}

static int printable_ascii(const char *p)
{
    for (; *p != '\0'; p++) {
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e) {
            return 0;
        }
    }
    return 1;
}

/* Random bytes of a SCRAM client nonce: 15 give 20 base64 characters. */
#define SCRAM_NONCE_BYTES 15

/* SCRAM client-first into s->sasl (*n bytes); nothing is sent. */
static postie_status scram_first(postie_smtp *s, postie_scram *sc, const char *user,
                                 const char *secret, size_t *n)
{
    unsigned char rnd[SCRAM_NONCE_BYTES];
    char nonce[SCRAM_NONCE_BYTES / 3 * 4 + 1];
    size_t nlen = 0;
    postie_status st;

    if (secret[0] == '\0' || !printable_ascii(user) || !printable_ascii(secret)) {
        return POSTIE_ERR_PARAM; /* docs/scram.md: no SASLprep */
    }
    st = s->random(s->random_ctx, rnd, sizeof rnd);
    if (st != POSTIE_OK) {
        return st < 0 ? st : POSTIE_ERR_INTERNAL;
    }
    (void)postie_base64_encode(rnd, sizeof rnd, nonce, sizeof nonce, &nlen);
    memset(rnd, 0, sizeof rnd);
    return postie_scram_client_first(sc, user, nonce, nlen, s->sasl, sizeof s->sasl, n);
}

static postie_status auth_exchange(postie_smtp *s, postie_sasl_mech mech, const char *user,
                                   const char *secret, postie_scram *sc);

postie_status postie_smtp_auth(postie_smtp *s, unsigned mechs, const char *user,
                               const char *secret)
{
    postie_scram sc;
    postie_status st;

    postie_scram_init(&sc);
    st = auth_exchange(s, (postie_sasl_mech)mechs, user, secret, &sc);
    postie_scram_wipe(&sc);
    if (s != NULL) {
        memset(s->sasl, 0, sizeof s->sasl);
    }
    return st;
}

/* mechs_in: the caller's allowed set (a postie_sasl_mech only by type). */
static postie_status auth_exchange(postie_smtp *s, postie_sasl_mech mechs_in, const char *user,
                                   const char *secret, postie_scram *sc)
{
    unsigned mechs = (unsigned)mechs_in, offered, allowed;
    postie_sasl_mech mech;
    postie_status st;
    size_t rawlen = 0;
    char *chal, *raw;
    size_t rawcap;
    unsigned step, scram_stage = 0;
    int verified = 0;
    const char *p;
    cw w;

    if (s == NULL || user == NULL || secret == NULL || user[0] == '\0') {
        return POSTIE_ERR_PARAM;
    }
    for (p = user; *p; p++) {
        if (*p == '\r' || *p == '\n') {
            return POSTIE_ERR_PARAM;
        }
    }
    for (p = secret; *p; p++) {
        if (*p == '\r' || *p == '\n') {
            return POSTIE_ERR_PARAM;
        }
    }
    if (s->state != POSTIE_SMTP_STATE_READY) {
        return POSTIE_ERR_STATE;
    }
    if (!s->tls_active && s->tls_policy == POSTIE_TLS_REQUIRED) {
        return POSTIE_ERR_TLS_REQUIRED;
    }
    if (!(s->ext.flags & POSTIE_SMTP_EXT_AUTH)) {
        return POSTIE_ERR_UNSUPPORTED;
    }
    offered = s->ext.auth;
    allowed = mechs & (unsigned)POSTIE_SASL_ALL_MECHS;
    if (s->random == NULL) {
        allowed &= ~(unsigned)POSTIE_SASL_SCRAM_SHA256;
    }
    if (!s->tls_active && !s->allow_plain) {
        /* PLAIN, LOGIN and bearer tokens would show the secret on the path */
        unsigned safe = allowed & (unsigned)POSTIE_SASL_CLEAR_SAFE_MECHS;
        if (postie_sasl_choose(offered, safe) == POSTIE_SASL_NONE &&
            postie_sasl_choose(offered, allowed) != POSTIE_SASL_NONE) {
            return POSTIE_ERR_INSECURE;
        }
        allowed = safe;
    }
    mech = postie_sasl_choose(offered, allowed);
    if (mech == POSTIE_SASL_NONE) {
        return POSTIE_ERR_UNSUPPORTED;
    }
    chal = s->sasl;
    raw = s->sasl + CHAL_MAX;
    rawcap = sizeof s->sasl - CHAL_MAX;

    /* Initial response, built and checked before anything is sent. */
    switch (mech) {
    case POSTIE_SASL_PLAIN:
        st = postie_sasl_plain(NULL, user, secret, s->sasl, sizeof s->sasl, &rawlen);
        break;
    case POSTIE_SASL_XOAUTH2:
        st = postie_sasl_xoauth2(user, secret, s->sasl, sizeof s->sasl, &rawlen);
        break;
    case POSTIE_SASL_OAUTHBEARER:
        st = postie_sasl_oauthbearer(user, secret, NULL, NULL, s->sasl, sizeof s->sasl, &rawlen);
        break;
    case POSTIE_SASL_SCRAM_SHA256:
        st = scram_first(s, sc, user, secret, &rawlen);
        if (st != POSTIE_OK && st != POSTIE_ERR_PARAM && st != POSTIE_ERR_BUFFER) {
            return st; /* the random source failed */
        }
        break;
    default:
        st = POSTIE_OK;
        rawlen = 0;
        break;
    }
    if (st != POSTIE_OK) {
        return st == POSTIE_ERR_BUFFER ? POSTIE_ERR_BUFFER : POSTIE_ERR_PARAM;
    }
    s->cmd_len = 0;
    w = cw_tail(s);
    cw_str(&w, "AUTH ");
    cw_str(&w, postie_sasl_mech_name(mech));
    if (rawlen > 0) {
        size_t el = 0;
        cw_put(&w, " ", 1);
        if (w.over || postie_base64_encoded_len(rawlen) + 3 > w.cap - w.len) {
            return POSTIE_ERR_BUFFER;
        }
        (void)postie_base64_encode(s->sasl, rawlen, w.out + w.len, w.cap - w.len, &el);
        w.len += el;
    }
    cw_put(&w, "\r\n", 2);
    if (w.over) {
        return POSTIE_ERR_BUFFER;
    }
    s->cmd_len = w.len;
    st = flush(s);
    if (st == POSTIE_OK) {
        st = read_reply(s, 0);
    }
    if (st != POSTIE_OK) {
        return st;
    }

    for (step = 0;; step++) {
        size_t clen = 0;
        int c = s->reply.code;
        if (c == 235) {
            if (mech == POSTIE_SASL_SCRAM_SHA256 && !verified) {
                /* the server never proved it knows the password */
                return fatal(s, POSTIE_ERR_AUTH);
            }
            return POSTIE_OK;
        }
        if (c / 100 == 5) {
            return POSTIE_ERR_AUTH;
        }
        if (c / 100 == 4) {
            return POSTIE_ERR_TRANSIENT;
        }
        if (c != 334) {
            return fatal(s, POSTIE_ERR_PROTOCOL);
        }
        if (step >= 4) {
            return auth_cancel(s, POSTIE_ERR_AUTH);
        }
        if (postie_base64_decode(s->reply.text, s->reply.text_len, chal, CHAL_MAX, &clen) !=
            POSTIE_OK) {
            return auth_cancel(s, POSTIE_ERR_DECODE);
        }
        switch (mech) {
        case POSTIE_SASL_LOGIN:
            st = postie_sasl_login(chal, clen, step, user, secret, raw, rawcap, &rawlen);
            break;
        case POSTIE_SASL_CRAM_MD5:
            st = step == 0 ? postie_sasl_cram_md5(chal, clen, user, secret, raw, rawcap, &rawlen)
                           : POSTIE_ERR_PROTOCOL;
            break;
        case POSTIE_SASL_XOAUTH2:
            /* An error challenge (JSON): answer empty, the server then says 535. */
            st = step == 0 ? POSTIE_OK : POSTIE_ERR_PROTOCOL;
            rawlen = 0;
            break;
        case POSTIE_SASL_OAUTHBEARER:
            st = step == 0 ? POSTIE_OK : POSTIE_ERR_PROTOCOL;
            raw[0] = POSTIE_SASL_OAUTHBEARER_ABORT[0];
            rawlen = 1;
            break;
        case POSTIE_SASL_SCRAM_SHA256:
            if (scram_stage == 0) {
                st = postie_scram_client_final(sc, secret, chal, clen, raw, rawcap, &rawlen);
            } else if (scram_stage == 1) {
                st = postie_scram_server_final(sc, chal, clen);
                verified = st == POSTIE_OK;
                rawlen = 0; /* the empty response that asks for 235 */
            } else {
                st = POSTIE_ERR_PROTOCOL;
            }
            scram_stage++;
            break;
        default: /* PLAIN went with its initial response: no challenge expected */
            st = POSTIE_ERR_PROTOCOL;
            break;
        }
        if (st != POSTIE_OK) {
            return auth_cancel(s, st == POSTIE_ERR_BUFFER ? POSTIE_ERR_BUFFER : POSTIE_ERR_AUTH);
        }
        st = auth_send_line(s, raw, rawlen);
        if (st == POSTIE_ERR_BUFFER) {
            return auth_cancel(s, st);
        }
        if (st != POSTIE_OK) {
            return st;
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Mail transaction                                                         */

static int is_utf8_addr(const char *a)
{
    return a != NULL && postie_smtp_has_8bit(a, strlen(a));
}

typedef struct mail_opts {
    int size, body8, utf8;
} mail_opts;

static void build_mail(const postie_smtp_envelope *env, const mail_opts *o, cw *w)
{
    cw_str(w, "MAIL FROM:<");
    if (env->from != NULL) {
        cw_str(w, env->from);
    }
    cw_put(w, ">", 1);
    if (o->size) {
        cw_str(w, " SIZE=");
        cw_ull(w, env->size);
    }
    if (o->body8) {
        cw_str(w, " BODY=8BITMIME");
    }
    if (o->utf8) {
        cw_str(w, " SMTPUTF8");
    }
    if (env->mail_params != NULL && env->mail_params[0] != '\0') {
        cw_put(w, " ", 1);
        cw_str(w, env->mail_params);
    }
    cw_put(w, "\r\n", 2);
}

static void build_rcpt(const postie_smtp_rcpt *r, cw *w)
{
    cw_str(w, "RCPT TO:<");
    cw_str(w, r->addr);
    cw_put(w, ">", 1);
    if (r->params != NULL && r->params[0] != '\0') {
        cw_put(w, " ", 1);
        cw_str(w, r->params);
    }
    cw_put(w, "\r\n", 2);
}

/* Command i of the sequence MAIL, RCPT 0..n-1, DATA. */
static void build_nth(const postie_smtp_envelope *env, const mail_opts *o, size_t i, cw *w)
{
    if (i == 0) {
        build_mail(env, o, w);
    } else if (i <= env->nrcpts) {
        build_rcpt(&env->rcpts[i - 1], w);
    } else {
        cw_str(w, "DATA\r\n");
    }
}

static void save_reply(postie_smtp *s)
{
    s->saved = s->reply;
}

static void enter_data(postie_smtp *s)
{
    s->state = POSTIE_SMTP_STATE_DATA;
    s->cmd_len = 0;
    postie_smtp_dot_init(&s->dot);
}

postie_status postie_smtp_mail(postie_smtp *s, postie_smtp_envelope *env)
{
    mail_opts o;
    size_t i, total, sent = 0, replied = 0;
    int pipelining, pipe_data, need_utf8 = 0, refused = 0, data_open = 0, saved_rank = 0;
    postie_status mail_st = POSTIE_OK, data_st = POSTIE_OK, st;

    if (s == NULL || env == NULL || env->rcpts == NULL || env->nrcpts == 0) {
        return POSTIE_ERR_PARAM;
    }
    if (env->from != NULL && !postie_smtp_arg_ok(env->from)) {
        return POSTIE_ERR_PARAM;
    }
    if (env->mail_params != NULL && !postie_smtp_arg_ok(env->mail_params)) {
        return POSTIE_ERR_PARAM;
    }
    need_utf8 = (env->flags & POSTIE_SMTP_MSG_UTF8) != 0 || is_utf8_addr(env->from);
    for (i = 0; i < env->nrcpts; i++) {
        const postie_smtp_rcpt *r = &env->rcpts[i];
        if (r->addr == NULL || r->addr[0] == '\0' || !postie_smtp_arg_ok(r->addr) ||
            (r->params != NULL && !postie_smtp_arg_ok(r->params))) {
            return POSTIE_ERR_PARAM;
        }
        need_utf8 |= is_utf8_addr(r->addr);
    }
    /* From here on every recipient reads as not answered until its reply,
     * also when the call fails before anything is sent. */
    for (i = 0; i < env->nrcpts; i++) {
        env->rcpts[i].code = 0;
        env->rcpts[i].enhanced[0] = '\0';
        env->rcpts[i].status = POSTIE_ERR_STATE;
    }
    env->accepted = 0;
    if (s->state != POSTIE_SMTP_STATE_READY) {
        return POSTIE_ERR_STATE;
    }
    if (!s->tls_active && s->tls_policy == POSTIE_TLS_REQUIRED) {
        return POSTIE_ERR_TLS_REQUIRED;
    }
    if (need_utf8 && !(s->ext.flags & POSTIE_SMTP_EXT_SMTPUTF8)) {
        return POSTIE_ERR_UNSUPPORTED;
    }
    o.utf8 = need_utf8;
    o.size = (s->ext.flags & POSTIE_SMTP_EXT_SIZE) && env->size > 0;
    o.body8 = (env->flags & POSTIE_SMTP_MSG_8BIT) && (s->ext.flags & POSTIE_SMTP_EXT_8BITMIME);
    if ((s->ext.flags & POSTIE_SMTP_EXT_SIZE) && s->ext.size_max > 0 &&
        env->size > s->ext.size_max) {
        return POSTIE_ERR_TOO_BIG;
    }
    pipelining = (s->ext.flags & POSTIE_SMTP_EXT_PIPELINING) != 0;
    pipe_data = pipelining && env->on_refused == POSTIE_SMTP_REFUSED_CONTINUE;
    total = 1 + env->nrcpts + (pipe_data ? 1 : 0);
    /* Every command must fit the buffer on its own: checked before sending. */
    for (i = 0; i < total; i++) {
        cw w;
        w.out = NULL;
        w.cap = sizeof s->cmd;
        w.len = 0;
        w.over = 0;
        build_nth(env, &o, i, &w);
        if (w.over) {
            return POSTIE_ERR_PARAM;
        }
    }
    postie_smtp_reply_init(&s->saved);
    s->cmd_len = 0;

    while (replied < total) {
        /* Fill one batch: with PIPELINING as many commands as fit, else one. */
        while (sent < total) {
            cw w = cw_tail(s);
            build_nth(env, &o, sent, &w);
            if (w.over) {
                break;
            }
            s->cmd_len += w.len;
            sent++;
            if (!pipelining) {
                break;
            }
        }
        st = flush(s);
        if (st != POSTIE_OK) {
            return st;
        }
        for (; replied < sent; replied++) {
            int c;
            st = read_reply(s, 0);
            if (st != POSTIE_OK) {
                if (s->reply.done && s->reply.code == 421 && replied >= 1 &&
                    replied <= env->nrcpts) {
                    /* the RCPT was answered (421): record it like any 4xx */
                    postie_smtp_rcpt *r = &env->rcpts[replied - 1];
                    r->code = 421;
                    memcpy(r->enhanced, s->reply.enhanced, sizeof r->enhanced);
                    r->status = POSTIE_ERR_TRANSIENT;
                }
                return st;
            }
            c = s->reply.code;
            if (replied == 0) { /* MAIL */
                st = expect2(s);
                if (st != POSTIE_OK) {
                    if (s->state == POSTIE_SMTP_STATE_CLOSED) {
                        return st;
                    }
                    mail_st = c == 552 ? POSTIE_ERR_TOO_BIG : st;
                    save_reply(s);
                    saved_rank = 3;
                }
            } else if (replied <= env->nrcpts) { /* RCPT */
                postie_smtp_rcpt *r = &env->rcpts[replied - 1];
                st = expect2(s);
                if (s->state == POSTIE_SMTP_STATE_CLOSED) {
                    return st;
                }
                r->code = c;
                memcpy(r->enhanced, s->reply.enhanced, sizeof r->enhanced);
                r->status = st;
                if (st == POSTIE_OK) {
                    env->accepted++;
                } else {
                    refused++;
                    if (saved_rank <= 1) {
                        save_reply(s);
                        saved_rank = 1;
                    }
                }
            } else { /* pipelined DATA */
                if (c == 354) {
                    data_open = 1;
                } else {
                    st = expect2(s);
                    if (st == POSTIE_OK) {
                        return fatal(s, POSTIE_ERR_PROTOCOL);
                    }
                    if (s->state == POSTIE_SMTP_STATE_CLOSED) {
                        return st;
                    }
                    data_st = st;
                    if (saved_rank <= 2) {
                        save_reply(s);
                        saved_rank = 2;
                    }
                }
            }
        }
        if (mail_st != POSTIE_OK) {
            total = sent; /* MAIL refused: send nothing more */
        }
    }

    if (data_open && (mail_st != POSTIE_OK || env->accepted == 0)) {
        /* 354 with no transaction or no recipient: the server is broken and
         * the DATA phase cannot be left cleanly. */
        return fatal(s, POSTIE_ERR_PROTOCOL);
    }
    if (mail_st != POSTIE_OK) {
        s->reply = s->saved;
        return mail_st; /* no transaction was opened */
    }
    if (env->accepted == 0 || (refused > 0 && env->on_refused != POSTIE_SMTP_REFUSED_CONTINUE) ||
        data_st != POSTIE_OK) {
        st = rset_quiet(s);
        if (st != POSTIE_OK) {
            return st;
        }
        s->reply = s->saved;
        return data_st != POSTIE_OK && env->accepted > 0 ? data_st : POSTIE_ERR_RECIPIENTS;
    }
    if (data_open) {
        enter_data(s);
        s->data_opened = 1;
    } else {
        s->state = POSTIE_SMTP_STATE_MAIL;
    }
    return POSTIE_OK;
}

postie_status postie_smtp_data_begin(postie_smtp *s)
{
    postie_status st;

    if (s == NULL) {
        return POSTIE_ERR_PARAM;
    }
    if (s->state == POSTIE_SMTP_STATE_DATA && s->data_opened) {
        s->data_opened = 0;
        return POSTIE_OK;
    }
    if (s->state != POSTIE_SMTP_STATE_MAIL) {
        return POSTIE_ERR_STATE;
    }
    st = command(s, "DATA", NULL, 0);
    if (st != POSTIE_OK) {
        return st;
    }
    if (s->reply.code == 354) {
        enter_data(s);
        return POSTIE_OK;
    }
    st = expect2(s);
    if (st == POSTIE_OK) {
        return fatal(s, POSTIE_ERR_PROTOCOL);
    }
    if (s->state == POSTIE_SMTP_STATE_CLOSED) {
        return st;
    }
    save_reply(s);
    {
        postie_status r = rset_quiet(s);
        if (r != POSTIE_OK) {
            return r;
        }
    }
    s->reply = s->saved;
    return st;
}

postie_status postie_smtp_data_write(postie_smtp *s, const void *buf, size_t n)
{
    const char *in = (const char *)buf;

    if (s == NULL || (buf == NULL && n > 0)) {
        return POSTIE_ERR_PARAM;
    }
    if (s->state != POSTIE_SMTP_STATE_DATA) {
        return POSTIE_ERR_STATE;
    }
    s->data_opened = 0;
    while (n > 0) {
        size_t used = 0, made = 0;
        if (sizeof s->cmd - s->cmd_len < 2) {
            postie_status st = flush(s);
            if (st != POSTIE_OK) {
                return st;
            }
        }
        (void)postie_smtp_dot_feed(&s->dot, in, n, &used, s->cmd + s->cmd_len,
                                   sizeof s->cmd - s->cmd_len, &made);
        s->cmd_len += made;
        in += used;
        n -= used;
    }
    return POSTIE_OK;
}

postie_status postie_smtp_data_end(postie_smtp *s)
{
    postie_status st;
    size_t made = 0;

    if (s == NULL) {
        return POSTIE_ERR_PARAM;
    }
    if (s->state != POSTIE_SMTP_STATE_DATA) {
        return POSTIE_ERR_STATE;
    }
    s->data_opened = 0;
    if (sizeof s->cmd - s->cmd_len < POSTIE_SMTP_DOT_FINISH_MAX) {
        st = flush(s);
        if (st != POSTIE_OK) {
            return st;
        }
    }
    (void)postie_smtp_dot_finish(&s->dot, s->cmd + s->cmd_len, sizeof s->cmd - s->cmd_len, &made);
    s->cmd_len += made;
    st = flush(s);
    if (st != POSTIE_OK) {
        return st;
    }
    st = read_reply(s, 0);
    if (st != POSTIE_OK) {
        return st;
    }
    if (s->reply.code == 250) {
        s->messages_sent++;
        s->state = POSTIE_SMTP_STATE_READY;
        return POSTIE_OK;
    }
    if (s->reply.code / 100 == 4 || s->reply.code / 100 == 5) {
        s->state = POSTIE_SMTP_STATE_READY; /* the transaction is over */
        return s->reply.code == 552 ? POSTIE_ERR_TOO_BIG : postie_smtp_code_status(s->reply.code);
    }
    return fatal(s, POSTIE_ERR_PROTOCOL);
}

postie_status postie_smtp_send(postie_smtp *s, postie_smtp_envelope *env,
                               postie_smtp_reader read, void *user)
{
    postie_status st;

    if (s == NULL || env == NULL || read == NULL) {
        return POSTIE_ERR_PARAM;
    }
    st = postie_smtp_mail(s, env);
    if (st != POSTIE_OK) {
        return st;
    }
    st = postie_smtp_data_begin(s);
    if (st != POSTIE_OK) {
        return st;
    }
    for (;;) {
        size_t n = 0;
        postie_status rs = read(user, s->sasl, sizeof s->sasl, &n);
        if (rs < 0) {
            /* A message in DATA cannot be withdrawn: drop the connection
             * before the final dot so that nothing is delivered. */
            postie_smtp_close(s);
            return rs;
        }
        if (n > sizeof s->sasl) {
            postie_smtp_close(s);
            return POSTIE_ERR_PARAM;
        }
        if (n > 0) {
            st = postie_smtp_data_write(s, s->sasl, n);
            if (st != POSTIE_OK) {
                return st;
            }
        }
        if (rs == POSTIE_DONE) {
            break;
        }
    }
    return postie_smtp_data_end(s);
}

typedef struct buf_reader {
    const char *p;
    size_t left;
} buf_reader;

static postie_status read_buf(void *user, char *buf, size_t cap, size_t *n)
{
    buf_reader *b = (buf_reader *)user;
    size_t k = b->left < cap ? b->left : cap;
    if (k > 0) {
        memcpy(buf, b->p, k);
    }
    b->p += k;
    b->left -= k;
    *n = k;
    return b->left == 0 ? POSTIE_DONE : POSTIE_OK;
}

/* RFC 1870 sec. 4 message size: the octets with every line end as CRLF
 * (as the DATA encoder writes them, final CRLF included), without the
 * doubled dots and without the terminating "." line. */
static unsigned long long wire_size(const char *p, size_t n)
{
    unsigned long long sz = 0;
    size_t i;
    int at_eol = 1;

    for (i = 0; i < n; i++) {
        if (p[i] == '\r') {
            sz += 2;
            if (i + 1 < n && p[i + 1] == '\n') {
                i++;
            }
            at_eol = 1;
        } else if (p[i] == '\n') {
            sz += 2;
            at_eol = 1;
        } else {
            sz++;
            at_eol = 0;
        }
    }
    return at_eol ? sz : sz + 2;
}

postie_status postie_smtp_send_buf(postie_smtp *s, postie_smtp_envelope *env,
                                   const void *msg, size_t len)
{
    buf_reader b;

    if (s == NULL || env == NULL || (msg == NULL && len > 0)) {
        return POSTIE_ERR_PARAM;
    }
    if (env->size == 0) {
        env->size = wire_size((const char *)msg, len);
    }
    if (postie_smtp_has_8bit(msg, len)) {
        env->flags |= POSTIE_SMTP_MSG_8BIT;
    }
    b.p = (const char *)msg;
    b.left = len;
    return postie_smtp_send(s, env, read_buf, &b);
}

/* ------------------------------------------------------------------------ */
/* Other commands                                                           */

postie_status postie_smtp_rset(postie_smtp *s)
{
    postie_status st;
    if (s == NULL) {
        return POSTIE_ERR_PARAM;
    }
    if (s->state != POSTIE_SMTP_STATE_READY && s->state != POSTIE_SMTP_STATE_MAIL) {
        return POSTIE_ERR_STATE;
    }
    st = command(s, "RSET", NULL, 0);
    if (st != POSTIE_OK) {
        return st;
    }
    st = expect2(s);
    if (st == POSTIE_OK) {
        s->state = POSTIE_SMTP_STATE_READY;
    }
    return st;
}

postie_status postie_smtp_noop(postie_smtp *s)
{
    postie_status st;
    if (s == NULL) {
        return POSTIE_ERR_PARAM;
    }
    if (s->state != POSTIE_SMTP_STATE_READY && s->state != POSTIE_SMTP_STATE_MAIL) {
        return POSTIE_ERR_STATE;
    }
    st = command(s, "NOOP", NULL, 0);
    if (st != POSTIE_OK) {
        return st;
    }
    return expect2(s);
}

postie_status postie_smtp_quit(postie_smtp *s)
{
    postie_status st;
    if (s == NULL) {
        return POSTIE_ERR_PARAM;
    }
    if (s->state == POSTIE_SMTP_STATE_CLOSED || s->state == POSTIE_SMTP_STATE_DATA) {
        postie_smtp_close(s);
        return POSTIE_ERR_STATE;
    }
    st = command(s, "QUIT", NULL, 0);
    if (st == POSTIE_OK) {
        st = expect2(s);
    }
    postie_smtp_close(s);
    return st;
}

void postie_smtp_close(postie_smtp *s)
{
    if (s == NULL) {
        return;
    }
    if (s->connected && s->tr.close != NULL) {
        s->tr.close(s->tr.ctx);
    }
    s->connected = 0;
    s->state = POSTIE_SMTP_STATE_CLOSED;
    s->data_opened = 0;
    s->cmd_len = 0;
}

/* ------------------------------------------------------------------------ */
/* Accessors                                                                */

postie_smtp_state postie_smtp_get_state(const postie_smtp *s)
{
    return s != NULL ? s->state : POSTIE_SMTP_STATE_CLOSED;
}

int postie_smtp_reply_code(const postie_smtp *s)
{
    return s != NULL ? s->reply.code : 0;
}

const char *postie_smtp_reply_enhanced(const postie_smtp *s)
{
    return s != NULL ? s->reply.enhanced : "";
}

const char *postie_smtp_reply_text(const postie_smtp *s)
{
    return s != NULL ? s->reply.text : "";
}

const postie_smtp_reply *postie_smtp_last_reply(const postie_smtp *s)
{
    return s != NULL ? &s->reply : NULL;
}

const postie_smtp_ext *postie_smtp_extensions(const postie_smtp *s)
{
    return s != NULL ? &s->ext : NULL;
}

int postie_smtp_has(const postie_smtp *s, unsigned ext_flag)
{
    return s != NULL && (s->ext.flags & ext_flag) != 0;
}

unsigned long postie_smtp_messages_sent(const postie_smtp *s)
{
    return s != NULL ? s->messages_sent : 0;
}
