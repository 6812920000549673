/*
 * smtp_script_client - drives the SMTP client (smtp.h) over the POSIX TCP
 * transport through a list of steps, printing one line per step, so a
 * scripted-server case can check the client's view (# stdout:) while its
 * transcript checks the bytes on the wire.
 *
 *   smtp_script_client HOST PORT STEP...
 *
 * Every step prints one line:
 *   STEP STATUS [FIELD=VALUE...] state=S code=N enh="x.y.z" text="..."
 * except the local ones (set-up, envelope, data-chunk, timeout, sleep),
 * which print "STEP STATUS" alone.
 * STEP is the argument as given (for the *-file steps with the path
 * reduced to the file's name), STATUS the postie_status_name() of what the
 * call returned, then the session state and the last reply
 * (postie_smtp_reply_code/_enhanced/_text; the text of a multi-line reply
 * has its lines joined with \n). String values are quoted with \r \n \t \\
 * \xNN escapes (a double quote is \x22). Arguments take the same escapes
 * (the runner splits on spaces: write \x20). Steps (see README.md):
 *
 *   domain:D  local-addr:IP    set_domain / set_local_addr (before open)
 *   timeout:MS                 set_timeout (default here 5000)
 *   open  ehlo                 ext=NAMES size_max=N auth="..."
 *   auth:MECHS:USER:SECRET     MECHS: password token all plain login
 *                              cram-md5 xoauth2 oauthbearer
 *   envelope (consumed and cleared by mail / send / send-buf):
 *     from:ADDR (empty: <>)  rcpt:ADDR  rcpt-params:P (last rcpt)
 *     mail-params:P  size:N  8bit  utf8  on-refused:abort|continue
 *   mail                       accepted=N rcpts=CODE/ENH/STATUS,...
 *   data-chunk:N               later data/send write N bytes per call
 *                              (0, the default: all at once)
 *   data-begin
 *   data:TEXT  data-file:PATH  postie_smtp_data_write in chunks: len= writes=
 *   data-end                   sent=N (postie_smtp_messages_sent)
 *   send-buf:TEXT  send-buf-file:PATH
 *                              postie_smtp_send_buf: size= accepted= rcpts= sent=
 *   send:TEXT  send-file:PATH  postie_smtp_send, the reader handing out
 *                              data-chunk bytes per call: reads= and as above
 *   rset  noop                 plain commands
 *   quit                       sent=N
 *   close                      postie_smtp_close
 *   sleep:MS                   pause
 *
 * Exit status: 0 every step run (whatever the statuses: stdout tells);
 * 2 usage; 3 connect failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "postie/posix_tcp.h"
#include "postie/smtp.h"
#include "script_util.h"

#define MAX_RCPTS 128

static postie_tcp tcp;
static postie_transport tr;
static postie_smtp S;
static size_t chunk;

/* the envelope being built */
static postie_smtp_envelope env;
static postie_smtp_rcpt rcpts[MAX_RCPTS];
static char *owned[3 * MAX_RCPTS + 8];
static size_t nowned;

/* postie_smtp_send's reader */
typedef struct {
    const char *p;
    size_t len, off, reads;
} reader_state;

static char *keep(char *s)
{
    if (nowned == sizeof owned / sizeof owned[0]) {
        script_usage_error("too many envelope strings", s);
    }
    owned[nowned++] = s;
    return s;
}

static void env_clear(void)
{
    size_t i;
    for (i = 0; i < nowned; i++) {
        free(owned[i]);
    }
    nowned = 0;
    memset(&env, 0, sizeof env);
    memset(rcpts, 0, sizeof rcpts);
    env.rcpts = rcpts;
}

static const char *state_name(postie_smtp_state s)
{
    switch (s) {
    case POSTIE_SMTP_STATE_CLOSED: return "CLOSED";
    case POSTIE_SMTP_STATE_READY: return "READY";
    case POSTIE_SMTP_STATE_MAIL: return "MAIL";
    case POSTIE_SMTP_STATE_DATA: return "DATA";
    }
    return "?";
}

static void begin_line(const char *step, postie_status st)
{
    printf("%s %s", step, postie_status_name(st));
}

static void end_line(void)
{
    printf(" state=%s code=%d", state_name(postie_smtp_get_state(&S)), postie_smtp_reply_code(&S));
    script_print_str("enh", postie_smtp_reply_enhanced(&S));
    script_print_str("text", postie_smtp_reply_text(&S));
    putchar('\n');
    fflush(stdout);
}

/* Steps that only set something up locally print their status alone. */
static void local_line(const char *step, postie_status st)
{
    printf("%s %s\n", step, postie_status_name(st));
    fflush(stdout);
}

static void print_ext(void)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {
        {POSTIE_SMTP_EXT_EHLO, "EHLO"},
        {POSTIE_SMTP_EXT_SIZE, "SIZE"},
        {POSTIE_SMTP_EXT_PIPELINING, "PIPELINING"},
        {POSTIE_SMTP_EXT_8BITMIME, "8BITMIME"},
        {POSTIE_SMTP_EXT_SMTPUTF8, "SMTPUTF8"},
        {POSTIE_SMTP_EXT_ENHANCEDSTATUSCODES, "ENHANCEDSTATUSCODES"},
        {POSTIE_SMTP_EXT_AUTH, "AUTH"},
        {POSTIE_SMTP_EXT_STARTTLS, "STARTTLS"},
        {POSTIE_SMTP_EXT_CHUNKING, "CHUNKING"},
        {POSTIE_SMTP_EXT_DSN, "DSN"},
    };
    const postie_smtp_ext *e = postie_smtp_extensions(&S);
    unsigned flags = e->flags;
    size_t i;
    int first = 1;
    fputs(" ext=", stdout);
    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (flags & names[i].bit) {
            printf("%s%s", first ? "" : ",", names[i].name);
            first = 0;
            flags &= ~names[i].bit;
        }
    }
    if (flags != 0) {
        printf("%s0x%x", first ? "" : ",", flags);
    } else if (first) {
        fputs("-", stdout);
    }
    printf(" size_max=%lu", e->size_max);
    script_print_str("auth", e->auth_names);
}

static void print_rcpts(void)
{
    size_t i;
    printf(" accepted=%zu rcpts=", env.accepted);
    for (i = 0; i < env.nrcpts; i++) {
        printf("%s%d/%s/%s", i ? "," : "", rcpts[i].code,
               rcpts[i].enhanced[0] ? rcpts[i].enhanced : "-",
               postie_status_name(rcpts[i].status));
    }
}

static unsigned mechs_from(const char *name, const char *step)
{
    static const struct {
        const char *name;
        unsigned mechs;
    } names[] = {
        {"password", POSTIE_SASL_PASSWORD_MECHS},
        {"token", POSTIE_SASL_TOKEN_MECHS},
        {"all", POSTIE_SASL_ALL_MECHS},
        {"plain", POSTIE_SASL_PLAIN},
        {"login", POSTIE_SASL_LOGIN},
        {"cram-md5", POSTIE_SASL_CRAM_MD5},
        {"xoauth2", POSTIE_SASL_XOAUTH2},
        {"oauthbearer", POSTIE_SASL_OAUTHBEARER},
    };
    size_t i;
    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(name, names[i].name) == 0) {
            return names[i].mechs;
        }
    }
    script_usage_error("unknown mechanism set in", step);
    return 0;
}

/* Splits "A:B:REST" at its first two colons (A and B unescaped copies). */
static void split3(const char *arg, const char *step, char **a, char **b, char **rest)
{
    const char *c1 = strchr(arg, ':');
    const char *c2 = c1 != NULL ? strchr(c1 + 1, ':') : NULL;
    char *t;
    if (c2 == NULL) {
        script_usage_error("want A:B:C in", step);
    }
    t = malloc(strlen(arg) + 1);
    if (t == NULL) {
        exit(2);
    }
    memcpy(t, arg, (size_t)(c1 - arg));
    t[c1 - arg] = '\0';
    *a = script_unescape(t, NULL);
    memcpy(t, c1 + 1, (size_t)(c2 - c1 - 1));
    t[c2 - c1 - 1] = '\0';
    *b = script_unescape(t, NULL);
    free(t);
    *rest = script_unescape(c2 + 1, NULL);
}

static postie_status reader(void *user, char *buf, size_t cap, size_t *n)
{
    reader_state *r = user;
    size_t take = r->len - r->off;
    r->reads++;
    if (chunk != 0 && take > chunk) {
        take = chunk;
    }
    if (take > cap) {
        take = cap;
    }
    memcpy(buf, r->p + r->off, take);
    r->off += take;
    *n = take;
    return r->off == r->len ? POSTIE_DONE : POSTIE_OK;
}

static void write_data(const char *step, const char *p, size_t len)
{
    size_t off = 0, writes = 0;
    postie_status st = POSTIE_OK;
    do {
        size_t n = len - off;
        if (chunk != 0 && n > chunk) {
            n = chunk;
        }
        st = postie_smtp_data_write(&S, p + off, n);
        writes++;
        off += n;
    } while (st == POSTIE_OK && off < len);
    begin_line(step, st);
    printf(" len=%zu writes=%zu", len, writes);
    end_line();
}

/* The label printed for a step: the step as given, except that a file
 * step shows only the file's name (the runner gives absolute paths). */
static const char *label(const char *step, char *buf, size_t cap)
{
    const char *colon = strchr(step, ':');
    const char *slash = strrchr(step, '/');
    if (colon != NULL && slash != NULL && slash > colon && strstr(step, "-file:") != NULL &&
        (size_t)(colon - step) + 1 + strlen(slash + 1) < cap) {
        memcpy(buf, step, (size_t)(colon - step) + 1);
        strcpy(buf + (colon - step) + 1, slash + 1);
        return buf;
    }
    return step;
}

static void run_step(const char *step_arg)
{
    const char *a;
    postie_status st;
    char lbuf[256];
    const char *step = label(step_arg, lbuf, sizeof lbuf);

    if ((a = script_arg(step_arg, "domain")) != NULL) {
        char *d = script_unescape(a, NULL);
        st = postie_smtp_set_domain(&S, d);
        free(d);
        local_line(step, st);
    } else if ((a = script_arg(step_arg, "local-addr")) != NULL) {
        char *d = script_unescape(a, NULL);
        st = postie_smtp_set_local_addr(&S, d);
        free(d);
        local_line(step, st);
    } else if ((a = script_arg(step_arg, "timeout")) != NULL) {
        postie_smtp_set_timeout(&S, (unsigned)script_number(a, step));
        local_line(step, POSTIE_OK);
    } else if ((a = script_arg(step_arg, "sleep")) != NULL) {
        script_sleep_ms(script_number(a, step));
        local_line(step, POSTIE_OK);
    } else if (strcmp(step_arg, "open") == 0 || strcmp(step_arg, "ehlo") == 0) {
        st = step_arg[0] == 'o' ? postie_smtp_open(&S) : postie_smtp_ehlo(&S);
        begin_line(step, st);
        print_ext();
        end_line();
    } else if ((a = script_arg(step_arg, "auth")) != NULL) {
        char *mechs, *user, *secret;
        split3(a, step, &mechs, &user, &secret);
        st = postie_smtp_auth(&S, mechs_from(mechs, step), user, secret);
        free(mechs);
        free(user);
        free(secret);
        begin_line(step, st);
        end_line();
    } else if ((a = script_arg(step_arg, "from")) != NULL) {
        env.from = keep(script_unescape(a, NULL));
        local_line(step, POSTIE_OK);
    } else if ((a = script_arg(step_arg, "rcpt")) != NULL) {
        if (env.nrcpts == MAX_RCPTS) {
            script_usage_error("too many recipients at", step);
        }
        rcpts[env.nrcpts++].addr = keep(script_unescape(a, NULL));
        local_line(step, POSTIE_OK);
    } else if ((a = script_arg(step_arg, "rcpt-params")) != NULL) {
        if (env.nrcpts == 0) {
            script_usage_error("rcpt-params before any rcpt:", step);
        }
        rcpts[env.nrcpts - 1].params = keep(script_unescape(a, NULL));
        local_line(step, POSTIE_OK);
    } else if ((a = script_arg(step_arg, "mail-params")) != NULL) {
        env.mail_params = keep(script_unescape(a, NULL));
        local_line(step, POSTIE_OK);
    } else if ((a = script_arg(step_arg, "size")) != NULL) {
        env.size = script_number(a, step);
        local_line(step, POSTIE_OK);
    } else if (strcmp(step_arg, "8bit") == 0 || strcmp(step_arg, "utf8") == 0) {
        env.flags |= step_arg[0] == '8' ? POSTIE_SMTP_MSG_8BIT : POSTIE_SMTP_MSG_UTF8;
        local_line(step, POSTIE_OK);
    } else if ((a = script_arg(step_arg, "on-refused")) != NULL) {
        if (strcmp(a, "abort") == 0) {
            env.on_refused = POSTIE_SMTP_REFUSED_ABORT;
        } else if (strcmp(a, "continue") == 0) {
            env.on_refused = POSTIE_SMTP_REFUSED_CONTINUE;
        } else {
            script_usage_error("on-refused wants abort or continue:", step);
        }
        local_line(step, POSTIE_OK);
    } else if (strcmp(step_arg, "mail") == 0) {
        st = postie_smtp_mail(&S, &env);
        begin_line(step, st);
        print_rcpts();
        end_line();
        env_clear();
    } else if ((a = script_arg(step_arg, "data-chunk")) != NULL) {
        chunk = (size_t)script_number(a, step);
        local_line(step, POSTIE_OK);
    } else if (strcmp(step_arg, "data-begin") == 0) {
        st = postie_smtp_data_begin(&S);
        begin_line(step, st);
        end_line();
    } else if ((a = script_arg(step_arg, "data")) != NULL ||
               (a = script_arg(step_arg, "data-file")) != NULL) {
        size_t len;
        char *buf = step_arg[4] == ':' ? script_unescape(a, &len) : script_read_file(a, &len);
        write_data(step, buf, len);
        free(buf);
    } else if (strcmp(step_arg, "data-end") == 0) {
        st = postie_smtp_data_end(&S);
        begin_line(step, st);
        printf(" sent=%lu", postie_smtp_messages_sent(&S));
        end_line();
    } else if ((a = script_arg(step_arg, "send-buf")) != NULL ||
               (a = script_arg(step_arg, "send-buf-file")) != NULL ||
               (a = script_arg(step_arg, "send")) != NULL ||
               (a = script_arg(step_arg, "send-file")) != NULL) {
        size_t len;
        int from_file = strncmp(step_arg, "send-file:", 10) == 0 || strncmp(step_arg, "send-buf-file:", 14) == 0;
        int use_buf = strncmp(step_arg, "send-buf", 8) == 0;
        char *buf = from_file ? script_read_file(a, &len) : script_unescape(a, &len);
        reader_state r;
        memset(&r, 0, sizeof r);
        if (use_buf) {
            st = postie_smtp_send_buf(&S, &env, buf, len);
        } else {
            r.p = buf;
            r.len = len;
            st = postie_smtp_send(&S, &env, reader, &r);
        }
        begin_line(step, st);
        if (use_buf) {
            printf(" size=%llu", env.size);
        } else {
            printf(" reads=%zu", r.reads);
        }
        print_rcpts();
        printf(" sent=%lu", postie_smtp_messages_sent(&S));
        end_line();
        free(buf);
        env_clear();
    } else if (strcmp(step_arg, "rset") == 0) {
        st = postie_smtp_rset(&S);
        begin_line(step, st);
        end_line();
    } else if (strcmp(step_arg, "noop") == 0) {
        st = postie_smtp_noop(&S);
        begin_line(step, st);
        end_line();
    } else if (strcmp(step_arg, "quit") == 0) {
        st = postie_smtp_quit(&S);
        begin_line(step, st);
        printf(" sent=%lu", postie_smtp_messages_sent(&S));
        end_line();
    } else if (strcmp(step_arg, "close") == 0) {
        postie_smtp_close(&S);
        begin_line(step, POSTIE_OK);
        end_line();
    } else {
        script_usage_error("unknown step", step);
    }
}

int main(int argc, char **argv)
{
    postie_status st;
    int i;

    script_prog = "smtp_script_client";
    if (argc < 3) {
        fputs("usage: smtp_script_client HOST PORT STEP...\n", stderr);
        return 2;
    }
    env_clear();
    st = postie_tcp_connect(&tcp, argv[1], argv[2], 5000);
    if (st != POSTIE_OK) {
        printf("connect %s errno=%d\n", postie_status_name(st), tcp.last_errno);
        return 3;
    }
    postie_tcp_transport(&tcp, &tr);
    if (postie_smtp_init(&S, &tr) != POSTIE_OK) {
        fputs("smtp_script_client: init failed\n", stderr);
        return 2;
    }
    postie_smtp_set_timeout(&S, 5000);
    /* the transcripts are plain-text sessions: opt out of the TLS default */
    (void)postie_smtp_set_tls(&S, POSTIE_TLS_OFF, NULL);
    postie_smtp_allow_plaintext_credentials(&S, 1);
    for (i = 3; i < argc; i++) {
        run_step(argv[i]);
    }
    /* whatever the steps left open is dropped (no QUIT): a case that wants
     * QUIT says so */
    postie_smtp_close(&S);
    env_clear();
    return 0;
}
