/*
 * postie-send - send mail over SMTP. Works as a sendmail for git send-email,
 * mutt and cron (message on standard input, -t, -f, -i/-oi, recipients as
 * arguments), or composes a message itself (--to, --subject, --attach ...).
 * Usage: man/postie-send.1, docs/tools.md.
 */
#include "common.h"
#include "config.h"
#include "password.h"
#include "oauth.h"
#include "headers.h"
#include "net.h"
#include "rcpt.h"
#include "outbox.h"
#include "testhook.h"
#include "postie/posix_clock.h"
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
    "  or:  postie-send [OPTION]... --batch FILE...\n"
    "Send the message on standard input (as sendmail does), or compose one, or\n"
    "send several messages over one connection.\n"
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
    "Several messages over one connection:\n"
    "      --batch            the arguments are message files, each sent as with -t\n"
    "                         (recipients from To, Cc and Bcc; Bcc removed); one\n"
    "                         line per message on standard output says whether it\n"
    "                         was accepted, refused, not sent, or may have been\n"
    "                         delivered (its reply lost)\n"
    "\n"
    "The outbox (docs/tools.md, \"The outbox\"):\n"
    "      --queue            store the message (stdin, composed, or each --batch\n"
    "                         file) with its envelope in the outbox instead of\n"
    "                         sending it; exit 0 only once it is safe on disk\n"
    "      --flush            send what the outbox holds, one connection per\n"
    "                         account; 4xx: tried again later (back-off), 5xx:\n"
    "                         moved aside with the server's reply (with -a: only\n"
    "                         that account's messages)\n"
    "      --list-queue, -bp  what waits in the outbox, and why\n"
    "      --outbox=DIR       the outbox folder (default: the account's 'outbox',\n"
    "                         else $XDG_STATE_HOME/postie/outbox)\n"
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
    "  An account with oauth_provider logs in with an OAuth 2.0 token instead:\n"
    "      --authorize[=FLOW] authorize Postie with the provider (FLOW device or\n"
    "                         browser), keep the tokens, send nothing\n"
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
    OPT_CC, OPT_BCC, OPT_SUBJECT, OPT_BODY, OPT_ATTACH, OPT_TRACE, OPT_BATCH,
    OPT_QUEUE, OPT_FLUSH, OPT_LIST_QUEUE, OPT_OUTBOX
};

#define OPT_AUTHORIZE 1000 /* --authorize[=FLOW] (oauth.h) */
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
    { "batch", no_argument, NULL, OPT_BATCH },
    { "queue", no_argument, NULL, OPT_QUEUE },
    { "flush", no_argument, NULL, OPT_FLUSH },
    { "list-queue", no_argument, NULL, OPT_LIST_QUEUE },
    { "outbox", required_argument, NULL, OPT_OUTBOX },
    { "authorize", optional_argument, NULL, OPT_AUTHORIZE },
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
    /* the outbox (tools/outbox.h): hook(u, 0) before the bytes that end the
     * message go out (non-zero: they do not), hook(u, 1) after */
    int (*hook)(void *u, int sent);
    void *hook_u;
    int hook_called;
} dot_watch;

static long watch_send(void *ctx, const void *buf, size_t len, unsigned timeout_ms)
{
    static const char end[] = "\r\n.\r\n";
    dot_watch *w = ctx;
    long r, i;
    if (w->hook && !w->hook_called && !w->dot_sent) {
        unsigned m = w->matched;
        size_t k;
        for (k = 0; k < len && m < 5; k++) {
            char c = ((const char *)buf)[k];
            m = c == end[m] ? m + 1 : c == '\r' ? 1 : 0;
        }
        if (m == 5) {
            w->hook_called = 1;
            if (w->hook(w->hook_u, 0) != 0)
                return POSTIE_ERR_IO;
        }
    }
    r = w->inner.send(w->inner.ctx, buf, len, timeout_ms);
    for (i = 0; i < r; i++) {
        char c = ((const char *)buf)[i];
        if (c == end[w->matched])
            w->matched++;
        else
            w->matched = c == '\r' ? 1 : 0;
        if (w->matched == 5) {
            w->dot_sent = 1;
            w->matched = 0;
            if (w->hook)
                w->hook(w->hook_u, 1);
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
    char tls[512];
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
    } else if (tool_conn_tls_message(&s->conn, st, tls, sizeof tls)) {
        tool_err("%s", tls); /* where it happened: the handshake, not the step */
    } else {
        tool_err("%s: %s", what, postie_strerror(st));
    }
    return tool_exit_for_status(st);
}

/* What the command line said; NULL: not given. */
typedef struct send_opts {
    const char *account, *config, *env_from, *from, *subject, *body, *outbox;
    tool_server_flags srv;
    tool_strv rcpts, to, cc, bcc, attach;
    tool_strv files;          /* --batch: the message files */
    int take_headers, dot_ends, trace, compose, batch;
    int queue, flush, list_queue; /* the outbox (tools/outbox.c) */
    int authorize;            /* --authorize given; authorize_flow: its FLOW or NULL */
    const char *authorize_flow;
} send_opts;

/* One message of --batch: its file, and its envelope as -t gives it. */
typedef struct batch_msg {
    const char *path;
    char *data;               /* Bcc removed */
    size_t len;
    char *hdr_from;           /* the From header's address, when it is the sender */
    tool_strv rcpts;
    postie_smtp_rcpt *er;
    postie_smtp_envelope env;
} batch_msg;

/* One run: the account, the message and its envelope, the session. */
typedef struct send_job {
    tool_cfg cfg;
    char *cfgpath, *pass;
    tool_oauth oauth;         /* oauth.active: the account logs in with an OAuth 2.0 token */
    tool_server sv;
    const char *env_from;
    tool_strv rcpts;          /* the envelope's recipients */
    /* stdin mode: the message */
    char *msg, *hdr_from;
    size_t msglen;
    /* compose mode */
    postie_compose_message cm;
    postie_compose comp;
    postie_compose_address *cto, *ccc, *cbcc;
    postie_compose_attachment *catt;
    char **attdata;
    size_t nattach;
    char *body;
    unsigned char rnd[32];    /* read by the composer until the message is sent */
    /* --batch */
    batch_msg *bm;
    size_t nbm;
    sender s;
} send_job;

/* parse: the command line into o. Returns -1 to go on, else the exit code
 * (0 after --help or --version). */
static int parse_args(int argc, char **argv, send_opts *o)
{
    char err[512];
    int c;
    o->dot_ends = 1;
    argv[0] = (char *)tool_progname; /* getopt's messages: the name without a path */
    /* "+" keeps option parsing from permuting: recipients follow the options */
    while ((c = getopt_long(argc, argv, "+a:C:tf:r:io:F:b:B:N:qvhV", long_opts, NULL)) != -1) {
        switch (c) {
        case 'a': o->account = optarg; break;
        case 'C': o->config = optarg; break;
        case OPT_HOST: o->srv.host = optarg; break;
        case OPT_PORT: o->srv.port = optarg; break;
        case OPT_USER: o->srv.user = optarg; break;
        case OPT_TLS: o->srv.tls = optarg; break;
        case OPT_CAFILE: o->srv.cafile = optarg; break;
        case OPT_TIMEOUT: o->srv.timeout = optarg; break;
        case 't': o->take_headers = 1; break;
        case 'f':
        case 'r': o->env_from = optarg; break;
        case 'i': o->dot_ends = 0; break;
        case 'o':
            if (strcmp(optarg, "i") == 0)
                o->dot_ends = 0; /* -oi; other -oX (e.g. -oem) are sendmail queue options */
            break;
        case 'F': case 'B': case 'N': break;
        case 'b':
            if (strcmp(optarg, "p") == 0) {
                o->list_queue = 1; /* sendmail -bp (mailq): the outbox */
                break;
            }
            if (strcmp(optarg, "m") != 0) {
                tool_err("-b%s is not supported (only -bm, sending a message, and -bp, "
                         "listing the outbox)", optarg);
                return TOOL_EX_USAGE;
            }
            break;
        case OPT_FROM: o->from = optarg; o->compose = 1; break;
        case OPT_TO: tool_strv_add(&o->to, optarg); o->compose = 1; break;
        case OPT_CC: tool_strv_add(&o->cc, optarg); o->compose = 1; break;
        case OPT_BCC: tool_strv_add(&o->bcc, optarg); o->compose = 1; break;
        case OPT_SUBJECT: o->subject = optarg; o->compose = 1; break;
        case OPT_BODY: o->body = optarg; o->compose = 1; break;
        case OPT_ATTACH: tool_strv_add(&o->attach, optarg); o->compose = 1; break;
        case 'q': tool_verbosity = -1; break;
        case 'v': tool_verbosity = 1; break;
        case OPT_TRACE: o->trace = 1; break;
        case OPT_BATCH: o->batch = 1; break;
        case OPT_QUEUE: o->queue = 1; break;
        case OPT_FLUSH: o->flush = 1; break;
        case OPT_LIST_QUEUE: o->list_queue = 1; break;
        case OPT_OUTBOX: o->outbox = optarg; break;
        case OPT_AUTHORIZE: o->authorize = 1; o->authorize_flow = optarg; break;
        case 'h': fputs(usage_text, stdout); return 0;
        case 'V': printf("postie-send (Postie) %s\n", POSTIE_TOOLS_VERSION); return 0;
        default:
            fprintf(stderr, "Try 'postie-send --help'.\n");
            return TOOL_EX_USAGE;
        }
    }
    if (o->flush + o->list_queue + o->queue > 1) {
        tool_err("give only one of --queue, --flush and --list-queue");
        return TOOL_EX_USAGE;
    }
    if ((o->flush || o->list_queue) && (optind < argc || o->compose || o->batch ||
                                        o->take_headers)) {
        tool_err("--%s takes no message, recipients or compose options",
                 o->flush ? "flush" : "list-queue");
        return TOOL_EX_USAGE;
    }
    if (o->batch) {
        if (o->compose) {
            tool_err("--batch and the compose options (--to, --subject, ...) do not mix");
            return TOOL_EX_USAGE;
        }
        for (; optind < argc; optind++)
            if (tool_strv_add(&o->files, argv[optind]) != 0) {
                tool_err("out of memory");
                return TOOL_EX_OSERR;
            }
        if (o->files.n == 0) {
            tool_err("--batch: no message files given");
            return TOOL_EX_USAGE;
        }
        return -1;
    }
    for (; optind < argc; optind++) {
        /* sendmail callers (git send-email) may pass "--" or addresses in a
         * list "a@x, b@y" */
        if (strcmp(argv[optind], "--") == 0)
            continue;
        if (tool_rcpt_arg(argv[optind], &o->rcpts, err, sizeof err) != 0) {
            tool_err("bad recipient: %s", err);
            return TOOL_EX_USAGE;
        }
    }
    return -1;
}

/* resolve the account: the configuration file and the flags give the
 * server. 0 or an exit code. */
static int resolve_account(send_job *j, const send_opts *o)
{
    static const char *const ports[3] = {"25", "587", "465"};
    char err[1024];
    int rc;
    j->cfgpath = o->config ? tool_strdup(o->config) : tool_cfg_default_path();
    if (tool_cfg_load(&j->cfg, j->cfgpath, o->account, o->config != NULL || o->account != NULL,
                      err, sizeof err) != 0) {
        tool_err("%s", err);
        return TOOL_EX_CONFIG;
    }
    if ((rc = tool_server_resolve(&j->sv, &o->srv, &j->cfg, "smtp", ports)) != 0)
        return rc;
    if (!j->sv.host) {
        tool_err("no host: give --host or an account in %s (try --help)",
                 j->cfgpath ? j->cfgpath : "the configuration file");
        return j->cfg.account ? TOOL_EX_CONFIG : TOOL_EX_USAGE;
    }
    j->env_from = o->env_from ? o->env_from : o->from ? o->from : tool_cfg_get(&j->cfg, NULL, "from");
    return 0;
}

/* The composer's recipients and attachments (files read) from the flags.
 * 0 or an exit code. */
static int compose_parts(send_job *j, const send_opts *o)
{
    size_t k;
    j->cto = calloc(o->to.n + 1, sizeof *j->cto);
    j->ccc = calloc(o->cc.n + 1, sizeof *j->ccc);
    j->cbcc = calloc(o->bcc.n + 1, sizeof *j->cbcc);
    j->catt = calloc(o->attach.n + 1, sizeof *j->catt);
    j->attdata = calloc(o->attach.n + 1, sizeof *j->attdata);
    if (!j->cto || !j->ccc || !j->cbcc || !j->catt || !j->attdata) {
        tool_err("out of memory");
        return TOOL_EX_OSERR;
    }
    j->nattach = o->attach.n;
    for (k = 0; k < o->to.n; k++)
        j->cto[k].address = o->to.v[k];
    for (k = 0; k < o->cc.n; k++)
        j->ccc[k].address = o->cc.v[k];
    for (k = 0; k < o->bcc.n; k++)
        j->cbcc[k].address = o->bcc.v[k];
    for (k = 0; k < o->attach.n; k++) {
        size_t alen;
        const char *base = strrchr(o->attach.v[k], '/');
        j->attdata[k] = read_file(o->attach.v[k], &alen);
        if (!j->attdata[k]) {
            tool_err("%s: %s", o->attach.v[k], strerror(errno));
            return TOOL_EX_NOINPUT;
        }
        j->catt[k].filename = base ? base + 1 : o->attach.v[k];
        j->catt[k].content_type = content_type_for(o->attach.v[k]);
        j->catt[k].data = j->attdata[k];
        j->catt[k].len = alen;
    }
    return 0;
}

/* The message, composed from the flags (--to, --subject, --attach, ...).
 * 0 or an exit code. */
static int compose_message(send_job *j, const send_opts *o)
{
    size_t k, bodylen = 0;
    int fd, rc;
    struct tm lt;
    time_t now = time(NULL);
    postie_status st;
    if (o->take_headers) {
        tool_err("-t and the compose options (--to, --subject, ...) do not mix");
        return TOOL_EX_USAGE;
    }
    if (!j->env_from) {
        tool_err("no sender: give --from or 'from' in the configuration");
        return TOOL_EX_USAGE;
    }
    if (o->body) {
        j->body = read_file(o->body, &bodylen);
        if (!j->body) {
            tool_err("%s: %s", o->body, strerror(errno));
            return TOOL_EX_NOINPUT;
        }
    }
    if ((rc = compose_parts(j, o)) != 0)
        return rc;
    fd = open("/dev/urandom", O_RDONLY);
    if (fd < 0 || read(fd, j->rnd, sizeof j->rnd) != (ssize_t)sizeof j->rnd) {
        tool_err("/dev/urandom: cannot read");
        if (fd >= 0)
            close(fd);
        return TOOL_EX_OSERR;
    }
    close(fd);
    localtime_r(&now, &lt);
    postie_compose_message_init(&j->cm);
    j->cm.time = (int64_t)now;
    j->cm.utc_offset_minutes = (int)(lt.tm_gmtoff / 60);
    j->cm.random = j->rnd;
    j->cm.random_len = sizeof j->rnd;
    j->cm.from.address = j->env_from;
    j->cm.to = j->cto;
    j->cm.to_count = o->to.n;
    j->cm.cc = j->ccc;
    j->cm.cc_count = o->cc.n;
    j->cm.bcc = j->cbcc;
    j->cm.bcc_count = o->bcc.n;
    j->cm.subject = o->subject;
    j->cm.body = j->body;
    j->cm.body_len = bodylen;
    j->cm.attachments = j->catt;
    j->cm.attachment_count = o->attach.n;
    st = postie_compose_begin(&j->comp, &j->cm);
    if (st != POSTIE_OK) {
        tool_err("cannot compose the message: %s", postie_strerror(st));
        return TOOL_EX_DATAERR;
    }
    for (k = 0; k < postie_compose_recipient_count(&j->comp); k++)
        if (tool_strv_add(&j->rcpts, postie_compose_recipient(&j->comp, k)) != 0) {
            tool_err("out of memory");
            return TOOL_EX_OSERR;
        }
    return 0;
}

/* The message from standard input, as sendmail reads it (-t: recipients
 * from the header, Bcc removed). 0 or an exit code. */
static int read_message(send_job *j, const send_opts *o)
{
    char *msg2 = NULL;
    j->msg = read_all(stdin, &j->msglen, o->dot_ends);
    if (!j->msg) {
        tool_err("cannot read the message from standard input: %s", strerror(errno));
        return TOOL_EX_NOINPUT;
    }
    if (memchr(j->msg, '\0', j->msglen)) {
        /* RFC 5322 text never holds NUL, and cutting the message there
         * would drop the rest silently */
        const char *z = memchr(j->msg, '\0', j->msglen), *q;
        unsigned long line = 1;
        for (q = j->msg; q < z; q++)
            line += *q == '\n';
        tool_err("the message holds a NUL byte (line %lu); nothing was sent", line);
        return TOOL_EX_DATAERR;
    }
    if (o->take_headers) {
        if (tool_headers_take_recipients(j->msg, j->msglen, &j->rcpts, &msg2, &j->msglen) != 0) {
            tool_err("malformed address in the To, Cc or Bcc header");
            return TOOL_EX_DATAERR;
        }
        free(j->msg);
        j->msg = msg2;
    }
    if (!j->env_from)
        j->env_from = j->hdr_from = tool_headers_first_addr(j->msg, j->msglen, "From");
    if (!j->env_from) {
        tool_err("no sender: give -f, 'from' in the configuration, or a From header");
        return TOOL_EX_USAGE;
    }
    return 0;
}

/* The files of --batch, each read whole and taken apart as -t does
 * (recipients from To/Cc/Bcc, Bcc removed; the sender from -f, the
 * account's 'from', else its From header). Every file is checked before
 * anything is sent. 0 or an exit code. */
static int read_batch(send_job *j, const send_opts *o)
{
    size_t k, stdin_used = 0;
    j->bm = calloc(o->files.n, sizeof *j->bm);
    if (!j->bm) {
        tool_err("out of memory");
        return TOOL_EX_OSERR;
    }
    for (k = 0; k < o->files.n; k++) {
        batch_msg *b = &j->bm[j->nbm++];
        char *raw, *msg2 = NULL;
        const char *z;
        size_t rawlen, i;
        b->path = o->files.v[k];
        if (strcmp(b->path, "-") == 0 && stdin_used++) {
            tool_err("--batch: standard input ('-') can be given only once");
            return TOOL_EX_USAGE;
        }
        raw = read_file(b->path, &rawlen);
        if (!raw) {
            tool_err("%s: %s; nothing was sent", b->path, errno ? strerror(errno) : "cannot read");
            return TOOL_EX_NOINPUT;
        }
        if ((z = memchr(raw, '\0', rawlen)) != NULL) {
            unsigned long line = 1;
            const char *q;
            for (q = raw; q < z; q++)
                line += *q == '\n';
            tool_err("%s: the message holds a NUL byte (line %lu); nothing was sent", b->path,
                     line);
            free(raw);
            return TOOL_EX_DATAERR;
        }
        if (tool_headers_take_recipients(raw, rawlen, &b->rcpts, &msg2, &b->len) != 0) {
            tool_err("%s: malformed address in the To, Cc or Bcc header; nothing was sent",
                     b->path);
            free(raw);
            return TOOL_EX_DATAERR;
        }
        free(raw);
        b->data = msg2;
        if (b->rcpts.n == 0) {
            tool_err("%s: no recipients in To, Cc or Bcc; nothing was sent", b->path);
            return TOOL_EX_USAGE;
        }
        b->env.from = j->env_from;
        if (!b->env.from)
            b->env.from = b->hdr_from = tool_headers_first_addr(b->data, b->len, "From");
        if (!b->env.from) {
            tool_err("%s: no sender: give -f, 'from' in the configuration, or a From header; "
                     "nothing was sent", b->path);
            return TOOL_EX_USAGE;
        }
        b->er = calloc(b->rcpts.n, sizeof *b->er);
        if (!b->er) {
            tool_err("out of memory");
            return TOOL_EX_OSERR;
        }
        for (i = 0; i < b->rcpts.n; i++)
            b->er[i].addr = b->rcpts.v[i];
        b->env.rcpts = b->er;
        b->env.nrcpts = b->rcpts.n;
        /* each message goes to the recipients that were accepted: the
         * others are reported, and the rest of the batch goes on */
        b->env.on_refused = POSTIE_SMTP_REFUSED_CONTINUE;
    }
    return 0;
}

/* plan: the message and its recipients (arguments, -t or the compose
 * flags), or the messages of --batch. 0 or an exit code. */
static int plan(send_job *j, send_opts *o)
{
    size_t k;
    int rc;
    if (o->batch)
        return read_batch(j, o);
    for (k = 0; k < o->rcpts.n; k++) /* the arguments first, then -t's or --to's */
        if (tool_strv_add(&j->rcpts, o->rcpts.v[k]) != 0) {
            tool_err("out of memory");
            return TOOL_EX_OSERR;
        }
    rc = o->compose ? compose_message(j, o) : read_message(j, o);
    if (rc)
        return rc;
    if (j->rcpts.n == 0) {
        tool_err("no recipients (give them as arguments, with -t, or with --to)");
        return TOOL_EX_USAGE;
    }
    return 0;
}

/* AUTH with an OAuth 2.0 access token (tool_oauth_login's callback). */
static postie_status smtp_token_auth(void *ctx, const char *token)
{
    send_job *j = ctx;
    return postie_smtp_auth(&j->s.smtp, j->oauth.mechs, j->sv.user, token);
}

/* log in: password or OAuth 2.0 token (only with a user), connection,
 * greeting, AUTH. 0 or an exit code. */
static int log_in(send_job *j, const send_opts *o)
{
    char err[1024], hn[256];
    sender *s = &j->s;
    postie_tls_policy pol;
    postie_status st;
    int ex = 0, allow_plain;
    if (j->sv.user) {
        tool_pass_src ps;
        memset(&ps, 0, sizeof ps);
        ps.eval = tool_cfg_get(&j->cfg, "smtp", "passwordeval");
        ps.env_name = tool_cfg_get(&j->cfg, "smtp", "password_env");
        ps.netrc = tool_cfg_get(&j->cfg, "smtp", "netrc");
        ps.host = j->sv.host;
        ps.user = j->sv.user;
        if (tool_oauth_wanted(&j->cfg, "smtp")) {
            if ((ex = tool_oauth_prepare(&j->oauth, &j->cfg, "smtp", j->sv.user,
                                         j->sv.timeout_ms, o->config)) != 0 ||
                (ex = tool_oauth_prefetch(&j->oauth)) != 0)
                return ex;
        } else if (!(j->pass = tool_password(&ps, err, sizeof err))) {
            tool_err("%s", err);
            return TOOL_EX_CONFIG;
        }
    }
    if (tool_connect(&s->conn, j->sv.host, j->sv.port, j->sv.tls, j->sv.cafile,
                     j->sv.timeout_ms, o->trace, err, sizeof err, &ex) != 0) {
        tool_err("%s", err);
        return ex;
    }
    dot_watch_wrap(&s->watch, &s->conn.tr, &s->tr);
    postie_smtp_init(&s->smtp, &s->tr);
    postie_smtp_set_timeout(&s->smtp, j->sv.timeout_ms);
    /* each command within the timeout, plus 1 s per KiB it moves: a server
     * trickling its replies cannot hold the tool (issue 17) */
    postie_smtp_set_deadline(&s->smtp, j->sv.timeout_ms, 1024, postie_posix_clock_ms, NULL);
    pol = tool_tls_policy(j->sv.tls, &allow_plain);
    if (postie_smtp_set_tls(&s->smtp, pol, pol == POSTIE_TLS_REQUIRED ? j->sv.host : NULL) !=
        POSTIE_OK) {
        tool_err("'%s' cannot be checked against a certificate (not a host name)", j->sv.host);
        return TOOL_EX_USAGE;
    }
    postie_smtp_allow_plaintext_credentials(&s->smtp, allow_plain);
    postie_smtp_set_random(&s->smtp, postie_posix_random, NULL);
    s->alive = 1;
    if (gethostname(hn, sizeof hn) == 0) {
        hn[sizeof hn - 1] = '\0';
        (void)postie_smtp_set_domain(&s->smtp, hn); /* keeps the default if not a domain */
    }
    st = postie_smtp_open(&s->smtp);
    if (st != POSTIE_OK)
        return smtp_fail(s, st, "greeting");
    if (j->sv.user) {
        if (j->oauth.active) {
            /* OAUTHBEARER or XOAUTH2, whichever the server offers */
            if ((ex = tool_oauth_login(&j->oauth, smtp_token_auth, j, &st)) > 0)
                return ex;
        } else {
            st = postie_smtp_auth(&s->smtp, POSTIE_SASL_PASSWORD_MECHS, j->sv.user, j->pass);
        }
        if (st != POSTIE_OK) {
            if (st == POSTIE_ERR_AUTH)
                tool_err("authentication failed for %s on %s (server said: %d %s)",
                         j->sv.user, j->sv.host, postie_smtp_reply_code(&s->smtp),
                         postie_smtp_reply_text(&s->smtp));
            else
                smtp_fail(s, st, st == POSTIE_ERR_UNSUPPORTED
                                     ? (j->oauth.active
                                            ? "AUTH (the server offers neither OAUTHBEARER nor "
                                              "XOAUTH2 here)"
                                            : "AUTH (the server offers no password mechanism here)")
                                     : "AUTH");
            return tool_exit_for_status(st);
        }
    }
    return 0;
}

/* run: the envelope and the message. 0 or an exit code. */
static int run(send_job *j, const send_opts *o)
{
    sender *s = &j->s;
    postie_smtp_rcpt *er = calloc(j->rcpts.n, sizeof *er);
    postie_smtp_envelope env;
    postie_status st;
    size_t i;
    int rc = 0;
    if (!er) {
        tool_err("out of memory");
        return TOOL_EX_OSERR;
    }
    memset(&env, 0, sizeof env);
    for (i = 0; i < j->rcpts.n; i++)
        er[i].addr = j->rcpts.v[i];
    env.from = j->env_from;
    env.rcpts = er;
    env.nrcpts = j->rcpts.n;
    env.on_refused = POSTIE_SMTP_REFUSED_ABORT;
    if (o->compose) {
        if (postie_compose_is_8bit(&j->comp))
            env.flags |= POSTIE_SMTP_MSG_8BIT;
        st = postie_smtp_send(&s->smtp, &env, postie_compose_reader, &j->comp);
    } else {
        st = postie_smtp_send_buf(&s->smtp, &env, j->msg, j->msglen);
    }
    if (st == POSTIE_ERR_RECIPIENTS) {
        int permanent = 0;
        for (i = 0; i < j->rcpts.n; i++) {
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
    } else if (st != POSTIE_OK && s->watch.dot_sent &&
               postie_smtp_reply_code(&s->smtp) / 100 != 5 &&
               postie_smtp_reply_code(&s->smtp) / 100 != 4) {
        /* the whole message went out; only its reply is missing */
        rc = smtp_fail(s, st, "no reply after the end of the message: it may have been "
                              "delivered (check before sending it again)");
    } else if (st != POSTIE_OK) {
        rc = smtp_fail(s, st, "message not sent");
    } else {
        tool_info("message sent to %zu recipient%s", j->rcpts.n, j->rcpts.n == 1 ? "" : "s");
    }
    free(er);
    return rc;
}

/* "FILE: " on standard output, the name's control bytes escaped. */
static void report_head(const batch_msg *b)
{
    tool_escape(stdout, b->path, strlen(b->path));
    fputs(": ", stdout);
}

static void report_reply(int code, const char *enhanced)
{
    if (code)
        printf("%d%s%s", code, enhanced[0] ? " " : "", enhanced);
    else
        fputs("no reply", stdout);
}

/* The refused recipients of b, one line each. 1 if one was refused
 * permanently (5xx). */
static int report_refused(const batch_msg *b)
{
    size_t i;
    int permanent = 0;
    for (i = 0; i < b->env.nrcpts; i++) {
        const postie_smtp_rcpt *r = &b->er[i];
        if (r->status == POSTIE_OK)
            continue;
        permanent |= r->status != POSTIE_ERR_TRANSIENT;
        report_head(b);
        fputs("  recipient ", stdout);
        tool_escape(stdout, r->addr, strlen(r->addr));
        fputs(" refused: ", stdout);
        report_reply(r->code, r->enhanced);
        printf(" (%s)\n", r->status == POSTIE_ERR_TRANSIENT ? "temporary" : "permanent");
    }
    return permanent;
}

/* The outcome of one message of the batch, on standard output. Returns its
 * exit code: 0 when it was accepted for every recipient. */
static int report_msg(const batch_msg *b, const postie_smtp_msg *m)
{
    int permanent;
    switch (m->status) {
    case POSTIE_OK:
        if (b->env.accepted == b->env.nrcpts) {
            if (tool_verbosity >= 0) {
                report_head(b);
                printf("accepted for %zu recipient%s (", b->env.nrcpts,
                       b->env.nrcpts == 1 ? "" : "s");
                report_reply(m->code, m->enhanced);
                fputs(")\n", stdout);
            }
            return 0;
        }
        report_head(b);
        printf("accepted for %zu of %zu recipients (", b->env.accepted, b->env.nrcpts);
        report_reply(m->code, m->enhanced);
        fputs(")\n", stdout);
        return report_refused(b) ? TOOL_EX_NOUSER : TOOL_EX_TEMPFAIL;
    case POSTIE_ERR_RECIPIENTS:
        report_head(b);
        fputs("refused: every recipient was refused; not delivered\n", stdout);
        permanent = report_refused(b);
        return permanent ? TOOL_EX_NOUSER : TOOL_EX_TEMPFAIL;
    case POSTIE_ERR_TRANSIENT:
    case POSTIE_ERR_SERVER:
    case POSTIE_ERR_TOO_BIG:
        report_head(b);
        fputs("refused: ", stdout);
        report_reply(m->code, m->enhanced);
        printf(" (%s%s); not delivered\n",
               m->status == POSTIE_ERR_TRANSIENT ? "temporary" : "permanent",
               m->status == POSTIE_ERR_TOO_BIG ? ", too big" : "");
        report_refused(b);
        return tool_exit_for_status(m->status);
    case POSTIE_ERR_OUTCOME_UNKNOWN:
        report_head(b);
        fputs("may have been delivered: it went out whole and the server's reply was lost "
              "(check before sending it again)\n", stdout);
        return TOOL_EX_TEMPFAIL;
    default:
        report_head(b);
        printf("not sent: %s; not delivered\n", postie_strerror(m->status));
        return tool_exit_for_status(m->status);
    }
}

/* run --batch: every message over this one connection
 * (postie_smtp_send_batch: BDAT with several messages in flight, or
 * PIPELINING across messages, or one command at a time), then one line per
 * message. The exit code is the first message's that was not accepted for
 * every recipient, or 0. */
static int run_batch(send_job *j)
{
    sender *s = &j->s;
    postie_smtp_msg *m = calloc(j->nbm, sizeof *m);
    postie_status st;
    size_t i, n[5] = {0, 0, 0, 0, 0};
    static const char *const what[5] = {"accepted", "accepted for some recipients only",
                                        "refused", "not sent", "may have been delivered"};
    char sum[256];
    size_t sl = 0;
    int rc = 0;
    if (!m) {
        tool_err("out of memory");
        return TOOL_EX_OSERR;
    }
    for (i = 0; i < j->nbm; i++) {
        m[i].env = &j->bm[i].env;
        m[i].data = j->bm[i].data;
        m[i].len = j->bm[i].len;
    }
    tool_info("sending %zu message%s over one connection (%s)", j->nbm, j->nbm == 1 ? "" : "s",
              postie_smtp_has(&s->smtp, POSTIE_SMTP_EXT_CHUNKING) ? "BDAT"
              : postie_smtp_has(&s->smtp, POSTIE_SMTP_EXT_PIPELINING)
                  ? "DATA, pipelined across messages"
                  : "DATA, one command at a time");
    st = postie_smtp_send_batch(&s->smtp, m, j->nbm);
    if (st == POSTIE_ERR_PARAM || st == POSTIE_ERR_STATE || st == POSTIE_ERR_TLS_REQUIRED) {
        /* refused before anything went out */
        free(m);
        return smtp_fail(s, st, "no message was sent");
    }
    for (i = 0; i < j->nbm; i++) {
        int r = report_msg(&j->bm[i], &m[i]);
        postie_status ms = m[i].status;
        n[ms == POSTIE_OK ? (j->bm[i].env.accepted == j->bm[i].env.nrcpts ? 0 : 1)
          : ms == POSTIE_ERR_OUTCOME_UNKNOWN                               ? 4
          : ms == POSTIE_ERR_RECIPIENTS || ms == POSTIE_ERR_TRANSIENT ||
                  ms == POSTIE_ERR_SERVER || ms == POSTIE_ERR_TOO_BIG
              ? 2
              : 3]++;
        if (r && !rc)
            rc = r;
    }
    fflush(stdout);
    if (st != POSTIE_OK) {
        smtp_fail(s, st, "the connection ended");
        postie_smtp_close(&s->smtp);
        s->alive = 0;
        if (!rc)
            rc = tool_exit_for_status(st);
    }
    for (i = 0; i < 5; i++)
        if (n[i] && sl < sizeof sum)
            sl += (size_t)snprintf(sum + sl, sizeof sum - sl, "%s%zu %s", sl ? ", " : "", n[i],
                                   what[i]);
    if (rc)
        tool_err("of %zu messages: %s (each one on standard output)", j->nbm, sum);
    else
        tool_info("of %zu messages: %s", j->nbm, sum);
    free(m);
    return rc;
}

/* commit: QUIT (the message is sent whatever QUIT says). */
static void commit(send_job *j)
{
    (void)postie_smtp_quit(&j->s.smtp);
    j->s.alive = 0;
}

static void cleanup(send_job *j, send_opts *o)
{
    size_t i;
    if (j->s.alive)
        postie_smtp_close(&j->s.smtp);
    if (j->pass) {
        memset(j->pass, 0, strlen(j->pass));
        free(j->pass);
    }
    if (j->attdata)
        for (i = 0; i < j->nattach; i++)
            free(j->attdata[i]);
    free(j->attdata);
    free(j->catt);
    free(j->cto);
    free(j->ccc);
    free(j->cbcc);
    free(j->body);
    free(j->msg);
    free(j->hdr_from);
    free(j->cfgpath);
    tool_oauth_free(&j->oauth);
    for (i = 0; i < j->nbm; i++) {
        free(j->bm[i].data);
        free(j->bm[i].hdr_from);
        free(j->bm[i].er);
        tool_strv_free(&j->bm[i].rcpts);
    }
    free(j->bm);
    tool_strv_free(&o->files);
    tool_strv_free(&j->rcpts);
    tool_cfg_free(&j->cfg);
    tool_strv_free(&o->rcpts);
    tool_strv_free(&o->to);
    tool_strv_free(&o->cc);
    tool_strv_free(&o->bcc);
    tool_strv_free(&o->attach);
}

/* ---- the outbox (tools/outbox.c): --queue, --flush, --list-queue ---------- */

/* The account a message is queued for: as the flags gave it (the account
 * chosen from the configuration by name). */
static void outbox_acct(const send_job *j, const send_opts *o, tool_outbox_acct *a)
{
    memset(a, 0, sizeof *a);
    a->account = (char *)(o->account ? o->account : j->cfg.account);
    a->config = (char *)o->config;
    a->host = (char *)o->srv.host;
    a->port = (char *)o->srv.port;
    a->user = (char *)o->srv.user;
    a->tls = (char *)o->srv.tls;
    a->cafile = (char *)o->srv.cafile;
    a->timeout = (char *)o->srv.timeout;
}

/* --queue: the message (or each --batch file) into the outbox. */
static int queue_message(send_job *j, const send_opts *o)
{
    tool_outbox_acct a;
    char *dir = tool_outbox_dir(o->outbox, &j->cfg), *buf = NULL;
    size_t len = 0, i;
    int rc = 0;
    if (!dir) {
        tool_err("no outbox: give --outbox (HOME is not set)");
        return TOOL_EX_CONFIG;
    }
    outbox_acct(j, o, &a);
    if (o->batch) {
        for (i = 0; i < j->nbm && rc == 0; i++) {
            rc = tool_outbox_enqueue(dir, &a, j->bm[i].env.from, &j->bm[i].rcpts, j->bm[i].data,
                                     j->bm[i].len);
            if (rc)
                tool_err("%s and the files after it were not queued (those before were)",
                         j->bm[i].path);
        }
        free(dir);
        return rc;
    }
    if (o->compose) {
        /* the composed message, whole, in memory */
        size_t cap = 65536, n;
        postie_status st;
        buf = malloc(cap);
        for (;;) {
            if (!buf) {
                tool_err("out of memory");
                free(dir);
                return TOOL_EX_OSERR;
            }
            if (cap - len < 4096) {
                char *nb = realloc(buf, cap *= 2);
                if (!nb)
                    free(buf);
                buf = nb;
                continue;
            }
            st = postie_compose_read(&j->comp, buf + len, cap - len, &n);
            if (st != POSTIE_OK && st != POSTIE_DONE) {
                tool_err("cannot compose the message: %s", postie_strerror(st));
                free(buf);
                free(dir);
                return TOOL_EX_DATAERR;
            }
            len += n;
            if (st == POSTIE_DONE)
                break;
        }
    }
    rc = tool_outbox_enqueue(dir, &a, j->env_from, &j->rcpts, o->compose ? buf : j->msg,
                             o->compose ? len : j->msglen);
    free(buf);
    free(dir);
    return rc;
}

/* A flush's session for one account at a time (tool_outbox_ops). */
typedef struct flush_ctx {
    const send_opts *o; /* --trace */
    send_opts so;       /* the account's flags, as queued */
    send_job j;
} flush_ctx;

static int fl_resolve(void *ctx, const tool_outbox_acct *a, const tool_cfg **cfg)
{
    flush_ctx *c = ctx;
    int rc;
    memset(&c->so, 0, sizeof c->so);
    memset(&c->j, 0, sizeof c->j);
    c->so.account = a->account;
    c->so.config = a->config;
    c->so.srv.host = a->host;
    c->so.srv.port = a->port;
    c->so.srv.user = a->user;
    c->so.srv.tls = a->tls;
    c->so.srv.cafile = a->cafile;
    c->so.srv.timeout = a->timeout;
    c->so.trace = c->o->trace;
    rc = resolve_account(&c->j, &c->so);
    *cfg = &c->j.cfg;
    return rc;
}

static int fl_login(void *ctx, postie_smtp **smtp)
{
    flush_ctx *c = ctx;
    int rc = log_in(&c->j, &c->so);
    *smtp = &c->j.s.smtp;
    return rc;
}

static void fl_end_hook(void *ctx, int (*hook)(void *u, int sent), void *u)
{
    flush_ctx *c = ctx;
    c->j.s.watch.hook = hook;
    c->j.s.watch.hook_u = u;
    c->j.s.watch.hook_called = 0;
    if (hook)
        c->j.s.watch.dot_sent = 0;
}

static int fl_end_sent(void *ctx)
{
    flush_ctx *c = ctx;
    return c->j.s.watch.dot_sent;
}

static void fl_close(void *ctx, int quit)
{
    flush_ctx *c = ctx;
    if (quit && c->j.s.alive)
        commit(&c->j);
    cleanup(&c->j, &c->so);
    memset(&c->j, 0, sizeof c->j);
}

/* --flush and --list-queue: the outbox of the account chosen (or the
 * default one). */
static int outbox_command(const send_opts *o)
{
    tool_cfg cfg;
    char err[1024], *path, *dir;
    int rc;
    memset(&cfg, 0, sizeof cfg);
    path = o->config ? tool_strdup(o->config) : tool_cfg_default_path();
    if (tool_cfg_load(&cfg, path, o->account, o->config != NULL || o->account != NULL, err,
                      sizeof err) != 0) {
        tool_err("%s", err);
        free(path);
        return TOOL_EX_CONFIG;
    }
    dir = tool_outbox_dir(o->outbox, &cfg);
    if (!dir) {
        tool_err("no outbox: give --outbox (HOME is not set)");
        rc = TOOL_EX_CONFIG;
    } else if (o->list_queue) {
        rc = tool_outbox_list(dir);
    } else {
        flush_ctx c;
        tool_outbox_ops ops;
        memset(&c, 0, sizeof c);
        c.o = o;
        ops.ctx = &c;
        ops.resolve = fl_resolve;
        ops.login = fl_login;
        ops.end_hook = fl_end_hook;
        ops.end_sent = fl_end_sent;
        ops.close = fl_close;
        rc = tool_outbox_flush(dir, o->account, &ops);
    }
    free(dir);
    free(path);
    tool_cfg_free(&cfg);
    return rc;
}

int main(int argc, char **argv)
{
    send_opts o;
    send_job j;
    int rc;

    tool_progname = "postie-send";
    memset(&o, 0, sizeof o);
    memset(&j, 0, sizeof j);
    if ((rc = parse_args(argc, argv, &o)) < 0 && o.authorize) {
        if ((rc = resolve_account(&j, &o)) == 0)
            rc = tool_oauth_authorize_cmd(&j.cfg, "smtp", j.sv.user, j.sv.timeout_ms, o.config,
                                          o.authorize_flow);
    } else if (rc < 0 && (o.flush || o.list_queue)) {
        rc = outbox_command(&o);
    } else if (rc < 0 && o.queue) {
        if ((rc = resolve_account(&j, &o)) == 0 && (rc = plan(&j, &o)) == 0)
            rc = queue_message(&j, &o);
    } else if (rc < 0 && (rc = resolve_account(&j, &o)) == 0 &&
        (rc = plan(&j, &o)) == 0 && (rc = log_in(&j, &o)) == 0) {
        rc = o.batch ? run_batch(&j) : run(&j, &o);
        /* a batch QUITs after refusals too: what was accepted stays accepted */
        if (rc == 0 || (o.batch && j.s.alive))
            commit(&j);
    }
    cleanup(&j, &o);
    return rc;
}
