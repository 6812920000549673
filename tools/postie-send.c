/*
 * postie-send - send mail over SMTP. Works as a sendmail for git send-email,
 * mutt and cron (message on standard input, -t, -f, -i/-oi, recipients as
 * arguments), or composes a message itself (--to, --subject, --attach ...).
 * Usage: man/postie-send.1, docs/tools.md.
 */
#include "common.h"
#include "headers.h"
#include "net.h"
#include "rcpt.h"
#include "postie/compose.h"
#include "postie/posix_random.h"
#include "postie/sasl.h"
#include "postie/smtp.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char usage_text[] =
    "Usage: postie-send [OPTION]... [RECIPIENT]...\n"
    "Send the message on standard input (as sendmail does), or compose one.\n"
    "\n"
    "sendmail options:\n"
    "  -t                     take recipients from To, Cc and Bcc; Bcc is removed\n"
    "  -f ADDR, -r ADDR       envelope sender (default: the account's 'from', else\n"
    "                         the From header)\n"
    "  -i, -oi                a line with a single dot does not end the message\n"
    "  -F NAME, -oX, -bm, -B TYPE, -N DSN   accepted and ignored\n"
    "\n"
    "Composing (instead of standard input):\n"
    "      --from=ADDR        sender (From and envelope)\n"
    "      --to=ADDR          recipient (repeatable)\n"
    "      --cc=ADDR          copy recipient (repeatable)\n"
    "      --bcc=ADDR         blind copy recipient (repeatable; not in the header)\n"
    "      --subject=TEXT     subject (UTF-8)\n"
    "      --body-file=FILE   text of the message ('-' for standard input)\n"
    "      --attach=FILE      attach FILE (repeatable)\n"
    "\n"
    "Account (flags override the configuration file):\n"
    "  -a, --account=NAME     use account NAME of the configuration file\n"
    "  -C, --config=FILE      configuration file (default\n"
    "                         $XDG_CONFIG_HOME/postie/config or ~/.config/postie/config)\n"
    "      --host=HOST        SMTP server\n"
    "      --port=PORT        port (default 587; 465 with --tls implicit, 25 with --tls off)\n"
    "      --user=USER        log in as USER (no login without one)\n"
    "      --tls=MODE         off, starttls or implicit\n"
    "      --cafile=FILE      trust the CA certificates in FILE instead of the system's\n"
    "      --timeout=SECONDS  network timeout (default 60)\n"
    "  The password comes from the configuration (passwordeval, password_env),\n"
    "  the environment variable POSTIE_PASSWORD, or ~/.netrc; never from a flag.\n"
    "\n"
    "  -q, --quiet            errors only\n"
    "  -v, --verbose          say what is done\n"
    "      --trace            print the protocol dialogue on stderr (passwords redacted)\n"
    "  -h, --help             this help\n"
    "  -V, --version          version\n"
    "\n"
    "Exit status follows sysexits.h: 0 sent, 64 usage, 65 bad message, 66 unreadable\n"
    "file, 67 recipients refused, 68 unknown host, 69 refused by the server, 75 temporary\n"
    "failure (try again later), 76 protocol or TLS error, 77 authentication failed,\n"
    "78 configuration error.\n";

enum {
    OPT_HOST = 256, OPT_PORT, OPT_USER, OPT_TLS, OPT_CAFILE, OPT_TIMEOUT, OPT_FROM, OPT_TO,
    OPT_CC, OPT_BCC, OPT_SUBJECT, OPT_BODY, OPT_ATTACH, OPT_TRACE
};

static const struct option long_opts[] = {
    { "account", required_argument, NULL, 'a' },
    { "config", required_argument, NULL, 'C' },
    { "host", required_argument, NULL, OPT_HOST },
    { "port", required_argument, NULL, OPT_PORT },
    { "user", required_argument, NULL, OPT_USER },
    { "tls", required_argument, NULL, OPT_TLS },
    { "cafile", required_argument, NULL, OPT_CAFILE },
    { "timeout", required_argument, NULL, OPT_TIMEOUT },
    { "from", required_argument, NULL, OPT_FROM },
    { "to", required_argument, NULL, OPT_TO },
    { "cc", required_argument, NULL, OPT_CC },
    { "bcc", required_argument, NULL, OPT_BCC },
    { "subject", required_argument, NULL, OPT_SUBJECT },
    { "body-file", required_argument, NULL, OPT_BODY },
    { "attach", required_argument, NULL, OPT_ATTACH },
    { "quiet", no_argument, NULL, 'q' },
    { "verbose", no_argument, NULL, 'v' },
    { "trace", no_argument, NULL, OPT_TRACE },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, 'V' },
    { NULL, 0, NULL, 0 }
};

/* Reads a whole file (path "-": standard input). With dot_ends, a line
 * holding a single '.' ends the input (sendmail without -i). */
static char *read_all(FILE *f, size_t *len, int dot_ends)
{
    size_t cap = 65536, n = 0;
    char *b = malloc(cap);
    if (!b)
        return NULL;
    if (dot_ends) {
        char *line = NULL;
        size_t lcap = 0;
        ssize_t l;
        while ((l = getline(&line, &lcap, f)) > 0) {
            /* by length: a '.' followed by a NUL is not the end */
            if ((l == 2 && memcmp(line, ".\n", 2) == 0) ||
                (l == 3 && memcmp(line, ".\r\n", 3) == 0) || (l == 1 && line[0] == '.'))
                break;
            while (n + (size_t)l + 1 > cap) {
                char *nb = realloc(b, cap *= 2);
                if (!nb) {
                    free(b);
                    free(line);
                    return NULL;
                }
                b = nb;
            }
            memcpy(b + n, line, (size_t)l);
            n += (size_t)l;
        }
        free(line);
    } else {
        size_t got;
        for (;;) {
            if (cap - n < 4096) {
                char *nb = realloc(b, cap *= 2);
                if (!nb) {
                    free(b);
                    return NULL;
                }
                b = nb;
            }
            got = fread(b + n, 1, cap - n - 1, f);
            n += got;
            if (got == 0)
                break;
        }
    }
    if (ferror(f)) {
        free(b);
        return NULL;
    }
    b[n] = '\0';
    *len = n;
    return b;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f;
    char *r;
    if (strcmp(path, "-") == 0)
        return read_all(stdin, len, 0);
    f = fopen(path, "rb");
    if (!f)
        return NULL;
    r = read_all(f, len, 0);
    {
        int e = errno;
        fclose(f);
        errno = e;
    }
    return r;
}

static const char *content_type_for(const char *name)
{
    static const struct {
        const char *ext, *type;
    } map[] = {
        { ".txt", "text/plain" }, { ".patch", "text/x-diff" }, { ".diff", "text/x-diff" },
        { ".html", "text/html" }, { ".csv", "text/csv" },      { ".pdf", "application/pdf" },
        { ".png", "image/png" },  { ".jpg", "image/jpeg" },    { ".jpeg", "image/jpeg" },
        { ".gif", "image/gif" },  { ".zip", "application/zip" },
        { ".gz", "application/gzip" }, { ".json", "application/json" },
    };
    size_t i, n = strlen(name);
    for (i = 0; i < sizeof map / sizeof map[0]; i++) {
        size_t e = strlen(map[i].ext);
        if (n > e && strcasecmp(name + n - e, map[i].ext) == 0)
            return map[i].type;
    }
    return "application/octet-stream";
}

/* Watches the bytes that go out for the end of the message (CRLF "." CRLF:
 * dot-stuffing keeps it out of the content), so that a connection lost
 * afterwards is reported as "may have been delivered", not "not sent". */
typedef struct dot_watch {
    postie_transport inner;
    unsigned matched; /* bytes of "\r\n.\r\n" matched so far */
    int dot_sent;
} dot_watch;

static long watch_send(void *ctx, const void *buf, size_t len, unsigned timeout_ms)
{
    static const char end[] = "\r\n.\r\n";
    dot_watch *w = ctx;
    long r = w->inner.send(w->inner.ctx, buf, len, timeout_ms);
    long i;
    for (i = 0; i < r; i++) {
        char c = ((const char *)buf)[i];
        if (c == end[w->matched])
            w->matched++;
        else
            w->matched = c == '\r' ? 1 : 0;
        if (w->matched == 5) {
            w->dot_sent = 1;
            w->matched = 0;
        }
    }
    return r;
}

static long watch_recv(void *ctx, void *buf, size_t len, unsigned timeout_ms)
{
    dot_watch *w = ctx;
    return w->inner.recv(w->inner.ctx, buf, len, timeout_ms);
}

static postie_status watch_start_tls(void *ctx, const char *server_name)
{
    dot_watch *w = ctx;
    return w->inner.start_tls(w->inner.ctx, server_name);
}

static void watch_close(void *ctx)
{
    dot_watch *w = ctx;
    if (w->inner.close)
        w->inner.close(w->inner.ctx);
}

static void dot_watch_wrap(dot_watch *w, const postie_transport *inner, postie_transport *out)
{
    memset(w, 0, sizeof *w);
    w->inner = *inner;
    out->ctx = w;
    out->send = watch_send;
    out->recv = watch_recv;
    out->start_tls = inner->start_tls ? watch_start_tls : NULL;
    out->close = watch_close;
}

typedef struct sender {
    postie_smtp smtp;
    tool_conn conn;
    dot_watch watch;
    postie_transport tr; /* conn.tr seen through watch */
    int alive;
} sender;

static int smtp_fail(sender *s, postie_status st, const char *what)
{
    int code = postie_smtp_reply_code(&s->smtp);
    const char *tls = tool_conn_tls_error(&s->conn);
    if ((st == POSTIE_ERR_SERVER || st == POSTIE_ERR_TRANSIENT || st == POSTIE_ERR_AUTH ||
         st == POSTIE_ERR_TOO_BIG) && code) {
        char text[POSTIE_REPLY_TEXT_MAX];
        char *p;
        snprintf(text, sizeof text, "%s", postie_smtp_reply_text(&s->smtp));
        for (p = text; *p; p++)
            if (*p == '\n')
                *p = ' ';
        tool_err("%s: %s (server said: %d %s%s%s)", what, postie_strerror(st), code,
                 postie_smtp_reply_enhanced(&s->smtp),
                 postie_smtp_reply_enhanced(&s->smtp)[0] ? " " : "", text);
    } else if ((st == POSTIE_ERR_TLS || st == POSTIE_ERR_TLS_VERIFY) && tls[0]) {
        tool_err("%s: %s: %s", what, postie_strerror(st), tls);
    } else {
        tool_err("%s: %s", what, postie_strerror(st));
    }
    return tool_exit_for_status(st);
}

int main(int argc, char **argv)
{
    tool_cfg cfg;
    sender s;
    char err[1024];
    const char *account = NULL, *config = NULL, *o_host = NULL, *o_port = NULL,
               *o_user = NULL, *o_tls = NULL, *o_cafile = NULL, *o_timeout = NULL,
               *o_env_from = NULL, *o_from = NULL, *o_subject = NULL, *o_body = NULL;
    const char *host, *port, *user, *cafile, *env_from;
    tool_strv rcpts, to, cc, bcc, attach;
    tool_tls_mode tls;
    int take_headers = 0, dot_ends = 1, trace = 0, compose_mode = 0, c, rc = 0, ex = 0;
    unsigned timeout_ms;
    char *cfgpath = NULL, *pass = NULL, *msg = NULL, *msg2 = NULL, *hdr_from = NULL;
    size_t msglen = 0, i;
    postie_smtp_rcpt *er = NULL;
    postie_smtp_envelope env;
    postie_status st;
    /* compose mode */
    postie_compose_message cm;
    postie_compose comp;
    postie_compose_address *cto = NULL, *ccc = NULL, *cbcc = NULL;
    postie_compose_attachment *catt = NULL;
    char **attdata = NULL;
    char *body = NULL;
    size_t bodylen = 0;
    unsigned char rnd[32]; /* read by the composer until the message is sent */

    tool_progname = "postie-send";
    argv[0] = (char *)tool_progname; /* getopt's messages: the name without a path */
    memset(&cfg, 0, sizeof cfg);
    memset(&s, 0, sizeof s);
    memset(&rcpts, 0, sizeof rcpts);
    memset(&to, 0, sizeof to);
    memset(&cc, 0, sizeof cc);
    memset(&bcc, 0, sizeof bcc);
    memset(&attach, 0, sizeof attach);
    memset(&env, 0, sizeof env);

    /* "+" keeps option parsing from permuting: recipients follow the options */
    while ((c = getopt_long(argc, argv, "+a:C:tf:r:io:F:b:B:N:qvhV", long_opts, NULL)) != -1) {
        switch (c) {
        case 'a': account = optarg; break;
        case 'C': config = optarg; break;
        case OPT_HOST: o_host = optarg; break;
        case OPT_PORT: o_port = optarg; break;
        case OPT_USER: o_user = optarg; break;
        case OPT_TLS: o_tls = optarg; break;
        case OPT_CAFILE: o_cafile = optarg; break;
        case OPT_TIMEOUT: o_timeout = optarg; break;
        case 't': take_headers = 1; break;
        case 'f':
        case 'r': o_env_from = optarg; break;
        case 'i': dot_ends = 0; break;
        case 'o':
            if (strcmp(optarg, "i") == 0)
                dot_ends = 0; /* -oi; other -oX (e.g. -oem) are sendmail queue options */
            break;
        case 'F': case 'B': case 'N': break;
        case 'b':
            if (strcmp(optarg, "m") != 0) {
                tool_err("-b%s is not supported (only -bm, sending a message)", optarg);
                rc = TOOL_EX_USAGE;
                goto out;
            }
            break;
        case OPT_FROM: o_from = optarg; compose_mode = 1; break;
        case OPT_TO: tool_strv_add(&to, optarg); compose_mode = 1; break;
        case OPT_CC: tool_strv_add(&cc, optarg); compose_mode = 1; break;
        case OPT_BCC: tool_strv_add(&bcc, optarg); compose_mode = 1; break;
        case OPT_SUBJECT: o_subject = optarg; compose_mode = 1; break;
        case OPT_BODY: o_body = optarg; compose_mode = 1; break;
        case OPT_ATTACH: tool_strv_add(&attach, optarg); compose_mode = 1; break;
        case 'q': tool_verbosity = -1; break;
        case 'v': tool_verbosity = 1; break;
        case OPT_TRACE: trace = 1; break;
        case 'h': fputs(usage_text, stdout); return 0;
        case 'V': printf("postie-send (Postie) %s\n", POSTIE_TOOLS_VERSION); return 0;
        default:
            fprintf(stderr, "Try 'postie-send --help'.\n");
            return TOOL_EX_USAGE;
        }
    }
    for (; optind < argc; optind++) {
        /* sendmail callers (git send-email) may pass "--" or addresses in a
         * list "a@x, b@y" */
        if (strcmp(argv[optind], "--") == 0)
            continue;
        if (tool_rcpt_arg(argv[optind], &rcpts, err, sizeof err) != 0) {
            tool_err("bad recipient: %s", err);
            rc = TOOL_EX_USAGE;
            goto out;
        }
    }

    cfgpath = config ? tool_strdup(config) : tool_cfg_default_path();
    if (tool_cfg_load(&cfg, cfgpath, account, config != NULL || account != NULL, err,
                      sizeof err) != 0) {
        tool_err("%s", err);
        rc = TOOL_EX_CONFIG;
        goto out;
    }
    {
        static const char *const ports[3] = {"25", "587", "465"};
        const tool_server_flags fl = {o_host, o_port, o_user, o_tls, o_cafile, o_timeout};
        tool_server sv;
        if ((rc = tool_server_resolve(&sv, &fl, &cfg, "smtp", ports)) != 0)
            goto out;
        host = sv.host;
        user = sv.user;
        port = sv.port;
        tls = sv.tls;
        cafile = sv.cafile;
        timeout_ms = sv.timeout_ms;
    }
    if (!host) {
        tool_err("no host: give --host or an account in %s (try --help)",
                 cfgpath ? cfgpath : "the configuration file");
        rc = cfg.account ? TOOL_EX_CONFIG : TOOL_EX_USAGE;
        goto out;
    }

    /* the message */
    env_from = o_env_from ? o_env_from : o_from ? o_from : tool_cfg_get(&cfg, NULL, "from");
    if (compose_mode) {
        size_t k;
        int fd;
        struct tm lt;
        time_t now = time(NULL);
        if (take_headers) {
            tool_err("-t and the compose options (--to, --subject, ...) do not mix");
            rc = TOOL_EX_USAGE;
            goto out;
        }
        if (!env_from) {
            tool_err("no sender: give --from or 'from' in the configuration");
            rc = TOOL_EX_USAGE;
            goto out;
        }
        if (o_body) {
            body = read_file(o_body, &bodylen);
            if (!body) {
                tool_err("%s: %s", o_body, strerror(errno));
                rc = TOOL_EX_NOINPUT;
                goto out;
            }
        }
        cto = calloc(to.n + 1, sizeof *cto);
        ccc = calloc(cc.n + 1, sizeof *ccc);
        cbcc = calloc(bcc.n + 1, sizeof *cbcc);
        catt = calloc(attach.n + 1, sizeof *catt);
        attdata = calloc(attach.n + 1, sizeof *attdata);
        if (!cto || !ccc || !cbcc || !catt || !attdata) {
            tool_err("out of memory");
            rc = TOOL_EX_OSERR;
            goto out;
        }
        for (k = 0; k < to.n; k++)
            cto[k].address = to.v[k];
        for (k = 0; k < cc.n; k++)
            ccc[k].address = cc.v[k];
        for (k = 0; k < bcc.n; k++)
            cbcc[k].address = bcc.v[k];
        for (k = 0; k < attach.n; k++) {
            size_t alen;
            const char *base = strrchr(attach.v[k], '/');
            attdata[k] = read_file(attach.v[k], &alen);
            if (!attdata[k]) {
                tool_err("%s: %s", attach.v[k], strerror(errno));
                rc = TOOL_EX_NOINPUT;
                goto out;
            }
            catt[k].filename = base ? base + 1 : attach.v[k];
            catt[k].content_type = content_type_for(attach.v[k]);
            catt[k].data = attdata[k];
            catt[k].len = alen;
        }
        fd = open("/dev/urandom", O_RDONLY);
        if (fd < 0 || read(fd, rnd, sizeof rnd) != (ssize_t)sizeof rnd) {
            tool_err("/dev/urandom: cannot read");
            if (fd >= 0)
                close(fd);
            rc = TOOL_EX_OSERR;
            goto out;
        }
        close(fd);
        localtime_r(&now, &lt);
        postie_compose_message_init(&cm);
        cm.time = (int64_t)now;
        cm.utc_offset_minutes = (int)(lt.tm_gmtoff / 60);
        cm.random = rnd;
        cm.random_len = sizeof rnd;
        cm.from.address = env_from;
        cm.to = cto;
        cm.to_count = to.n;
        cm.cc = ccc;
        cm.cc_count = cc.n;
        cm.bcc = cbcc;
        cm.bcc_count = bcc.n;
        cm.subject = o_subject;
        cm.body = body;
        cm.body_len = bodylen;
        cm.attachments = catt;
        cm.attachment_count = attach.n;
        st = postie_compose_begin(&comp, &cm);
        if (st != POSTIE_OK) {
            tool_err("cannot compose the message: %s", postie_strerror(st));
            rc = TOOL_EX_DATAERR;
            goto out;
        }
        for (k = 0; k < postie_compose_recipient_count(&comp); k++)
            if (tool_strv_add(&rcpts, postie_compose_recipient(&comp, k)) != 0) {
                tool_err("out of memory");
                rc = TOOL_EX_OSERR;
                goto out;
            }
    } else {
        msg = read_all(stdin, &msglen, dot_ends);
        if (!msg) {
            tool_err("cannot read the message from standard input: %s", strerror(errno));
            rc = TOOL_EX_NOINPUT;
            goto out;
        }
        if (memchr(msg, '\0', msglen)) {
            /* RFC 5322 text never holds NUL, and cutting the message there
             * would drop the rest silently */
            const char *z = memchr(msg, '\0', msglen), *q;
            unsigned long line = 1;
            for (q = msg; q < z; q++)
                line += *q == '\n';
            tool_err("the message holds a NUL byte (line %lu); nothing was sent", line);
            rc = TOOL_EX_DATAERR;
            goto out;
        }
        if (take_headers) {
            if (tool_headers_take_recipients(msg, msglen, &rcpts, &msg2, &msglen) != 0) {
                tool_err("malformed address in the To, Cc or Bcc header");
                rc = TOOL_EX_DATAERR;
                goto out;
            }
            free(msg);
            msg = msg2;
            msg2 = NULL;
        }
        if (!env_from)
            env_from = hdr_from = tool_headers_first_addr(msg, msglen, "From");
        if (!env_from) {
            tool_err("no sender: give -f, 'from' in the configuration, or a From header");
            rc = TOOL_EX_USAGE;
            goto out;
        }
    }
    if (rcpts.n == 0) {
        tool_err("no recipients (give them as arguments, with -t, or with --to)");
        rc = TOOL_EX_USAGE;
        goto out;
    }

    /* password, only when logging in */
    if (user) {
        tool_pass_src ps;
        memset(&ps, 0, sizeof ps);
        ps.eval = tool_cfg_get(&cfg, "smtp", "passwordeval");
        ps.env_name = tool_cfg_get(&cfg, "smtp", "password_env");
        ps.netrc = tool_cfg_get(&cfg, "smtp", "netrc");
        ps.host = host;
        ps.user = user;
        pass = tool_password(&ps, err, sizeof err);
        if (!pass) {
            tool_err("%s", err);
            rc = TOOL_EX_CONFIG;
            goto out;
        }
    }

    if (tool_connect(&s.conn, host, port, tls, cafile, timeout_ms, trace, err, sizeof err,
                     &ex) != 0) {
        tool_err("%s", err);
        rc = ex;
        goto out;
    }
    dot_watch_wrap(&s.watch, &s.conn.tr, &s.tr);
    postie_smtp_init(&s.smtp, &s.tr);
    postie_smtp_set_timeout(&s.smtp, timeout_ms);
    {
        int allow_plain;
        postie_tls_policy pol = tool_tls_policy(tls, &allow_plain);
        if (postie_smtp_set_tls(&s.smtp, pol, pol == POSTIE_TLS_REQUIRED ? host : NULL) != POSTIE_OK) {
            tool_err("'%s' cannot be checked against a certificate (not a host name)", host);
            rc = TOOL_EX_USAGE;
            goto out;
        }
        postie_smtp_allow_plaintext_credentials(&s.smtp, allow_plain);
        postie_smtp_set_random(&s.smtp, postie_posix_random, NULL);
    }
    s.alive = 1;
    {
        char hn[256];
        if (gethostname(hn, sizeof hn) == 0) {
            hn[sizeof hn - 1] = '\0';
            (void)postie_smtp_set_domain(&s.smtp, hn); /* keeps the default if not a domain */
        }
    }
    st = postie_smtp_open(&s.smtp);
    if (st != POSTIE_OK) {
        rc = smtp_fail(&s, st, "greeting");
        goto out;
    }
    if (user) {
        st = postie_smtp_auth(&s.smtp, POSTIE_SASL_PASSWORD_MECHS, user, pass);
        if (st != POSTIE_OK) {
            if (st == POSTIE_ERR_AUTH)
                tool_err("authentication failed for %s on %s (server said: %d %s)", user, host,
                         postie_smtp_reply_code(&s.smtp), postie_smtp_reply_text(&s.smtp));
            else
                smtp_fail(&s, st, st == POSTIE_ERR_UNSUPPORTED
                                      ? "AUTH (the server offers no password mechanism here)"
                                      : "AUTH");
            rc = tool_exit_for_status(st);
            goto out;
        }
    }

    er = calloc(rcpts.n, sizeof *er);
    if (!er) {
        tool_err("out of memory");
        rc = TOOL_EX_OSERR;
        goto out;
    }
    for (i = 0; i < rcpts.n; i++)
        er[i].addr = rcpts.v[i];
    env.from = env_from;
    env.rcpts = er;
    env.nrcpts = rcpts.n;
    env.on_refused = POSTIE_SMTP_REFUSED_ABORT;
    if (compose_mode) {
        if (postie_compose_is_8bit(&comp))
            env.flags |= POSTIE_SMTP_MSG_8BIT;
        st = postie_smtp_send(&s.smtp, &env, postie_compose_reader, &comp);
    } else {
        st = postie_smtp_send_buf(&s.smtp, &env, msg, msglen);
    }
    if (st == POSTIE_ERR_RECIPIENTS) {
        int permanent = 0;
        for (i = 0; i < rcpts.n; i++) {
            if (er[i].status == POSTIE_OK)
                continue;
            if (er[i].status == POSTIE_ERR_SERVER)
                permanent = 1;
            tool_err("recipient %s refused: %d%s%s (%s)", er[i].addr, er[i].code,
                     er[i].enhanced[0] ? " " : "", er[i].enhanced,
                     er[i].status == POSTIE_ERR_TRANSIENT ? "temporary" : "permanent");
        }
        tool_err("message not sent");
        rc = permanent ? TOOL_EX_NOUSER : TOOL_EX_TEMPFAIL;
        goto out;
    }
    if (st != POSTIE_OK && s.watch.dot_sent && postie_smtp_reply_code(&s.smtp) / 100 != 5 &&
        postie_smtp_reply_code(&s.smtp) / 100 != 4) {
        /* the whole message went out; only its reply is missing */
        rc = smtp_fail(&s, st, "no reply after the end of the message: it may have been "
                               "delivered (check before sending it again)");
        goto out;
    }
    if (st != POSTIE_OK) {
        rc = smtp_fail(&s, st, "message not sent");
        goto out;
    }
    tool_info("message sent to %zu recipient%s", rcpts.n, rcpts.n == 1 ? "" : "s");
    (void)postie_smtp_quit(&s.smtp); /* the message is sent whatever QUIT says */
    s.alive = 0;

out:
    if (s.alive)
        postie_smtp_close(&s.smtp);
    if (pass) {
        memset(pass, 0, strlen(pass));
        free(pass);
    }
    if (attdata)
        for (i = 0; i < attach.n; i++)
            free(attdata[i]);
    free(attdata);
    free(catt);
    free(cto);
    free(ccc);
    free(cbcc);
    free(body);
    free(er);
    free(msg);
    free(msg2);
    free(hdr_from);
    free(cfgpath);
    tool_strv_free(&rcpts);
    tool_strv_free(&to);
    tool_strv_free(&cc);
    tool_strv_free(&bcc);
    tool_strv_free(&attach);
    tool_cfg_free(&cfg);
    return rc;
}
