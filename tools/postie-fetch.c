/*
 * postie-fetch - fetch mail from a POP3 account into a Maildir, an mbox or
 * an MDA, never losing a message and never delivering one twice.
 * Usage and the delivery protocol: man/postie-fetch.1, docs/tools.md.
 */
#include "common.h"
#include "deliver.h"
#include "net.h"
#include "postie/pop3.h"
#include "postie/sasl.h"
#include "postie/posix_random.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* A batch shares one state save for its pending entries, one fsync of new/
 * and one state save for its delivered entries. It is committed when it
 * holds this many messages or bytes, or has been open this long, so an
 * interrupted run loses little work. */
#define BATCH_MAX_MSGS 16
#define BATCH_MAX_BYTES (8ull * 1024 * 1024)
#define BATCH_MAX_SECONDS 1.0

/* RETRs kept in flight (RFC 2449 PIPELINING). The library's queue holds
 * POSTIE_POP3_PIPELINE_MAX commands (32 by default): 8 of them (half of a
 * smaller queue) for RETRs, the rest for the DELEs of committed batches, so
 * a batch's 16 DELEs go out in one write. The window is refilled when half
 * of it was answered, so a refill is one write of several RETRs. Without
 * PIPELINING the library sends the same queue one command at a time. */
#define RETR_WINDOW (POSTIE_POP3_PIPELINE_MAX >= 16 ? 8u : (POSTIE_POP3_PIPELINE_MAX + 1u) / 2u)

/* Test hook for the crash-safety test (tests/interop/tools_crash.sh):
 * POSTIE_FETCH_TEST_KILL=PHASE:N makes the process SIGKILL itself the Nth
 * time it reaches PHASE: "pending" (pending entries saved, nothing renamed),
 * "renamed" (batch in new/, not yet recorded), "recorded" (delivered entries
 * saved, no DELE yet), "deleted" (DELEs sent, no QUIT yet). */
static void test_kill_point(const char *phase)
{
    static int hits;
    const char *v = getenv("POSTIE_FETCH_TEST_KILL");
    size_t n = strlen(phase);
    if (!v || strncmp(v, phase, n) != 0 || v[n] != ':')
        return;
    if (++hits == atoi(v + n + 1))
        raise(SIGKILL);
}

static const char usage_text[] =
    "Usage: postie-fetch [OPTION]...\n"
    "Fetch mail from a POP3 account into a Maildir, an mbox or an MDA.\n"
    "\n"
    "Account (flags override the configuration file):\n"
    "  -a, --account=NAME     use account NAME of the configuration file\n"
    "  -C, --config=FILE      configuration file (default\n"
    "                         $XDG_CONFIG_HOME/postie/config or ~/.config/postie/config)\n"
    "      --host=HOST        POP3 server\n"
    "      --port=PORT        port (default 110, 995 with --tls implicit)\n"
    "      --user=USER        user name\n"
    "      --tls=MODE         off, starttls or implicit\n"
    "      --cafile=FILE      trust the CA certificates in FILE instead of the system's\n"
    "      --timeout=SECONDS  network timeout (default 60)\n"
    "  The password comes from the configuration (passwordeval, password_env),\n"
    "  the environment variable POSTIE_PASSWORD, or ~/.netrc; never from a flag.\n"
    "\n"
    "Where mail goes (one of):\n"
    "      --maildir=DIR      a Maildir (created when missing)\n"
    "      --mbox=FILE        an mbox (mboxrd quoting, locked)\n"
    "      --mda=COMMAND      a command that gets each message on standard input\n"
    "\n"
    "What to fetch:\n"
    "  -n, --new-only         only messages not fetched before (by UIDL)\n"
    "      --all              every message, also those fetched before (default)\n"
    "  -d, --delete           delete messages from the server once delivered\n"
    "  -k, --keep             keep them on the server (default)\n"
    "      --max-size=SIZE    skip messages larger than SIZE bytes (k, M, G suffixes)\n"
    "      --state=FILE       UIDL state file (default\n"
    "                         $XDG_STATE_HOME/postie/uidl/USER@HOST:PORT)\n"
    "\n"
    "Output:\n"
    "  -q, --quiet            no progress bar, errors only\n"
    "  -v, --verbose          say what is done\n"
    "      --trace            print the protocol dialogue on stderr (passwords redacted)\n"
    "      --no-pipelining    one command at a time, even when the server announces\n"
    "                         PIPELINING\n"
    "  -h, --help             this help\n"
    "  -V, --version          version\n"
    "\n"
    "Exit status follows sysexits.h: 0 success, 64 usage, 67-69 server or account\n"
    "refused, 73/74 cannot write (e.g. disk full), 75 temporary failure, 76 protocol\n"
    "or TLS error, 77 authentication failed, 78 configuration error.\n";

enum {
    OPT_HOST = 256, OPT_PORT, OPT_USER, OPT_TLS, OPT_CAFILE, OPT_TIMEOUT, OPT_MAILDIR,
    OPT_MBOX, OPT_MDA, OPT_ALL, OPT_MAXSIZE, OPT_STATE, OPT_TRACE, OPT_NO_PIPELINING
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
    { "maildir", required_argument, NULL, OPT_MAILDIR },
    { "mbox", required_argument, NULL, OPT_MBOX },
    { "mda", required_argument, NULL, OPT_MDA },
    { "new-only", no_argument, NULL, 'n' },
    { "all", no_argument, NULL, OPT_ALL },
    { "delete", no_argument, NULL, 'd' },
    { "keep", no_argument, NULL, 'k' },
    { "max-size", required_argument, NULL, OPT_MAXSIZE },
    { "state", required_argument, NULL, OPT_STATE },
    { "quiet", no_argument, NULL, 'q' },
    { "verbose", no_argument, NULL, 'v' },
    { "trace", no_argument, NULL, OPT_TRACE },
    { "no-pipelining", no_argument, NULL, OPT_NO_PIPELINING },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, 'V' },
    { NULL, 0, NULL, 0 }
};

typedef struct msginfo {
    unsigned long no;
    char *uid;
    unsigned long size;
} msginfo;

typedef struct pending {
    msginfo *mi;
    tool_msg m;
} pending;

typedef struct fetch {
    /* settings */
    const char *host, *port, *user;
    tool_tls_mode tls;
    int delete_, new_only, trace;
    unsigned long long max_size;
    /* run */
    tool_dest dest;
    tool_state state;
    postie_pop3 pop;
    tool_conn conn;
    int pop_alive;
    msginfo *msgs;
    unsigned long count;
    char **deleted;      /* uids DELE'd in this session */
    size_t ndeleted;
    msginfo **wanted;      /* messages to fetch, in order; wanted_pos: next to queue */
    size_t nwanted, wanted_pos;
    msginfo **dq;        /* delivered and recorded, DELE not queued yet (a FIFO) */
    size_t dq_head, dq_tail;
    unsigned retr_inflight; /* RETRs queued whose reply was not read yet */
    int stop;            /* after an error: queue no more RETRs */
    int dele_failed;     /* a DELE was refused: queue no more DELEs */
    pending batch[BATCH_MAX_MSGS];
    size_t nbatch;
    unsigned long long batch_bytes;
    double batch_t0;
    /* progress */
    int progress;
    unsigned long total_msgs, done_msgs, delivered;
    unsigned long long total_bytes, done_bytes, delivered_bytes;
    double t0, last_draw;
} fetch;

static double now_s(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

static void progress_draw(fetch *f, int final)
{
    double t = now_s(), el, rate;
    char done[32], rate_s[32], eta[32] = "--:--", bar[32];
    int width = 20, filled, i;
    struct winsize ws;
    if (!f->progress)
        return;
    if (!final && t - f->last_draw < 0.1)
        return;
    f->last_draw = t;
    el = t - f->t0;
    rate = el > 0.05 ? (double)f->done_bytes / el : 0.0;
    tool_fmt_bytes((double)f->done_bytes, done, sizeof done);
    tool_fmt_bytes(rate, rate_s, sizeof rate_s);
    if (rate > 0 && f->total_bytes >= f->done_bytes) {
        double left = (double)(f->total_bytes - f->done_bytes) / rate;
        snprintf(eta, sizeof eta, "%d:%02d", (int)(left / 60), (int)left % 60);
    }
    filled = f->total_bytes ? (int)((double)f->done_bytes * width / (double)f->total_bytes)
                            : width;
    if (filled > width)
        filled = width;
    for (i = 0; i < width; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[width] = '\0';
    if (ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_col < 70)
        fprintf(stderr, "\r%lu/%lu %s\033[K", f->done_msgs, f->total_msgs, done);
    else
        fprintf(stderr, "\r[%s] %lu/%lu msgs  %s  %s/s  %s left\033[K", bar, f->done_msgs,
                f->total_msgs, done, rate_s, eta);
    if (final)
        fputc('\n', stderr);
    fflush(stderr);
}

static void progress_clear(fetch *f)
{
    if (f->progress) {
        fprintf(stderr, "\r\033[K");
        fflush(stderr);
    }
}

/* Errors interrupt the progress line. */
#define FERR(f, ...)                                                                   \
    do {                                                                               \
        progress_clear(f);                                                             \
        tool_err(__VA_ARGS__);                                                         \
    } while (0)

static int uidl_cb(void *user, unsigned long msg, const char *uid)
{
    fetch *f = user;
    if (msg >= 1 && msg <= f->count && !f->msgs[msg - 1].uid)
        f->msgs[msg - 1].uid = tool_strdup(uid);
    return 0;
}

static int list_cb(void *user, unsigned long msg, unsigned long octets)
{
    fetch *f = user;
    if (msg >= 1 && msg <= f->count)
        f->msgs[msg - 1].size = octets;
    return 0;
}

static int server_fail(fetch *f, postie_status st, const char *what)
{
    const char *tls = tool_conn_tls_error(&f->conn);
    if (st == POSTIE_ERR_SERVER || st == POSTIE_ERR_AUTH || st == POSTIE_ERR_TRANSIENT)
        FERR(f, "%s: %s (server said: %s)", what, postie_strerror(st),
             postie_pop3_reply_text(&f->pop));
    else if ((st == POSTIE_ERR_TLS || st == POSTIE_ERR_TLS_VERIFY) && tls[0])
        FERR(f, "%s: %s: %s", what, postie_strerror(st), tls);
    else
        FERR(f, "%s: %s", what, postie_strerror(st));
    return tool_exit_for_status(st);
}

static int note_deleted(fetch *f, const char *uid)
{
    char **n = realloc(f->deleted, (f->ndeleted + 1) * sizeof *n);
    if (!n)
        return -1;
    f->deleted = n;
    f->deleted[f->ndeleted] = tool_strdup(uid);
    if (!f->deleted[f->ndeleted])
        return -1;
    f->ndeleted++;
    return 0;
}

/* Marks a message for DELE: it is durably delivered and recorded. The DELE
 * goes out with the next write (run_session); its reply is read in turn. */
static void dele(fetch *f, msginfo *mi)
{
    f->dq[f->dq_tail++] = mi;
}

/* Commits the finished messages of the batch, following the order of
 * docs/tools.md: pending entries saved -> committed to the destination
 * (and synced) -> delivered entries saved -> DELE. Returns an exit code. */
static int flush_batch(fetch *f)
{
    char err[1024];
    size_t i, ncommit = 0, done = 0; /* committed; committed and recorded */
    int ex = 0, rc = 0;

    if (f->nbatch == 0)
        return 0;
    if (f->dest.kind != TOOL_DEST_MBOX) {
        /* 1. pending entries (an mbox's is written by the commit, under its lock) */
        for (i = 0; i < f->nbatch; i++)
            if (tool_state_set(&f->state, f->batch[i].mi->uid, 'P', f->batch[i].m.info) != 0) {
                FERR(f, "out of memory");
                rc = TOOL_EX_OSERR;
                i = 0;
                goto abort_rest;
            }
        if (tool_state_save(&f->state, err, sizeof err) != 0) {
            FERR(f, "%s", err);
            rc = TOOL_EX_IOERR;
            i = 0;
            goto abort_rest;
        }
    }
    test_kill_point("pending");
    /* 2. commit each */
    for (i = 0; i < f->nbatch; i++) {
        pending *b = &f->batch[i];
        int nosync = f->dest.kind == TOOL_DEST_MAILDIR; /* one fsync of new/ for all */
        if (tool_msg_commit(&b->m, b->mi->uid, &f->state, nosync, err, sizeof err, &ex) !=
            0) {
            FERR(f, "%s", err);
            rc = ex ? ex : TOOL_EX_SOFTWARE;
            break;
        }
        ncommit++;
        done++;
        if (f->dest.kind != TOOL_DEST_MAILDIR) {
            /* one at a time: an MDA or mbox delivery is recorded at once */
            tool_state_set(&f->state, b->mi->uid, 'D', NULL);
            if (tool_state_save(&f->state, err, sizeof err) != 0) {
                FERR(f, "%s", err);
                rc = TOOL_EX_IOERR;
                break;
            }
        }
    }
    if (f->dest.kind == TOOL_DEST_MAILDIR && done > 0) {
        /* renames done: make them durable, then record them */
        test_kill_point("renamed");
        if (tool_dest_sync(&f->dest) != 0) {
            FERR(f, "%s/new: fsync failed", f->dest.path);
            rc = TOOL_EX_IOERR;
            done = 0; /* the pending entries stay; the next run resolves them */
        } else {
            for (i = 0; i < done; i++)
                tool_state_set(&f->state, f->batch[i].mi->uid, 'D', NULL);
            if (tool_state_save(&f->state, err, sizeof err) != 0) {
                FERR(f, "%s", err);
                rc = TOOL_EX_IOERR;
                done = 0;
            }
        }
    }
    test_kill_point("recorded");
    /* 3. count, and DELE what is durably recorded */
    for (i = 0; i < done; i++) {
        f->delivered++;
        f->delivered_bytes += f->batch[i].m.bytes;
        tool_info("message %lu (%s) delivered", f->batch[i].mi->no, f->batch[i].mi->uid);
        if (f->delete_ && rc == 0)
            dele(f, f->batch[i].mi);
    }
    i = ncommit; /* committed messages keep their entries, whatever their state */
abort_rest:
    for (; i < f->nbatch; i++) {
        /* not committed: drop the file and its pending entry (should the
         * entry already be on disk, the next run resolves it as not
         * delivered, as the file is gone) */
        tool_state_entry *e = tool_state_find(&f->state, f->batch[i].mi->uid);
        tool_msg_abort(&f->batch[i].m);
        if (e && e->kind == 'P')
            tool_state_remove(&f->state, f->batch[i].mi->uid);
    }
    f->nbatch = 0;
    f->batch_bytes = 0;
    return rc;
}

/* Reads the message whose RETR was just answered +OK into the destination
 * (not yet committed). */
static int fetch_body(fetch *f, msginfo *mi)
{
    char err[1024], buf[16384];
    pending *b = &f->batch[f->nbatch];
    postie_status st;
    size_t n;

    if (tool_msg_begin(&f->dest, &b->m, err, sizeof err) != 0) {
        FERR(f, "%s", err);
        if (postie_pop3_drain(&f->pop) != POSTIE_OK)
            f->pop_alive = 0;
        return TOOL_EX_CANTCREAT;
    }
    b->mi = mi;
    while ((st = postie_pop3_read(&f->pop, buf, sizeof buf, &n)) == POSTIE_OK) {
        if (tool_msg_write(&b->m, buf, n, err, sizeof err) != 0) {
            FERR(f, "%s", err);
            tool_msg_abort(&b->m);
            if (postie_pop3_drain(&f->pop) != POSTIE_OK)
                f->pop_alive = 0;
            return TOOL_EX_IOERR;
        }
        f->done_bytes += n;
        progress_draw(f, 0);
    }
    if (st != POSTIE_DONE) {
        tool_msg_abort(&b->m);
        f->pop_alive = 0;
        return server_fail(f, st, "RETR");
    }
    if (tool_msg_finish(&b->m, err, sizeof err) != 0) {
        FERR(f, "%s", err);
        tool_msg_abort(&b->m);
        return TOOL_EX_IOERR;
    }
    f->nbatch++;
    f->batch_bytes += b->m.bytes;
    f->done_msgs++;
    progress_draw(f, 0);
    return 0;
}

/* Keeps up to RETR_WINDOW RETRs and the pending DELEs queued, and handles
 * the replies in order: a message goes into the batch, the batch is
 * committed (flush_batch: durable delivery and state first, then its DELEs
 * join the queue), a DELE's +OK is noted for the state. With PIPELINING the
 * queued commands go out together; without it the library sends them one at
 * a time, so this one path serves both. After an error no more RETRs are
 * queued; the replies of those in flight are read (their messages dropped:
 * they are fetched again next time) so the session can still QUIT and
 * commit the DELEs of what was delivered. Returns an exit code. */
static int run_session(fetch *f)
{
    int rc = 0, r;
    postie_status st;

    for (;;) {
        postie_pop3_cmd_kind kind = POSTIE_POP3_CMD_NONE;
        unsigned long no = 0;
        msginfo *mi;

        if (!f->pop_alive)
            break;
        while (f->dq_head < f->dq_tail && !f->dele_failed) {
            st = postie_pop3_queue_dele(&f->pop, f->dq[f->dq_head]->no);
            if (st == POSTIE_ERR_BUFFER)
                break; /* queue full: after some replies */
            if (st != POSTIE_OK) {
                if (st != POSTIE_ERR_NO_SUCH_MESSAGE && st != POSTIE_ERR_SERVER)
                    f->pop_alive = 0;
                r = server_fail(f, st, "DELE");
                rc = rc ? rc : r;
                f->dele_failed = f->stop = 1;
                break;
            }
            f->dq_head++;
        }
        if (!f->pop_alive)
            break;
        if (!f->stop && f->retr_inflight <= RETR_WINDOW / 2) {
            while (f->wanted_pos < f->nwanted && f->retr_inflight < RETR_WINDOW) {
                st = postie_pop3_queue_retr(&f->pop, f->wanted[f->wanted_pos]->no);
                if (st == POSTIE_ERR_BUFFER)
                    break;
                if (st != POSTIE_OK) {
                    if (st != POSTIE_ERR_NO_SUCH_MESSAGE && st != POSTIE_ERR_SERVER)
                        f->pop_alive = 0;
                    r = server_fail(f, st, "RETR");
                    rc = rc ? rc : r;
                    f->stop = 1;
                    break;
                }
                f->wanted_pos++;
                f->retr_inflight++;
            }
        }
        if (!f->pop_alive)
            break;
        st = postie_pop3_flush(&f->pop);
        if (st == POSTIE_OK)
            st = postie_pop3_next(&f->pop, &kind, &no, NULL);
        if (st == POSTIE_DONE) {
            if (f->nbatch == 0)
                break; /* nothing queued, nothing more to queue */
            r = flush_batch(f); /* its DELEs are queued in the next round */
            rc = rc ? rc : r;
            f->stop |= r != 0;
            continue;
        }
        if (st != POSTIE_OK && st != POSTIE_ERR_SERVER) {
            f->pop_alive = 0;
            r = server_fail(f, st, kind == POSTIE_POP3_CMD_DELE ? "DELE" : "RETR");
            rc = rc ? rc : r;
            break;
        }
        mi = no >= 1 && no <= f->count ? &f->msgs[no - 1] : NULL;
        if (!mi) {
            FERR(f, "internal error: reply for message %lu", no);
            rc = rc ? rc : TOOL_EX_SOFTWARE;
            f->pop_alive = 0;
            break;
        }
        if (kind == POSTIE_POP3_CMD_DELE) {
            if (st != POSTIE_OK) {
                r = server_fail(f, st, "DELE");
                rc = rc ? rc : r;
                f->dele_failed = f->stop = 1;
            } else if (note_deleted(f, mi->uid) != 0) {
                FERR(f, "out of memory");
                rc = rc ? rc : TOOL_EX_OSERR;
                f->stop = 1;
            }
            continue;
        }
        f->retr_inflight--;
        if (st != POSTIE_OK) {
            r = server_fail(f, st, "RETR");
            rc = rc ? rc : r;
            f->stop = 1;
            continue;
        }
        if (f->stop) {
            if (postie_pop3_drain(&f->pop) != POSTIE_OK)
                f->pop_alive = 0;
            continue;
        }
        r = fetch_body(f, mi);
        if (r) {
            rc = rc ? rc : r;
            f->stop = 1;
            continue;
        }
        if (f->nbatch == 1)
            f->batch_t0 = now_s();
        if (f->nbatch == BATCH_MAX_MSGS || f->batch_bytes >= BATCH_MAX_BYTES ||
            now_s() - f->batch_t0 >= BATCH_MAX_SECONDS || f->dest.kind != TOOL_DEST_MAILDIR) {
            r = flush_batch(f);
            rc = rc ? rc : r;
            f->stop |= r != 0;
        }
    }
    /* whatever happened, what was fetched completely is delivered */
    r = flush_batch(f);
    return rc ? rc : r;
}

int main(int argc, char **argv)
{
    fetch f;
    tool_cfg cfg;
    char err[1024];
    const char *account = NULL, *config = NULL, *o_host = NULL, *o_port = NULL,
               *o_user = NULL, *o_tls = NULL, *o_cafile = NULL, *o_timeout = NULL,
               *o_maildir = NULL, *o_mbox = NULL, *o_mda = NULL, *o_maxsize = NULL,
               *o_state = NULL;
    const char *cafile, *v;
    int o_delete = -1, o_new = -1, o_pipe = -1, quiet = 0, c, rc = 0, ex = 0, ndest;
    unsigned timeout_ms;
    char *cfgpath = NULL, *statepath = NULL, *pass = NULL;
    tool_pass_src ps;
    unsigned long i;
    postie_status st;

    tool_progname = "postie-fetch";
    memset(&f, 0, sizeof f);
    memset(&cfg, 0, sizeof cfg);
    while ((c = getopt_long(argc, argv, "a:C:ndkqvhV", long_opts, NULL)) != -1) {
        switch (c) {
        case 'a': account = optarg; break;
        case 'C': config = optarg; break;
        case OPT_HOST: o_host = optarg; break;
        case OPT_PORT: o_port = optarg; break;
        case OPT_USER: o_user = optarg; break;
        case OPT_TLS: o_tls = optarg; break;
        case OPT_CAFILE: o_cafile = optarg; break;
        case OPT_TIMEOUT: o_timeout = optarg; break;
        case OPT_MAILDIR: o_maildir = optarg; break;
        case OPT_MBOX: o_mbox = optarg; break;
        case OPT_MDA: o_mda = optarg; break;
        case 'n': o_new = 1; break;
        case OPT_ALL: o_new = 0; break;
        case 'd': o_delete = 1; break;
        case 'k': o_delete = 0; break;
        case OPT_MAXSIZE: o_maxsize = optarg; break;
        case OPT_STATE: o_state = optarg; break;
        case 'q': quiet = 1; tool_verbosity = -1; break;
        case 'v': tool_verbosity = 1; break;
        case OPT_TRACE: f.trace = 1; break;
        case OPT_NO_PIPELINING: o_pipe = 0; break;
        case 'h': fputs(usage_text, stdout); return 0;
        case 'V': printf("postie-fetch (Postie) %s\n", POSTIE_TOOLS_VERSION); return 0;
        default:
            fprintf(stderr, "Try 'postie-fetch --help'.\n");
            return TOOL_EX_USAGE;
        }
    }
    if (optind < argc) {
        tool_err("unexpected argument '%s' (try --help)", argv[optind]);
        return TOOL_EX_USAGE;
    }

    /* configuration: required when named; the default file is optional */
    cfgpath = config ? tool_strdup(config) : tool_cfg_default_path();
    if (tool_cfg_load(&cfg, cfgpath, account, config != NULL || account != NULL, err,
                      sizeof err) != 0) {
        tool_err("%s", err);
        rc = TOOL_EX_CONFIG;
        goto out;
    }
    {
        static const char *const ports[3] = {"110", "110", "995"};
        const tool_server_flags fl = {o_host, o_port, o_user, o_tls, o_cafile, o_timeout};
        tool_server sv;
        if ((rc = tool_server_resolve(&sv, &fl, &cfg, "pop3", ports)) != 0)
            goto out;
        f.host = sv.host;
        f.user = sv.user;
        f.port = sv.port;
        f.tls = sv.tls;
        cafile = sv.cafile;
        timeout_ms = sv.timeout_ms;
    }
    if (!f.host || !f.user) {
        tool_err("no %s: give --%s or an account in %s (try --help)", f.host ? "user" : "host",
                 f.host ? "user" : "host", cfgpath ? cfgpath : "the configuration file");
        rc = cfg.account ? TOOL_EX_CONFIG : TOOL_EX_USAGE;
        goto out;
    }
    f.delete_ = o_delete >= 0 ? o_delete : tool_cfg_bool(&cfg, "delete", 0);
    f.new_only = o_new >= 0 ? o_new : tool_cfg_bool(&cfg, "new_only", 0);
    v = o_maxsize ? o_maxsize : tool_cfg_get(&cfg, NULL, "max_size");
    if (v && tool_parse_size(v, &f.max_size) != 0) {
        tool_err("--max-size: '%s' is not a size", v);
        rc = TOOL_EX_USAGE;
        goto out;
    }

    /* destination: flags replace the file's choice */
    ndest = (o_maildir != NULL) + (o_mbox != NULL) + (o_mda != NULL);
    if (ndest > 1) {
        tool_err("give only one of --maildir, --mbox and --mda");
        rc = TOOL_EX_USAGE;
        goto out;
    }
    if (ndest == 0) {
        o_maildir = tool_cfg_get(&cfg, NULL, "maildir");
        o_mbox = tool_cfg_get(&cfg, NULL, "mbox");
        o_mda = tool_cfg_get(&cfg, NULL, "mda");
        ndest = (o_maildir != NULL) + (o_mbox != NULL) + (o_mda != NULL);
        if (ndest != 1) {
            tool_err(ndest ? "the account sets more than one of maildir, mbox and mda"
                           : "nowhere to deliver: give --maildir, --mbox or --mda");
            rc = ndest ? TOOL_EX_CONFIG : TOOL_EX_USAGE;
            goto out;
        }
    }

    /* state file and destination */
    v = o_state ? o_state : tool_cfg_get(&cfg, NULL, "state");
    statepath = v ? tool_strdup(v) : tool_state_default_path(f.user, f.host, f.port);
    if (tool_state_open(&f.state, statepath, err, sizeof err, &ex) != 0) {
        tool_err("%s", err);
        rc = ex;
        goto out;
    }
    if (tool_dest_open(&f.dest,
                       o_maildir ? TOOL_DEST_MAILDIR : o_mbox ? TOOL_DEST_MBOX : TOOL_DEST_MDA,
                       o_maildir ? o_maildir : o_mbox ? o_mbox : o_mda, err, sizeof err,
                       &ex) != 0) {
        tool_err("%s", err);
        rc = ex;
        goto out;
    }

    /* settle what an interrupted run left pending */
    {
        int changed = 0;
        size_t k = 0;
        while (k < f.state.n) {
            tool_state_entry *e = &f.state.e[k];
            if (e->kind == 'P') {
                int r = tool_dest_resolve(&f.dest, e->info);
                changed = 1;
                if (r == 1) {
                    tool_info("message %s was delivered by an interrupted run", e->uid);
                    tool_state_set(&f.state, e->uid, 'D', NULL);
                } else {
                    if (r < 0)
                        tool_err("warning: the MDA may have delivered message %s before an "
                                 "interruption; it is delivered again", e->uid);
                    tool_state_remove(&f.state, e->uid);
                    continue; /* remove moved another entry here */
                }
            }
            k++;
        }
        if (changed && tool_state_save(&f.state, err, sizeof err) != 0) {
            tool_err("%s", err);
            rc = TOOL_EX_IOERR;
            goto out;
        }
    }

    /* password */
    memset(&ps, 0, sizeof ps);
    ps.eval = tool_cfg_get(&cfg, "pop3", "passwordeval");
    ps.env_name = tool_cfg_get(&cfg, "pop3", "password_env");
    ps.netrc = tool_cfg_get(&cfg, "pop3", "netrc");
    ps.host = f.host;
    ps.user = f.user;
    pass = tool_password(&ps, err, sizeof err);
    if (!pass) {
        tool_err("%s", err);
        rc = TOOL_EX_CONFIG;
        goto out;
    }

    /* connect and log in */
    if (tool_connect(&f.conn, f.host, f.port, f.tls, cafile, timeout_ms, f.trace, err,
                     sizeof err, &ex) != 0) {
        tool_err("%s", err);
        rc = ex;
        goto out;
    }
    postie_pop3_init(&f.pop, &f.conn.tr);
    postie_pop3_set_timeout(&f.pop, timeout_ms);
    {
        int allow_plain;
        postie_tls_policy pol = tool_tls_policy(f.tls, &allow_plain);
        if (postie_pop3_set_tls(&f.pop, pol, pol == POSTIE_TLS_REQUIRED ? f.host : NULL) != POSTIE_OK) {
            tool_err("'%s' cannot be checked against a certificate (not a host name)", f.host);
            rc = TOOL_EX_USAGE;
            goto out;
        }
        postie_pop3_allow_plaintext_credentials(&f.pop, allow_plain);
        postie_pop3_set_random(&f.pop, postie_posix_random, NULL);
        postie_pop3_set_pipelining(&f.pop,
                                   o_pipe >= 0 ? o_pipe : tool_cfg_bool(&cfg, "pipelining", 1));
    }
    f.pop_alive = 1;
    st = postie_pop3_open(&f.pop);
    if (st != POSTIE_OK) {
        f.pop_alive = 0;
        rc = server_fail(&f, st, "greeting");
        goto out;
    }
    /* The strongest login the server offers: SASL first (SCRAM-SHA-256, then
     * CRAM-MD5; PLAIN/LOGIN only over TLS or with --tls off), else APOP or
     * USER/PASS (the library's AUTO mode, under the same TLS rule). */
    st = POSTIE_ERR_UNSUPPORTED;
    if (postie_pop3_caps(&f.pop) & POSTIE_POP3_CAP_SASL)
        st = postie_pop3_auth(&f.pop, POSTIE_SASL_PASSWORD_MECHS, f.user, pass);
    if (st == POSTIE_ERR_UNSUPPORTED || st == POSTIE_ERR_INSECURE || st == POSTIE_ERR_PARAM)
        st = postie_pop3_login(&f.pop, f.user, pass, POSTIE_POP3_LOGIN_AUTO);
    if (st != POSTIE_OK) {
        if (st != POSTIE_ERR_AUTH && st != POSTIE_ERR_TRANSIENT && st != POSTIE_ERR_PARAM)
            f.pop_alive = 0;
        if (st == POSTIE_ERR_AUTH)
            tool_err("authentication failed for %s on %s (server said: %s)", f.user, f.host,
                     postie_pop3_reply_text(&f.pop));
        else
            server_fail(&f, st, "login");
        rc = tool_exit_for_status(st);
        goto out;
    }
    st = postie_pop3_stat(&f.pop, &f.count, NULL);
    if (st != POSTIE_OK) {
        rc = server_fail(&f, st, "STAT");
        goto out;
    }
    f.msgs = calloc(f.count ? f.count : 1, sizeof *f.msgs);
    f.wanted = calloc(f.count ? f.count : 1, sizeof *f.wanted);
    f.dq = calloc(f.count ? f.count : 1, sizeof *f.dq);
    if (!f.msgs || !f.wanted || !f.dq) {
        tool_err("out of memory");
        rc = TOOL_EX_OSERR;
        goto out;
    }
    for (i = 0; i < f.count; i++)
        f.msgs[i].no = i + 1;
    if (f.count > 0) {
        st = postie_pop3_uidl_all(&f.pop, uidl_cb, &f);
        if (st == POSTIE_ERR_SERVER) {
            tool_err("the server does not support UIDL, which postie-fetch needs to "
                     "deliver each message exactly once");
            rc = TOOL_EX_UNAVAILABLE;
            goto out;
        }
        if (st == POSTIE_OK)
            st = postie_pop3_list_all(&f.pop, list_cb, &f);
        if (st != POSTIE_OK) {
            rc = server_fail(&f, st, "UIDL/LIST");
            goto out;
        }
        for (i = 0; i < f.count; i++)
            if (!f.msgs[i].uid) {
                tool_err("the server gave no UIDL for message %lu", i + 1);
                rc = TOOL_EX_PROTOCOL;
                goto out;
            }
    }

    /* forget delivered messages that are gone from the server */
    {
        size_t k = 0;
        int changed = 0;
        while (k < f.state.n) {
            int on_server = 0;
            for (i = 0; i < f.count && !on_server; i++)
                on_server = strcmp(f.msgs[i].uid, f.state.e[k].uid) == 0;
            if (!on_server) {
                tool_state_remove(&f.state, f.state.e[k].uid);
                changed = 1;
                continue;
            }
            k++;
        }
        if (changed && tool_state_save(&f.state, err, sizeof err) != 0) {
            tool_err("%s", err);
            rc = TOOL_EX_IOERR;
            goto out;
        }
    }

    /* plan: what to fetch, and (with --delete) what an earlier run already
     * delivered and only needs deleting */
    for (i = 0; i < f.count; i++) {
        tool_state_entry *e = tool_state_find(&f.state, f.msgs[i].uid);
        if (e && (f.new_only || f.delete_))
            continue;
        if (f.max_size && f.msgs[i].size > f.max_size)
            continue;
        f.total_msgs++;
        f.total_bytes += f.msgs[i].size;
    }
    f.progress = !quiet && isatty(2) && !f.trace && f.total_msgs > 0;
    f.t0 = now_s();
    tool_info("%lu message%s on the server, %lu to fetch", f.count, f.count == 1 ? "" : "s",
              f.total_msgs);

    for (i = 0; i < f.count; i++) {
        msginfo *mi = &f.msgs[i];
        tool_state_entry *e = tool_state_find(&f.state, mi->uid);
        if (e && (f.new_only || f.delete_)) {
            if (f.delete_)
                dele(&f, mi); /* delivered by an earlier run */
            continue;
        }
        if (f.max_size && mi->size > f.max_size) {
            progress_clear(&f);
            tool_info("message %lu (%lu bytes) skipped: larger than --max-size", mi->no,
                      mi->size);
            continue;
        }
        f.wanted[f.nwanted++] = mi;
    }
    tool_info("%s", postie_pop3_pipelining(&f.pop) ? "pipelining RETR and DELE"
                                                    : "one command at a time (no pipelining)");
    rc = run_session(&f);
    if (f.progress && rc == 0)
        progress_draw(&f, 1);

    if (f.ndeleted > 0)
        test_kill_point("deleted");
    if (f.pop_alive) {
        int committed = 0;
        st = postie_pop3_quit(&f.pop, &committed);
        f.pop_alive = 0;
        if (committed && f.ndeleted > 0) {
            size_t k;
            for (k = 0; k < f.ndeleted; k++)
                tool_state_remove(&f.state, f.deleted[k]);
            if (tool_state_save(&f.state, err, sizeof err) != 0) {
                /* harmless: the entries are pruned next time */
                tool_err("%s", err);
            }
        } else if (!committed && f.ndeleted > 0 && rc == 0) {
            rc = server_fail(&f, st, "QUIT (messages were not deleted)");
        }
    }
    if (tool_verbosity > 0 || (f.progress && rc == 0)) {
        char b[32];
        tool_fmt_bytes((double)f.delivered_bytes, b, sizeof b);
        fprintf(stderr, "%s: %lu message%s (%s) delivered%s%s\n", tool_progname, f.delivered,
                f.delivered == 1 ? "" : "s", b, f.ndeleted ? ", deleted from the server" : "",
                rc ? " before the error above" : "");
    }

out:
    if (f.pop_alive)
        postie_pop3_close(&f.pop);
    if (pass) {
        memset(pass, 0, strlen(pass));
        free(pass);
    }
    for (i = 0; i < f.count; i++)
        free(f.msgs ? f.msgs[i].uid : NULL);
    free(f.msgs);
    free(f.wanted);
    free(f.dq);
    for (i = 0; i < f.ndeleted; i++)
        free(f.deleted[i]);
    free(f.deleted);
    if (f.dest.path)
        tool_dest_close(&f.dest);
    if (f.state.path)
        tool_state_close(&f.state);
    free(statepath);
    free(cfgpath);
    tool_cfg_free(&cfg);
    return rc;
}
