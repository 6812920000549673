/*
 * postie-fetch - fetch mail from a POP3 account into a Maildir, an mbox or
 * an MDA, never losing a message and never delivering one twice.
 * Usage and the delivery protocol: man/postie-fetch.1, docs/tools.md.
 */
#include "common.h"
#include "config.h"
#include "deliver.h"
#include "files.h"
#include "net.h"
#include "password.h"
#include "oauth.h"
#include "state.h"
#include "target.h"
#include "testhook.h"
#include "postie/posix_clock.h"
#include "postie/pop3.h"
#include "postie/sasl.h"
#include "postie/posix_random.h"

#include <getopt.h>
#include <pthread.h>
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
 * interrupted run loses little work. For a Maildir the commit runs on a
 * thread of its own (the group commit, group_commit()) while the next batch
 * is read from the network; at most one batch is being committed at a time,
 * and its DELEs are queued only once it is durable and recorded. */
#define BATCH_MAX_MSGS 64
#define BATCH_MAX_BYTES (8ull * 1024 * 1024)
#define BATCH_MAX_SECONDS 1.0

/* RETRs kept in flight (RFC 2449 PIPELINING): the pipe is kept full by
 * the octets expected back, not by a count. RETRs go out ahead while the
 * sizes LIST announced for the messages not read yet (plus a reply line's
 * worth each) stay within WINDOW_OCTETS, and while the library's queue has
 * room (POSTIE_POP3_PIPELINE_MAX commands, RETRs and DELEs together). The
 * window is a buffer budget: what the server sends ahead waits in the
 * kernel's socket buffers while this program writes and syncs files, never
 * in its memory; 2 MiB carries 100 MB/s over a 20 ms round trip (512 KiB,
 * until the latency benchmark of issue 18, bounded a fetch of 10 kB
 * messages there to about 20 round trips per 10 MB). A message
 * larger than the window goes alone. The window is refilled once it drained
 * by a quarter (of its octets and of the queue), so a refill is one write of
 * several RETRs, together with the DELEs of committed batches. Without
 * PIPELINING the library sends the same queue one command at a time. */
#define WINDOW_OCTETS (2048ull * 1024)
#define RETR_OVERHEAD 32ull /* "+OK n octets" and the final "." */
#define QUEUE_MAX ((unsigned)POSTIE_POP3_PIPELINE_MAX)

static const char usage_head[] =
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
    "  An account with oauth_provider logs in with an OAuth 2.0 token instead:\n"
    "      --authorize[=FLOW] authorize Postie with the provider (FLOW device or\n"
    "                         browser), keep the tokens, fetch nothing\n"
    "\n"
    "Where mail goes (one of; default: the Maildir ~/Maildir):\n";
/* then one line per delivery target (tool_targets[]), then: */
static const char usage_tail[] =
    "\n"
    "What to fetch:\n"
    "  -n, --new-only         only messages not fetched before (by UIDL; default)\n"
    "      --all              every message, also those fetched before\n"
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
    OPT_HOST = 256, OPT_PORT, OPT_USER, OPT_TLS, OPT_CAFILE, OPT_TIMEOUT, OPT_ALL,
    OPT_MAXSIZE, OPT_STATE, OPT_TRACE, OPT_NO_PIPELINING,
    OPT_TARGET = 512 /* + index in tool_targets[]: --maildir, --mbox, --mda */
};

#define OPT_AUTHORIZE 1000 /* --authorize[=FLOW] (oauth.h) */
static const struct option base_opts[] = {
    { "account", required_argument, NULL, 'a' },
    { "config", required_argument, NULL, 'C' },
    { "host", required_argument, NULL, OPT_HOST },
    { "port", required_argument, NULL, OPT_PORT },
    { "user", required_argument, NULL, OPT_USER },
    { "tls", required_argument, NULL, OPT_TLS },
    { "cafile", required_argument, NULL, OPT_CAFILE },
    { "timeout", required_argument, NULL, OPT_TIMEOUT },
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
    { "authorize", optional_argument, NULL, OPT_AUTHORIZE },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, 'V' },
};
#define NBASE (sizeof base_opts / sizeof base_opts[0])
#define MAX_TARGETS 16

static void usage(void)
{
    size_t i;
    fputs(usage_head, stdout);
    for (i = 0; tool_targets[i]; i++) {
        char flag[64];
        snprintf(flag, sizeof flag, "--%s=%s", tool_targets[i]->name, tool_targets[i]->arg);
        printf("      %-18s %s\n", flag, tool_targets[i]->help);
    }
    fputs(usage_tail, stdout);
}

typedef struct msginfo {
    unsigned long no;
    char *uid;
    unsigned long size;
    int dup;             /* another message on the server has the same UID */
} msginfo;

typedef struct pending {
    msginfo *mi;
    tool_msg m;
} pending;

/* A batch of fetched messages (in tmp/ for a Maildir) and, once committed,
 * how that went. */
typedef struct batch {
    pending p[BATCH_MAX_MSGS];
    size_t n;
    unsigned long long bytes;
    double t0;
    /* the commit's outcome (group_commit) */
    size_t ncommit;      /* committed to the destination */
    size_t done;         /* committed and durable (new/ synced) */
    int final;           /* record the delivered entries now (else with the next batch) */
    int saved_prev;      /* the pending save also recorded the previous batch */
    int recorded;        /* the delivered entries of done are saved */
    int rc;              /* 0 or an exit code */
    char err[1024];      /* the first error, printed by the main thread */
} batch;

/* What the command line said; NULL / -1: not given. */
typedef struct fetch_opts {
    const char *account, *config, *maxsize, *state;
    const tool_target *target; /* --maildir, --mbox or --mda */
    const char *target_path;
    int ntargets;              /* how many of them were given */
    tool_server_flags srv;
    int delete_, new_only, pipelining, quiet, trace;
    int authorize;             /* --authorize given; authorize_flow: its FLOW or NULL */
    const char *authorize_flow;
} fetch_opts;

typedef struct fetch {
    /* settings */
    tool_cfg cfg;
    char *cfgpath, *statepath, *pass;
    tool_oauth oauth;    /* oauth.active: the account logs in with an OAuth 2.0 token */
    const char *cfgpath_flag; /* -C as given (for the re-authorize hint), or NULL */
    const char *host, *port, *user, *cafile;
    tool_tls_mode tls;
    unsigned timeout_ms;
    int delete_, new_only, trace, pipelining, quiet;
    unsigned long long max_size;
    const tool_target *target;
    const char *dest_path;
    /* run */
    tool_dest dest;
    tool_state state;
    postie_pop3 pop;
    tool_conn conn;
    int pop_alive;
    msginfo *msgs;       /* as UIDL listed them, sorted by number */
    unsigned long count, cap;
    unsigned long ndup;  /* messages whose UID is not unique */
    char **deleted;      /* uids DELE'd in this session (unique ones only) */
    size_t ndeleted, deleted_cap;
    unsigned long ndele_ok; /* DELEs the server accepted */
    msginfo **wanted;      /* messages to fetch, in order; wanted_pos: next to queue */
    size_t nwanted, wanted_pos;
    msginfo **dq;        /* delivered and recorded, DELE not queued yet (a FIFO) */
    size_t dq_head, dq_tail;
    unsigned retr_inflight; /* RETRs queued whose reply was not read yet */
    unsigned long long octets_inflight; /* what those RETRs bring back (LIST sizes) */
    unsigned max_retr_inflight;          /* the most RETRs in flight at once (-v) */
    unsigned long long max_octets_inflight; /* and the most octets */
    int batch_due;       /* the batch is full: commit it once the next commands went out */
    batch *cur;          /* the batch being read from the network */
    batch *committing;   /* the batch its thread commits, or NULL */
    pthread_t committer;
    int committer_done;  /* set by the thread as it ends (atomic) */
    batch batches[2];
    /* committed (renamed into new/) by the last commit, new/ not synced and
     * not recorded yet: the next batch's group flush syncs them, its
     * pending save records them, then their DELEs may go */
    msginfo *unrec[BATCH_MAX_MSGS];
    size_t nunrec;
    int unrec_dele;      /* they may be deleted (--delete, their batch went well) */
    int stop;            /* after an error: queue no more RETRs */
    int dele_failed;     /* a DELE was refused: queue no more DELEs */
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

/* The message list grows with what UIDL lists, never by what STAT claims:
 * a server's word that it holds 50,000,000 messages costs nothing until it
 * lists them. A callback's non-zero return stops the listing (out of
 * memory, noted in f->stop). */
static int uidl_cb(void *user, unsigned long msg, const char *uid)
{
    fetch *f = user;
    msginfo *mi;
    if (f->count == f->cap) {
        unsigned long nc = f->cap ? f->cap * 2 : 256;
        msginfo *n = realloc(f->msgs, nc * sizeof *n);
        if (!n) {
            f->stop = 1;
            return 1;
        }
        f->msgs = n;
        f->cap = nc;
    }
    mi = &f->msgs[f->count];
    memset(mi, 0, sizeof *mi);
    mi->no = msg;
    mi->uid = tool_strdup(uid);
    if (!mi->uid) {
        f->stop = 1;
        return 1;
    }
    f->count++;
    return 0;
}

static int cmp_no(const void *a, const void *b)
{
    const msginfo *x = a, *y = b;
    return x->no < y->no ? -1 : x->no > y->no;
}

static int cmp_uidp(const void *a, const void *b)
{
    const msginfo *const *x = a, *const *y = b;
    int c = strcmp((*x)->uid, (*y)->uid);
    if (c)
        return c;
    return (*x)->no < (*y)->no ? -1 : (*x)->no > (*y)->no;
}

/* The message numbered no, or NULL (f->msgs is sorted by number). */
static msginfo *find_msg(fetch *f, unsigned long no)
{
    msginfo key;
    if (!f->count)
        return NULL;
    key.no = no;
    return bsearch(&key, f->msgs, f->count, sizeof *f->msgs, cmp_no);
}

static int list_cb(void *user, unsigned long msg, unsigned long octets)
{
    msginfo *mi = find_msg(user, msg);
    if (mi)
        mi->size = octets;
    return 0;
}

static int server_fail(fetch *f, postie_status st, const char *what)
{
    char tls[512];
    if (st == POSTIE_ERR_SERVER || st == POSTIE_ERR_AUTH || st == POSTIE_ERR_TRANSIENT)
        FERR(f, "%s: %s (server said: %s)", what, postie_strerror(st),
             postie_pop3_reply_text(&f->pop));
    else if (tool_conn_tls_message(&f->conn, st, tls, sizeof tls))
        FERR(f, "%s", tls); /* where it happened: the handshake, not the step */
    else
        FERR(f, "%s: %s", what, postie_strerror(st));
    return tool_exit_for_status(st);
}

static int note_deleted(fetch *f, const char *uid)
{
    if (f->ndeleted == f->deleted_cap) {
        size_t nc = f->deleted_cap ? f->deleted_cap * 2 : 64;
        char **n = realloc(f->deleted, nc * sizeof *n);
        if (!n)
            return -1;
        f->deleted = n;
        f->deleted_cap = nc;
    }
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

/* The first error's exit code is the run's. */
static void note_rc(int *rc, int r)
{
    if (!*rc)
        *rc = r;
}

/* note_rc, returning r (non-zero: that step failed). */
static int note_rc_ret(int *rc, int r)
{
    note_rc(rc, r);
    return r;
}

/* Notes the first error of a batch's commit (printed by the main thread). */
static void batch_err(batch *b, const char *msg)
{
    if (!b->err[0])
        snprintf(b->err, sizeof b->err, "%s", msg);
}

/* 1. For a batching target, the batch's pending entries in one state save
 * (other targets' are written one at a time: an mbox's by its commit, under
 * its lock; an MDA's is not needed, see docs/tools.md). The same save
 * records the delivered entries of the batch before, if they were not
 * saved yet (record_batch). 0 or an exit code. */
static int save_pending(fetch *f, batch *b)
{
    char err[1024];
    size_t i;
    if (!tool_target_batches(f->dest.t))
        return 0;
    for (i = 0; i < b->n; i++)
        if (!b->p[i].mi->dup &&
            tool_state_set(&f->state, b->p[i].mi->uid, 'P', b->p[i].m.info) != 0) {
            batch_err(b, "out of memory");
            return TOOL_EX_OSERR;
        }
    if (tool_state_save(&f->state, err, sizeof err) != 0) {
        batch_err(b, err);
        return TOOL_EX_IOERR;
    }
    b->saved_prev = 1;
    return 0;
}

/* The messages of f->unrec, whose renames are durable now, recorded as
 * delivered in memory (saved by the next state save). */
static void unrec_set_delivered(fetch *f)
{
    size_t i;
    for (i = 0; i < f->nunrec; i++)
        if (!f->unrec[i]->dup)
            tool_state_set(&f->state, f->unrec[i]->uid, 'D', NULL);
}

/* 2. Commits each message in order, until one fails; a non-batching
 * target's delivery is recorded at once. b->ncommit: how many were
 * committed. 0 or an exit code. */
static int commit_batch(fetch *f, batch *b)
{
    char err[1024];
    int ex = 0, batches = tool_target_batches(f->dest.t);
    size_t i;
    for (i = 0; i < b->n; i++) {
        pending *p = &b->p[i];
        /* a message whose UID is not unique gets no state entry (its UID
         * cannot say which message it was): it is fetched again next time,
         * and never deleted by what the state says */
        if (tool_msg_commit(&p->m, p->mi->uid, p->mi->dup ? NULL : &f->state, batches, err,
                            sizeof err, &ex) != 0) {
            batch_err(b, err);
            return ex ? ex : TOOL_EX_SOFTWARE;
        }
        b->ncommit++;
        if (!batches && !p->mi->dup) {
            tool_state_set(&f->state, p->mi->uid, 'D', NULL);
            if (tool_state_save(&f->state, err, sizeof err) != 0) {
                batch_err(b, err);
                return TOOL_EX_IOERR;
            }
        }
    }
    return 0;
}

/* 3. For a batching target, the last batch of a run (b->final): the
 * commits made durable (one sync of new/), then recorded (one state save).
 * Any other batch's renames are made durable by the next batch's group
 * flush (a syncfs of the file system, else an fsync of new/) and recorded
 * by its pending save (f->unrec): a batch costs one state save and one
 * flush besides its own files'. Until then its pending entries say the
 * same to a run after a kill or a crash (found in new/: delivered; not
 * found: fetched again), and its DELEs wait. On failure b->done becomes 0:
 * the pending entries stay and the next run resolves them. 0 or an exit
 * code. */
static int record_batch(fetch *f, batch *b)
{
    char err[1024];
    size_t i;
    tool_test_kill_point("renamed");
    if (!b->final)
        return 0;
    if (tool_dest_sync(&f->dest) != 0) {
        snprintf(err, sizeof err, "%s: sync failed", f->dest.path);
        batch_err(b, err);
        b->done = 0;
        return TOOL_EX_IOERR;
    }
    for (i = 0; i < b->done; i++)
        if (!b->p[i].mi->dup)
            tool_state_set(&f->state, b->p[i].mi->uid, 'D', NULL);
    if (tool_state_save(&f->state, err, sizeof err) != 0) {
        batch_err(b, err);
        return TOOL_EX_IOERR;
    }
    b->recorded = 1;
    return 0;
}

/* The group commit of a batch, following the order of docs/tools.md: the
 * files durable where they wait -> pending entries saved -> committed to
 * the destination (and synced) -> delivered entries saved. It touches only
 * the batch, the destination's files and the state, so for a Maildir it
 * runs on its own thread while the main thread reads the next batch into
 * tmp/ (the main thread touches the state only after joining it). The
 * DELEs come after, from the main thread (finish_commit). */
static void group_commit(fetch *f, batch *b)
{
    size_t i;
    int *rc = &b->rc;

    b->ncommit = b->done = 0;
    b->saved_prev = b->recorded = 0;
    b->rc = 0;
    b->err[0] = '\0';
    /* 0. the group flush: the batch's files durable where they wait, with
     * one flush for all (a Maildir's syncfs; their writeback started as
     * each one was complete), else one fsync each, in a row. A failure
     * keeps the messages before it and drops it and the rest. */
    if (b->n > 0) {
        char err[1024];
        tool_msg *ms[BATCH_MAX_MSGS];
        size_t k;
        int whole_fs;
        for (i = 0; i < b->n; i++)
            ms[i] = &b->p[i].m;
        i = tool_msgs_durable(ms, b->n, &whole_fs, err, sizeof err);
        if (i < b->n) {
            batch_err(b, err);
            for (k = i; k < b->n; k++)
                tool_msg_abort(&b->p[k].m);
            b->n = i;
            *rc = TOOL_EX_IOERR;
        }
        /* the last batch's renames: durable with this flush when it was of
         * the whole file system, else by an fsync of new/ now */
        if (b->n > 0 && f->nunrec > 0) {
            if (!whole_fs && tool_dest_sync(&f->dest) != 0) {
                snprintf(err, sizeof err, "%s: sync failed", f->dest.path);
                batch_err(b, err);
                for (k = 0; k < b->n; k++)
                    tool_msg_abort(&b->p[k].m);
                b->n = 0;
                *rc = TOOL_EX_IOERR;
            } else {
                unrec_set_delivered(f); /* saved with this batch's pending entries */
            }
        }
    }
    tool_test_kill_point("synced");
    if (b->n > 0 && !note_rc_ret(rc, save_pending(f, b))) {
        tool_test_kill_point("pending");
        note_rc(rc, commit_batch(f, b));
        b->done = b->ncommit;
        if (!tool_target_batches(f->dest.t))
            b->recorded = 1; /* each message was recorded as it was committed */
        else if (b->done > 0)
            note_rc(rc, record_batch(f, b));
        tool_test_kill_point("recorded");
    }
}

/* After group_commit, on the main thread: reports, counts, queues the DELEs
 * of what is durably recorded, and drops what was not committed. Returns
 * the commit's exit code. */
static int finish_commit(fetch *f, batch *b)
{
    size_t i;
    int rc = b->rc;

    if (b->err[0])
        FERR(f, "%s", b->err);
    if (b->saved_prev && f->nunrec > 0) { /* the batch before is recorded */
        for (i = 0; i < f->nunrec; i++)
            if (f->unrec_dele)
                dele(f, f->unrec[i]);
        f->nunrec = 0;
    }
    for (i = 0; i < b->done; i++) {
        f->delivered++;
        f->delivered_bytes += b->p[i].m.bytes;
        tool_info("message %lu (%s) delivered", b->p[i].mi->no, b->p[i].mi->uid);
        if (b->recorded) {
            if (f->delete_ && rc == 0)
                dele(f, b->p[i].mi);
        } else if (f->nunrec < BATCH_MAX_MSGS) { /* (never full: emptied above) */
            f->unrec[f->nunrec++] = b->p[i].mi;
            f->unrec_dele = f->delete_ && rc == 0;
        }
    }
    /* committed messages keep their entries, whatever their state; the
     * others are dropped with their pending entries (should one already be
     * on disk, the next run resolves it as not delivered: the file is gone) */
    for (i = b->ncommit; i < b->n; i++) {
        tool_state_entry *e = b->p[i].mi->dup ? NULL : tool_state_find(&f->state, b->p[i].mi->uid);
        tool_msg_abort(&b->p[i].m);
        if (e && e->kind == 'P')
            tool_state_remove(&f->state, b->p[i].mi->uid);
    }
    b->n = 0;
    b->bytes = 0;
    return rc;
}

static void *committer_main(void *arg)
{
    fetch *f = arg;
    group_commit(f, f->committing);
    __atomic_store_n(&f->committer_done, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* Waits for the batch being committed on its thread, if any, and finishes
 * it (its DELEs join the queue). Returns its exit code. */
static int commit_wait(fetch *f)
{
    batch *b = f->committing;
    if (!b)
        return 0;
    pthread_join(f->committer, NULL);
    f->committing = NULL;
    return finish_commit(f, b);
}

/* Whether the committing thread is done (then commit_wait does not block). */
static int commit_ready(fetch *f)
{
    return f->committing && __atomic_load_n(&f->committer_done, __ATOMIC_ACQUIRE);
}

/* Commits the current batch: a Maildir's on a thread (after the previous
 * one finished: one commit at a time, in order), while the main thread
 * reads on into the other batch; other targets' here and now. Returns an
 * exit code (of the previous commit when it is finished here, or of this
 * one when it ran here). */
static int flush_batch(fetch *f, int final)
{
    batch *b = f->cur;
    int rc = commit_wait(f), r;

    if (b->n == 0)
        return rc;
    b->final = final;
    if (tool_target_batches(f->dest.t)) {
        f->committing = b;
        f->committer_done = 0;
        if (pthread_create(&f->committer, NULL, committer_main, f) == 0) {
            f->cur = b == &f->batches[0] ? &f->batches[1] : &f->batches[0];
            return rc;
        }
        f->committing = NULL; /* no thread: commit here */
    }
    group_commit(f, b);
    r = finish_commit(f, b);
    note_rc(&rc, r);
    return rc;
}

/* Commits what is left, waits until it is done, and makes durable and
 * records what was committed but not recorded yet (then its DELEs may go). */
static int flush_all(fetch *f)
{
    char err[1024];
    int rc = flush_batch(f, 1);
    size_t i;
    note_rc(&rc, commit_wait(f));
    if (f->nunrec > 0) {
        if (tool_dest_sync(&f->dest) != 0) {
            FERR(f, "%s: sync failed", f->dest.path);
            note_rc(&rc, TOOL_EX_IOERR);
        } else {
            unrec_set_delivered(f);
            if (tool_state_save(&f->state, err, sizeof err) != 0) {
                FERR(f, "%s", err);
                note_rc(&rc, TOOL_EX_IOERR);
            } else if (f->unrec_dele) {
                for (i = 0; i < f->nunrec; i++)
                    dele(f, f->unrec[i]);
            }
        }
        f->nunrec = 0;
    }
    return rc;
}

/* How far a message may run past the size LIST announced before it is
 * stopped: twice that (a server counting LF line ends sends up to twice
 * what it said) plus 1 MiB. This bounds the memory (mbox, MDA) and disk
 * (Maildir) one message can take by what the server said before sending it
 * (and --max-size bounds that). */
static unsigned long long size_limit(unsigned long announced)
{
    return 2ull * announced + 1024ull * 1024ull;
}

/* Reads the message whose RETR was just answered +OK into the destination
 * (not yet committed). */
static int fetch_body(fetch *f, msginfo *mi)
{
    char err[1024], buf[32768];
    pending *b = &f->cur->p[f->cur->n];
    postie_status st;
    size_t n, used = 0;
    unsigned long long got = 0, limit;

    if (tool_msg_begin(&f->dest, &b->m, err, sizeof err) != 0) {
        FERR(f, "%s", err);
        if (postie_pop3_drain(&f->pop) != POSTIE_OK)
            f->pop_alive = 0;
        return TOOL_EX_CANTCREAT;
    }
    b->mi = mi;
    limit = size_limit(mi->size);
    /* reads gather in buf until it is nearly full or the message ends, so
     * a message of up to 32 KiB is one write whatever the reads' sizes (a
     * TLS record, often a few KiB, is one read) */
    for (;;) {
        st = postie_pop3_read(&f->pop, buf + used, sizeof buf - used, &n);
        if (st == POSTIE_OK) {
            got += n;
            if (got > limit) {
                /* the server's word for the size was false, or the message
                 * does not end: stop before it fills memory or the disk */
                FERR(f, "message %lu runs past the %lu bytes LIST announced (stopped at "
                     "%llu bytes); it stays on the server", mi->no, mi->size, got);
                tool_msg_abort(&b->m);
                f->pop_alive = 0; /* the rest cannot be drained: drop the connection */
                return TOOL_EX_PROTOCOL;
            }
            used += n;
            f->done_bytes += n;
            if (sizeof buf - used >= 4096)
                continue;
        } else if (st != POSTIE_DONE) {
            break;
        }
        if (used > 0 && tool_msg_write(&b->m, buf, used, err, sizeof err) != 0) {
            FERR(f, "%s", err);
            tool_msg_abort(&b->m);
            if (st == POSTIE_OK && postie_pop3_drain(&f->pop) != POSTIE_OK)
                f->pop_alive = 0;
            return TOOL_EX_IOERR;
        }
        used = 0;
        progress_draw(f, 0);
        if (st == POSTIE_DONE)
            break;
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
    f->cur->n++;
    f->cur->bytes += b->m.bytes;
    f->done_msgs++;
    progress_draw(f, 0);
    return 0;
}

/* Queues the DELEs of committed batches, then refills the RETR window
 * (WINDOW_OCTETS, QUEUE_MAX) once a quarter of it was answered. 0 or an
 * exit code (f->pop_alive, f->stop and f->dele_failed say what may go on). */
static int queue_commands(fetch *f)
{
    postie_status st;
    unsigned queued = postie_pop3_queued(&f->pop);
    /* a quarter of the queue free: worth a write */
    int room = queued + (QUEUE_MAX + 3) / 4 <= QUEUE_MAX;
    if (room || queued + (f->dq_tail - f->dq_head) <= QUEUE_MAX)
        while (f->dq_head < f->dq_tail && !f->dele_failed) {
            st = postie_pop3_queue_dele(&f->pop, f->dq[f->dq_head]->no);
            if (st == POSTIE_ERR_BUFFER)
                break; /* queue full: after some replies */
            if (st != POSTIE_OK) {
                if (st != POSTIE_ERR_NO_SUCH_MESSAGE && st != POSTIE_ERR_SERVER)
                    f->pop_alive = 0;
                f->dele_failed = f->stop = 1;
                return server_fail(f, st, "DELE");
            }
            f->dq_head++;
        }
    if (!f->pop_alive || f->stop || f->wanted_pos >= f->nwanted)
        return 0;
    /* refill once a quarter of the window (octets and queue) was answered */
    if (f->retr_inflight > 0 &&
        (f->octets_inflight > WINDOW_OCTETS - WINDOW_OCTETS / 4 || !room))
        return 0;
    while (f->wanted_pos < f->nwanted) {
        msginfo *mi = f->wanted[f->wanted_pos];
        unsigned long long cost = mi->size + RETR_OVERHEAD;
        if (f->retr_inflight > 0 && f->octets_inflight + cost > WINDOW_OCTETS)
            break;
        st = postie_pop3_queue_retr(&f->pop, mi->no);
        if (st == POSTIE_ERR_BUFFER)
            break; /* the queue is full */
        if (st != POSTIE_OK) {
            if (st != POSTIE_ERR_NO_SUCH_MESSAGE && st != POSTIE_ERR_SERVER)
                f->pop_alive = 0;
            f->stop = 1;
            return server_fail(f, st, "RETR");
        }
        f->wanted_pos++;
        f->retr_inflight++;
        f->octets_inflight += cost;
    }
    if (f->retr_inflight > f->max_retr_inflight)
        f->max_retr_inflight = f->retr_inflight;
    if (f->octets_inflight > f->max_octets_inflight)
        f->max_octets_inflight = f->octets_inflight;
    return 0;
}

/* Handles one reply (st) to a DELE or a RETR of message mi: notes the
 * deletion, or reads the message into the batch and commits the batch
 * when it is full. 0 or an exit code. */
static int handle_reply(fetch *f, postie_pop3_cmd_kind kind, postie_status st, msginfo *mi)
{
    int r;
    if (kind == POSTIE_POP3_CMD_DELE) {
        if (st != POSTIE_OK) {
            f->dele_failed = f->stop = 1;
            return server_fail(f, st, "DELE");
        }
        f->ndele_ok++;
        if (!mi->dup && note_deleted(f, mi->uid) != 0) {
            f->stop = 1;
            FERR(f, "out of memory");
            return TOOL_EX_OSERR;
        }
        return 0;
    }
    f->retr_inflight--;
    f->octets_inflight -= mi->size + RETR_OVERHEAD;
    if (st != POSTIE_OK) {
        f->stop = 1;
        return server_fail(f, st, "RETR");
    }
    if (f->stop) { /* after an error: read it and drop it */
        if (postie_pop3_drain(&f->pop) != POSTIE_OK)
            f->pop_alive = 0;
        return 0;
    }
    if ((r = fetch_body(f, mi)) != 0) {
        f->stop = 1;
        return r;
    }
    if (f->cur->n == 1)
        f->cur->t0 = now_s();
    if (f->cur->n == BATCH_MAX_MSGS || f->cur->bytes >= BATCH_MAX_BYTES ||
        now_s() - f->cur->t0 >= BATCH_MAX_SECONDS || !tool_target_batches(f->dest.t))
        f->batch_due = 1; /* run_session commits it after sending the next commands */
    return 0;
}

/* run: keeps the RETR window (WINDOW_OCTETS) and the pending DELEs queued, and
 * handles the replies in order: a message goes into the batch, the batch is
 * committed (flush_batch: durable delivery and state first, then its DELEs
 * join the queue), a DELE's +OK is noted for the state. With PIPELINING the
 * queued commands go out together; without it the library sends them one at
 * a time, so this one path serves both. After an error no more RETRs are
 * queued; the replies of those in flight are read (their messages dropped:
 * they are fetched again next time) so the session can still QUIT and
 * commit the DELEs of what was delivered. Returns an exit code. */
static int run_session(fetch *f)
{
    int rc = 0;
    postie_status st;

    while (f->pop_alive) {
        postie_pop3_cmd_kind kind = POSTIE_POP3_CMD_NONE;
        unsigned long no = 0;
        msginfo *mi;

        if (commit_ready(f)) { /* a batch is durable: its DELEs join the queue */
            int r = commit_wait(f);
            note_rc(&rc, r);
            f->stop |= r != 0;
        }
        note_rc(&rc, queue_commands(f));
        if (!f->pop_alive)
            break;
        st = postie_pop3_flush(&f->pop);
        if (st == POSTIE_OK && f->batch_due) {
            /* the next RETRs are on their way: the server sends them while
             * the batch is synced and recorded (a Maildir's on the
             * committing thread, while this one reads on) */
            int r = flush_batch(f, 0);
            f->batch_due = 0;
            note_rc(&rc, r);
            f->stop |= r != 0;
            continue; /* its DELEs are queued once it is done */
        }
        if (st == POSTIE_OK)
            st = postie_pop3_next(&f->pop, &kind, &no, NULL);
        if (st == POSTIE_DONE) {
            int r;
            if (f->cur->n == 0 && !f->committing)
                break; /* nothing queued, nothing more to queue */
            if (!f->delete_ && !f->stop) {
                /* Without --delete no DELE follows the last batch, so the
                 * QUIT (which then deletes nothing) need not wait for the
                 * batch to be durable: it goes out while the batch is
                 * synced and recorded on its thread, and flush_all after
                 * the loop waits for that as before. */
                if (f->cur->n > 0)
                    note_rc(&rc, flush_batch(f, 1));
                (void)postie_pop3_quit(&f->pop, NULL);
                f->pop_alive = 0;
                continue;
            }
            r = flush_all(f); /* its DELEs are queued in the next round */
            note_rc(&rc, r);
            f->stop |= r != 0;
            continue;
        }
        if (st != POSTIE_OK && st != POSTIE_ERR_SERVER) {
            f->pop_alive = 0;
            note_rc(&rc, server_fail(f, st, kind == POSTIE_POP3_CMD_DELE ? "DELE" : "RETR"));
            break;
        }
        if (!(mi = find_msg(f, no))) {
            FERR(f, "internal error: reply for message %lu", no);
            note_rc(&rc, TOOL_EX_SOFTWARE);
            f->pop_alive = 0;
            break;
        }
        note_rc(&rc, handle_reply(f, kind, st, mi));
    }
    /* whatever happened, what was fetched completely is delivered */
    note_rc(&rc, flush_all(f));
    if (f->max_retr_inflight > 0 && postie_pop3_pipelining(&f->pop))
        tool_info("at most %u RETR%s (%llu octets) in flight", f->max_retr_inflight,
                  f->max_retr_inflight == 1 ? "" : "s", f->max_octets_inflight);
    return rc;
}

/* ---- the steps of main() ------------------------------------------------ */

/* parse: the command line into o. Returns -1 to go on, else the exit code
 * (0 after --help or --version). */
static int parse_args(int argc, char **argv, fetch_opts *o)
{
    struct option opts[NBASE + MAX_TARGETS + 1];
    size_t i, n = NBASE;
    int c;
    memset(o, 0, sizeof *o);
    /* the options, and one --NAME=PATH per delivery target */
    memcpy(opts, base_opts, sizeof base_opts);
    for (i = 0; tool_targets[i] && i < MAX_TARGETS; i++, n++) {
        opts[n].name = tool_targets[i]->name;
        opts[n].has_arg = required_argument;
        opts[n].flag = NULL;
        opts[n].val = OPT_TARGET + (int)i;
    }
    memset(&opts[n], 0, sizeof opts[n]);
    o->delete_ = o->new_only = o->pipelining = -1;
    argv[0] = (char *)tool_progname; /* getopt's messages: the name without a path */
    while ((c = getopt_long(argc, argv, "a:C:ndkqvhV", opts, NULL)) != -1) {
        switch (c) {
        case 'a': o->account = optarg; break;
        case 'C': o->config = optarg; break;
        case OPT_HOST: o->srv.host = optarg; break;
        case OPT_PORT: o->srv.port = optarg; break;
        case OPT_USER: o->srv.user = optarg; break;
        case OPT_TLS: o->srv.tls = optarg; break;
        case OPT_CAFILE: o->srv.cafile = optarg; break;
        case OPT_TIMEOUT: o->srv.timeout = optarg; break;
        case 'n': o->new_only = 1; break;
        case OPT_ALL: o->new_only = 0; break;
        case 'd': o->delete_ = 1; break;
        case 'k': o->delete_ = 0; break;
        case OPT_MAXSIZE: o->maxsize = optarg; break;
        case OPT_STATE: o->state = optarg; break;
        case 'q': o->quiet = 1; tool_verbosity = -1; break;
        case 'v': tool_verbosity = 1; break;
        case OPT_TRACE: o->trace = 1; break;
        case OPT_NO_PIPELINING: o->pipelining = 0; break;
        case OPT_AUTHORIZE: o->authorize = 1; o->authorize_flow = optarg; break;
        case 'h': usage(); return 0;
        case 'V': printf("postie-fetch (Postie) %s\n", POSTIE_TOOLS_VERSION); return 0;
        default:
            if (c >= OPT_TARGET && c < OPT_TARGET + MAX_TARGETS) {
                o->target = tool_targets[c - OPT_TARGET];
                o->target_path = optarg;
                o->ntargets++;
                break;
            }
            fprintf(stderr, "Try 'postie-fetch --help'.\n");
            return TOOL_EX_USAGE;
        }
    }
    if (optind < argc) {
        tool_err("unexpected argument '%s' (try --help)", argv[optind]);
        return TOOL_EX_USAGE;
    }
    return -1;
}

/* "--maildir, --mbox or --mda" (keys: "maildir, mbox or mda"), from the
 * table of targets. */
static const char *target_flags(int keys)
{
    static char buf[256];
    size_t i, o = 0, n;
    for (n = 0; tool_targets[n]; n++)
        ;
    buf[0] = '\0';
    for (i = 0; i < n && o < sizeof buf - 40; i++)
        o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s%s",
                              i == 0 ? "" : i + 1 == n ? (keys ? " and " : " or ") : ", ",
                              keys ? "" : "--", tool_targets[i]->name);
    return buf;
}

/* resolve the account: the configuration file and the flags give the
 * server, what to fetch, where to deliver and the state file. 0 or an exit
 * code. */
/* The configuration file (required when named; the default file is
 * optional) and the server settings of the account. 0 or an exit code. */
static int load_server(fetch *f, const fetch_opts *o, tool_server *sv)
{
    static const char *const ports[3] = {"110", "110", "995"};
    char err[1024];
    f->cfgpath = o->config ? tool_strdup(o->config) : tool_cfg_default_path();
    if (tool_cfg_load(&f->cfg, f->cfgpath, o->account, o->config != NULL || o->account != NULL,
                      err, sizeof err) != 0) {
        tool_err("%s", err);
        return TOOL_EX_CONFIG;
    }
    return tool_server_resolve(sv, &o->srv, &f->cfg, "pop3", ports);
}

static int resolve_account(fetch *f, const fetch_opts *o)
{
    const char *v;
    tool_server sv;
    int rc;

    f->trace = o->trace;
    f->quiet = o->quiet;
    if ((rc = load_server(f, o, &sv)) != 0)
        return rc;
    f->host = sv.host;
    f->user = sv.user;
    f->port = sv.port;
    f->tls = sv.tls;
    f->cafile = sv.cafile;
    f->timeout_ms = sv.timeout_ms;
    if (!f->host || !f->user) {
        tool_err("no %s: give --%s or an account in %s (try --help)", f->host ? "user" : "host",
                 f->host ? "user" : "host", f->cfgpath ? f->cfgpath : "the configuration file");
        return f->cfg.account ? TOOL_EX_CONFIG : TOOL_EX_USAGE;
    }
    f->delete_ = o->delete_ >= 0 ? o->delete_ : tool_cfg_bool(&f->cfg, "delete", 0);
    /* only what was not fetched before, as mpop does; --all (or new_only
     * no) fetches everything again */
    f->new_only = o->new_only >= 0 ? o->new_only : tool_cfg_bool(&f->cfg, "new_only", 1);
    f->pipelining = o->pipelining >= 0 ? o->pipelining : tool_cfg_bool(&f->cfg, "pipelining", 1);
    v = o->maxsize ? o->maxsize : tool_cfg_get(&f->cfg, NULL, "max_size");
    if (v && tool_parse_size(v, &f->max_size) != 0) {
        tool_err("--max-size: '%s' is not a size", v);
        return TOOL_EX_USAGE;
    }

    /* destination: a flag replaces the file's choice; one target only */
    if (o->ntargets > 1) {
        tool_err("give only one of %s", target_flags(0));
        return TOOL_EX_USAGE;
    }
    f->target = o->target;
    f->dest_path = o->target_path;
    if (!f->target) {
        size_t i, n = 0;
        for (i = 0; tool_targets[i]; i++) {
            const char *p = tool_cfg_get(&f->cfg, NULL, tool_targets[i]->name);
            if (p) {
                f->target = tool_targets[i];
                f->dest_path = p;
                n++;
            }
        }
        if (n > 1) {
            tool_err("the account sets more than one of %s", target_flags(1));
            return TOOL_EX_CONFIG;
        }
        if (n == 0) {
            /* as mpop's users expect: the Maildir ~/Maildir (created when
             * missing, as --maildir does) */
            const char *home = getenv("HOME");
            f->target = tool_target_find("maildir");
            f->dest_path = "~/Maildir";
            if (!f->target || !home || !*home) {
                tool_err("nowhere to deliver: give %s (HOME is not set, so there is no "
                         "default ~/Maildir)", target_flags(0));
                return TOOL_EX_USAGE;
            }
            tool_info("delivering into the default Maildir ~/Maildir");
        }
    }
    v = o->state ? o->state : tool_cfg_get(&f->cfg, NULL, "state");
    f->statepath = v ? tool_strdup(v) : tool_state_default_path(f->user, f->host, f->port);
    if (!f->statepath) {
        tool_err("out of memory");
        return TOOL_EX_OSERR;
    }
    return 0;
}

/* recover: opens the state file (locked) and the destination, and settles
 * what an interrupted run left pending by looking at the destination. 0 or
 * an exit code. */
static int recover(fetch *f)
{
    char err[1024];
    int ex = 0, changed = 0;
    size_t k = 0;

    if (tool_state_open(&f->state, f->statepath, err, sizeof err, &ex) != 0) {
        tool_err("%s", err);
        return ex;
    }
    if (tool_dest_open(&f->dest, f->target, f->dest_path, err, sizeof err, &ex) != 0) {
        tool_err("%s", err);
        return ex;
    }
    while (k < f->state.n) {
        tool_state_entry *e = &f->state.e[k];
        if (e->kind == 'P') {
            int r = tool_dest_resolve(&f->dest, e->info);
            if (r == TOOL_RESOLVE_BUSY) {
                tool_err("%s is locked by another program; try again later", f->dest.path);
                return TOOL_EX_TEMPFAIL;
            }
            if (r == TOOL_RESOLVE_YES) {
                tool_info("message %s was delivered by an interrupted run", e->uid);
                tool_state_set(&f->state, e->uid, 'D', NULL);
                changed = 1;
            } else if (r == TOOL_RESOLVE_UNKNOWN) {
                /* never guessed: the message stays on the server, unfetched */
                tool_err("warning: cannot tell whether message %s reached %s before an "
                         "interruption (it changed since); the message stays on the server "
                         "and is not fetched until the line 'P %s ...' of %s is removed "
                         "(to fetch it again) or changed to 'D %s' (it is there)",
                         e->uid, f->dest.path, e->uid, f->state.path, e->uid);
            } else {
                if (r == TOOL_RESOLVE_AGAIN)
                    tool_err("warning: the %s may have delivered message %s before an "
                             "interruption; it is delivered again", f->dest.t->name, e->uid);
                tool_state_remove(&f->state, e->uid);
                changed = 1;
                continue; /* remove moved another entry here */
            }
        }
        k++;
    }
    if (changed && tool_state_save(&f->state, err, sizeof err) != 0) {
        tool_err("%s", err);
        return TOOL_EX_IOERR;
    }
    return 0;
}

/* AUTH with an OAuth 2.0 access token (tool_oauth_login's callback). */
static postie_status pop3_token_auth(void *ctx, const char *token)
{
    fetch *f = ctx;
    return postie_pop3_auth(&f->pop, f->oauth.mechs, f->user, token);
}

/* --authorize: the account's server settings only (no destination needed),
 * then the provider's flow. 0 or an exit code. */
static int authorize(fetch *f, const fetch_opts *o)
{
    tool_server sv;
    int rc;
    if ((rc = load_server(f, o, &sv)) != 0)
        return rc;
    return tool_oauth_authorize_cmd(&f->cfg, "pop3", sv.user, sv.timeout_ms, o->config,
                                    o->authorize_flow);
}

/* log in: password (or OAuth 2.0 token), connection, greeting, the strongest
 * login the server offers. 0 or an exit code. */
static int log_in(fetch *f)
{
    char err[1024];
    tool_pass_src ps;
    postie_status st;
    postie_tls_policy pol;
    int ex = 0, allow_plain;

    memset(&ps, 0, sizeof ps);
    ps.eval = tool_cfg_get(&f->cfg, "pop3", "passwordeval");
    ps.env_name = tool_cfg_get(&f->cfg, "pop3", "password_env");
    ps.netrc = tool_cfg_get(&f->cfg, "pop3", "netrc");
    ps.host = f->host;
    ps.user = f->user;
    if (tool_oauth_wanted(&f->cfg, "pop3")) {
        if ((ex = tool_oauth_prepare(&f->oauth, &f->cfg, "pop3", f->user, f->timeout_ms,
                                     f->cfgpath_flag)) != 0 ||
            (ex = tool_oauth_prefetch(&f->oauth)) != 0)
            return ex;
    } else if (!(f->pass = tool_password(&ps, err, sizeof err))) {
        tool_err("%s", err);
        return TOOL_EX_CONFIG;
    }
    if (tool_connect(&f->conn, f->host, f->port, f->tls, f->cafile, f->timeout_ms, f->trace,
                     err, sizeof err, &ex) != 0) {
        tool_err("%s", err);
        return ex;
    }
    postie_pop3_init(&f->pop, &f->conn.tr);
    postie_pop3_set_timeout(&f->pop, f->timeout_ms);
    /* the whole of each command's reply within the timeout, plus 1 s per
     * KiB it brings: a server trickling bytes cannot hold the tool (issue 17) */
    postie_pop3_set_deadline(&f->pop, f->timeout_ms, 1024, postie_posix_clock_ms, NULL);
    pol = tool_tls_policy(f->tls, &allow_plain);
    if (postie_pop3_set_tls(&f->pop, pol, pol == POSTIE_TLS_REQUIRED ? f->host : NULL) !=
        POSTIE_OK) {
        tool_err("'%s' cannot be checked against a certificate (not a host name)", f->host);
        return TOOL_EX_USAGE;
    }
    postie_pop3_allow_plaintext_credentials(&f->pop, allow_plain);
    postie_pop3_set_random(&f->pop, postie_posix_random, NULL);
    postie_pop3_set_pipelining(&f->pop, f->pipelining);
    f->pop_alive = 1;
    st = postie_pop3_open(&f->pop);
    if (st != POSTIE_OK) {
        f->pop_alive = 0;
        return server_fail(f, st, "greeting");
    }
    /* The strongest login the server offers: SASL first (SCRAM-SHA-256, then
     * CRAM-MD5; PLAIN/LOGIN only over TLS or with --tls off), else APOP or
     * USER/PASS (the library's AUTO mode, under the same TLS rule). */
    st = POSTIE_ERR_UNSUPPORTED;
    if (f->oauth.active) {
        /* OAUTHBEARER or XOAUTH2, whichever the server offers (docs/providers.md) */
        if ((ex = tool_oauth_login(&f->oauth, pop3_token_auth, f, &st)) > 0)
            return ex;
        if (st == POSTIE_ERR_UNSUPPORTED) {
            FERR(f, "%s offers neither OAUTHBEARER nor XOAUTH2: it takes no OAuth 2.0 token",
                 f->host);
            return TOOL_EX_UNAVAILABLE;
        }
    } else if (postie_pop3_caps(&f->pop) & POSTIE_POP3_CAP_SASL)
        st = postie_pop3_auth(&f->pop, POSTIE_SASL_PASSWORD_MECHS, f->user, f->pass);
    if (!f->oauth.active &&
        (st == POSTIE_ERR_UNSUPPORTED || st == POSTIE_ERR_INSECURE || st == POSTIE_ERR_PARAM))
        st = postie_pop3_login(&f->pop, f->user, f->pass, POSTIE_POP3_LOGIN_AUTO);
    if (st != POSTIE_OK) {
        if (st != POSTIE_ERR_AUTH && st != POSTIE_ERR_TRANSIENT && st != POSTIE_ERR_PARAM)
            f->pop_alive = 0;
        if (st == POSTIE_ERR_AUTH)
            FERR(f, "authentication failed for %s on %s (server said: %s)", f->user, f->host,
                 postie_pop3_reply_text(&f->pop));
        else
            server_fail(f, st, "login");
        return tool_exit_for_status(st);
    }
    return 0;
}

/* Reads the reply of a listing queued by list_messages (want: UIDL or
 * LIST) and hands its entries to uidl_cb or list_cb, as uidl_all and
 * list_all do. */
static postie_status queued_listing(fetch *f, postie_pop3_cmd_kind want)
{
    postie_pop3_cmd_kind kind = POSTIE_POP3_CMD_NONE;
    postie_status st = postie_pop3_next(&f->pop, &kind, NULL, NULL);
    if (st == POSTIE_OK && kind != want)
        st = POSTIE_ERR_INTERNAL; /* only the two listings are queued here */
    while (st == POSTIE_OK) {
        unsigned long msg, octets;
        char uid[POSTIE_POP3_UID_MAX];
        if (want == POSTIE_POP3_CMD_UIDL) {
            st = postie_pop3_uidl_next(&f->pop, &msg, uid, sizeof uid);
            if (st == POSTIE_OK && uidl_cb(f, msg, uid) != 0)
                return postie_pop3_drain(&f->pop);
        } else {
            st = postie_pop3_list_next(&f->pop, &msg, &octets);
            if (st == POSTIE_OK)
                (void)list_cb(f, msg, octets);
        }
    }
    return st == POSTIE_DONE ? POSTIE_OK : st;
}

/* The maildrop's listing: UIDL (every message and its UID), then LIST
 * (sizes). With PIPELINING both go out in one flight and STAT is not sent:
 * the two listings say all that STAT would (an empty maildrop lists
 * nothing), so the listing costs one round trip. Without it, STAT first,
 * so that an empty maildrop costs one round trip instead of two. Memory
 * follows what the server lists. 0 or an exit code. */
static int list_messages(fetch *f)
{
    unsigned long n, i;
    const int flight = postie_pop3_pipelining(&f->pop);
    postie_status st;

    if (flight) {
        st = postie_pop3_queue_uidl(&f->pop);
        if (st == POSTIE_OK)
            st = postie_pop3_queue_list(&f->pop);
        if (st == POSTIE_OK)
            st = postie_pop3_flush(&f->pop);
        if (st == POSTIE_OK)
            st = queued_listing(f, POSTIE_POP3_CMD_UIDL);
    } else {
        st = postie_pop3_stat(&f->pop, &n, NULL);
        if (st != POSTIE_OK)
            return server_fail(f, st, "STAT");
        if (n == 0)
            return 0;
        st = postie_pop3_uidl_all(&f->pop, uidl_cb, f);
    }
    if (st == POSTIE_ERR_SERVER) {
        tool_err("the server does not support UIDL, which postie-fetch needs to "
                 "deliver each message exactly once");
        return TOOL_EX_UNAVAILABLE;
    }
    if (st == POSTIE_OK && f->stop) {
        tool_err("out of memory");
        return TOOL_EX_OSERR;
    }
    if (st != POSTIE_OK)
        return server_fail(f, st, "UIDL");
    /* in number order (find_msg), each number once */
    for (i = 1; i < f->count && f->msgs[i - 1].no < f->msgs[i].no; i++)
        ;
    if (i < f->count)
        qsort(f->msgs, f->count, sizeof *f->msgs, cmp_no);
    for (i = 1; i < f->count; i++)
        if (f->msgs[i - 1].no == f->msgs[i].no) {
            FERR(f, "the server listed message %lu twice in UIDL", f->msgs[i].no);
            return TOOL_EX_PROTOCOL;
        }
    st = flight ? queued_listing(f, POSTIE_POP3_CMD_LIST)
                : postie_pop3_list_all(&f->pop, list_cb, f);
    if (st != POSTIE_OK)
        return server_fail(f, st, "LIST");
    return 0;
}

static int cmp_uid_only(const void *a, const void *b)
{
    const msginfo *const *x = a, *const *y = b;
    return strcmp((*x)->uid, (*y)->uid);
}

/* Marks the messages whose UID is not unique and forgets what the state
 * says of those UIDs. byuid gets the messages sorted by UID. 0 or an exit
 * code. */
static int index_messages(fetch *f, msginfo ***byuid)
{
    unsigned long i, j;
    msginfo **u;
    *byuid = NULL;
    u = malloc((f->count ? f->count : 1) * sizeof *u);
    if (!u) {
        FERR(f, "out of memory");
        return TOOL_EX_OSERR;
    }
    for (i = 0; i < f->count; i++)
        u[i] = &f->msgs[i];
    qsort(u, f->count, sizeof *u, cmp_uidp);
    /* RFC 1939 wants UIDs unique; a server that breaks that gets its
     * duplicates handled by message number, within one session only */
    for (i = 0; i < f->count; i = j) {
        for (j = i + 1; j < f->count && strcmp(u[i]->uid, u[j]->uid) == 0; j++)
            ;
        if (j - i > 1) {
            unsigned long k;
            for (k = i; k < j; k++)
                u[k]->dup = 1;
            f->ndup += j - i;
            FERR(f, "warning: the server gives %lu messages the same UID '%s' (RFC 1939 "
                 "forbids it): they are fetched by number in every run and may be "
                 "delivered more than once, and never deleted by what an earlier run "
                 "recorded", j - i, u[i]->uid);
            tool_state_remove(&f->state, u[i]->uid);
        }
    }
    *byuid = u;
    return 0;
}

/* plan: forget state entries of messages gone from the server, then choose
 * what to fetch (f->wanted) and, with --delete, what an earlier run already
 * delivered and only needs deleting (f->dq). 0 or an exit code. */
static int plan(fetch *f)
{
    char err[1024];
    msginfo **byuid = NULL, key, *kp = &key;
    unsigned long i, held = 0;
    size_t k = 0;
    int changed = 0, rc;

    if ((rc = list_messages(f)) != 0 || (rc = index_messages(f, &byuid)) != 0) {
        free(byuid);
        return rc;
    }
    while (k < f->state.n) {
        key.uid = f->state.e[k].uid;
        if (!bsearch(&kp, byuid, f->count, sizeof *byuid, cmp_uid_only)) {
            tool_state_remove(&f->state, f->state.e[k].uid);
            changed = 1;
            continue;
        }
        k++;
    }
    free(byuid);
    if (changed && tool_state_save(&f->state, err, sizeof err) != 0) {
        FERR(f, "%s", err);
        return TOOL_EX_IOERR;
    }
    f->wanted = calloc(f->count ? f->count : 1, sizeof *f->wanted);
    f->dq = calloc(f->count ? f->count : 1, sizeof *f->dq);
    if (!f->wanted || !f->dq) {
        FERR(f, "out of memory");
        return TOOL_EX_OSERR;
    }
    for (i = 0; i < f->count; i++) {
        msginfo *mi = &f->msgs[i];
        tool_state_entry *e = mi->dup ? NULL : tool_state_find(&f->state, mi->uid);
        if (e && e->kind == 'P') {
            held++; /* undecided (see recover): neither fetched nor deleted */
            continue;
        }
        if (e && (f->new_only || f->delete_)) {
            if (f->delete_)
                dele(f, mi); /* delivered by an earlier run */
            continue;
        }
        if (f->max_size && mi->size > f->max_size) {
            tool_info("message %lu (%lu bytes) skipped: larger than --max-size", mi->no,
                      mi->size);
            continue;
        }
        f->wanted[f->nwanted++] = mi;
        f->total_msgs++;
        f->total_bytes += mi->size;
    }
    tool_info("%lu message%s on the server, %lu to fetch%s", f->count,
              f->count == 1 ? "" : "s", f->total_msgs, held ? " (some held, see above)" : "");
    if (f->nwanted > 0 || f->dq_tail > 0) {
        const char *what = f->nwanted && f->delete_ ? "RETR and DELE"
                           : f->nwanted             ? "RETR"
                                                    : "DELE";
        if (postie_pop3_pipelining(&f->pop))
            tool_info("pipelining %s", what);
        else
            tool_info("%s one command at a time (no pipelining)", what);
    }
    return 0;
}

/* commit: QUIT makes the server's deletions happen; the state then forgets
 * the deleted messages. rc is the run's exit code so far; returns the final
 * one. */
static int commit(fetch *f, int rc)
{
    char err[1024];
    postie_status st;
    int committed = 0;
    size_t k;

    if (f->ndele_ok > 0)
        tool_test_kill_point("deleted");
    if (f->pop_alive) {
        st = postie_pop3_quit(&f->pop, &committed);
        f->pop_alive = 0;
        if (committed && f->ndele_ok > 0) {
            for (k = 0; k < f->ndeleted; k++)
                tool_state_remove(&f->state, f->deleted[k]);
            if (f->ndeleted > 0 && tool_state_save(&f->state, err, sizeof err) != 0)
                tool_err("%s", err); /* harmless: the entries are pruned next time */
        } else if (!committed && f->ndele_ok > 0 && rc == 0) {
            if (st == POSTIE_ERR_SERVER)
                rc = server_fail(f, st, "QUIT (the server did not delete the messages)");
            else
                rc = server_fail(f, st,
                                 "QUIT (no answer: the messages may or may not have been "
                                 "deleted; the next run deletes what is left)");
        }
    }
    if (tool_verbosity > 0 || (f->progress && rc == 0)) {
        char b[32];
        tool_fmt_bytes((double)f->delivered_bytes, b, sizeof b);
        fprintf(stderr, "%s: %lu message%s (%s) delivered%s%s\n", tool_progname, f->delivered,
                f->delivered == 1 ? "" : "s", b,
                committed && f->ndele_ok ? ", deleted from the server" : "",
                rc ? " before the error above" : "");
    }
    return rc;
}

static void cleanup(fetch *f)
{
    unsigned long i;
    if (f->pop_alive)
        postie_pop3_close(&f->pop);
    if (f->pass) {
        memset(f->pass, 0, strlen(f->pass));
        free(f->pass);
    }
    for (i = 0; i < f->count; i++)
        free(f->msgs[i].uid);
    free(f->msgs);
    free(f->wanted);
    free(f->dq);
    for (i = 0; i < f->ndeleted; i++)
        free(f->deleted[i]);
    free(f->deleted);
    if (f->dest.path)
        tool_dest_close(&f->dest);
    if (f->state.path)
        tool_state_close(&f->state);
    free(f->statepath);
    free(f->cfgpath);
    tool_oauth_free(&f->oauth);
    tool_cfg_free(&f->cfg);
}

int main(int argc, char **argv)
{
    fetch f;
    fetch_opts o;
    int rc;

    tool_progname = "postie-fetch";
    memset(&f, 0, sizeof f);
    f.cur = &f.batches[0];
    if ((rc = parse_args(argc, argv, &o)) >= 0)
        return rc;
    f.cfgpath_flag = o.config;
    if (o.authorize)
        rc = authorize(&f, &o);
    else if ((rc = resolve_account(&f, &o)) == 0 && (rc = recover(&f)) == 0 &&
        (rc = log_in(&f)) == 0 && (rc = plan(&f)) == 0) {
        f.progress = !f.quiet && isatty(2) && !f.trace && f.total_msgs > 0;
        f.t0 = now_s();
        rc = run_session(&f);
        if (f.progress && rc == 0)
            progress_draw(&f, 1);
        rc = commit(&f, rc);
    }
    cleanup(&f);
    return rc;
}
