/*
 * pop3_interop.c - Postie's POP3 client against a real Dovecot.
 *
 * Uses only the public API (postie/pop3.h, postie/posix_tcp.h). Messages are
 * put in place with `teststack.sh deliver` and every byte the client hands
 * back is compared with the Maildir file the server holds: Maildir files have
 * LF line ends and POP3 serves them with CRLF, so the expected bytes are the
 * file with each LF turned into CRLF. The stack's Dovecot uses the Maildir
 * file name as the UIDL, which ties each message number to its file.
 *
 * Settings come from the environment (tests/interop/run.sh sources the
 * stack's env file); an argument NAME=VALUE overrides one:
 *   STACK_SCRIPT STACK_DIR STACK_HOST STACK_HOST6 POP3_PORT
 *   USER1 PASS1 MAILDIR1 USER2 PASS2 MAILDIR2
 *
 * Prints "ok - name" / "not ok - name" per check, "# ..." diagnostics, and
 * "N passed, N failed" last; exits 1 when a check failed, 2 on a set-up error.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "interop_util.h"

#include "postie/pop3.h"
#include "postie/posix_tcp.h"

/* ---- settings and reporting ---------------------------------------------- */

static const char *cfg_script, *cfg_dir, *cfg_host, *cfg_host6, *cfg_port;
static const char *cfg_user1, *cfg_pass1, *cfg_maildir1;
static const char *cfg_user2, *cfg_pass2, *cfg_maildir2;
static char workdir[4096]; /* message files made by this run */
static int skipped;

static void skip(const char *name, const char *why)
{
    printf("ok - %s # SKIP %s\n", name, why);
    skipped++;
}

static void setup_fail(const char *fmt, ...) PRINTF_LIKE(1, 2);
static void setup_fail(const char *fmt, ...)
{
    va_list ap;
    fputs("# set-up error: ", stdout);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    printf("%d passed, %d failed\n", passed, failed + 1);
    exit(2);
}

static const char *st_name(postie_status st)
{
    return postie_status_name(st);
}

/* ---- files and mailboxes -------------------------------------------------- */

static int read_file(const char *path, buf *out)
{
    char chunk[65536];
    size_t n;
    FILE *f = fopen(path, "rb");
    out->len = 0;
    if (f == NULL) {
        return -1;
    }
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        buf_put(out, chunk, n);
    }
    fclose(f);
    return 0;
}

/* What POP3 serves for a Maildir file: every LF preceded by CR. */
static void served_form(const buf *file, buf *out)
{
    size_t i, start = 0;
    out->len = 0;
    for (i = 0; i < file->len; i++) {
        if (file->p[i] == '\n' && (i == 0 || file->p[i - 1] != '\r')) {
            buf_put(out, file->p + start, i - start);
            buf_put(out, "\r\n", 2);
            start = i + 1;
        }
    }
    buf_put(out, file->p + start, file->len - start);
    buf_put(out, "", 1); /* NUL-terminated for strstr; not counted */
    out->len--;
}

static void write_file(const char *path, const buf *b)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(b->p, 1, b->len, f) != b->len || fclose(f) != 0) {
        setup_fail("cannot write %s: %s", path, strerror(errno));
    }
}

/* Runs `teststack.sh deliver DIR user files...`; paths[i] gets the Maildir
 * file of files[i] (its basename is the message's UIDL). */
static void deliver(const char *user, char **files, size_t n, char (*paths)[1024])
{
    buf cmd = {0};
    char line[2048];
    size_t i, got = 0;
    FILE *p;

    buf_str(&cmd, "'");
    buf_str(&cmd, cfg_script);
    buf_str(&cmd, "' deliver '");
    buf_str(&cmd, cfg_dir);
    buf_str(&cmd, "' '");
    buf_str(&cmd, user);
    buf_str(&cmd, "'");
    for (i = 0; i < n; i++) {
        buf_str(&cmd, " '");
        buf_str(&cmd, files[i]);
        buf_str(&cmd, "'");
    }
    buf_put(&cmd, "", 1);
    p = popen(cmd.p, "r");
    if (p == NULL) {
        setup_fail("popen: %s", strerror(errno));
    }
    while (fgets(line, sizeof line, p) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        if (strlen(line) >= sizeof paths[0]) {
            setup_fail("Maildir path too long: %s", line);
        }
        if (got < n) {
            memcpy(paths[got], line, strlen(line) + 1);
        }
        got++;
    }
    if (pclose(p) != 0 || got != n) {
        setup_fail("teststack.sh deliver failed (%zu of %zu files)", got, n);
    }
    buf_free(&cmd);
}

static void reset_box(const char *user)
{
    buf cmd = {0};
    buf_str(&cmd, "'");
    buf_str(&cmd, cfg_script);
    buf_str(&cmd, "' reset '");
    buf_str(&cmd, cfg_dir);
    buf_str(&cmd, "' '");
    buf_str(&cmd, user);
    buf_str(&cmd, "'");
    buf_put(&cmd, "", 1);
    if (system(cmd.p) != 0) {
        setup_fail("teststack.sh reset %s failed", user);
    }
    buf_free(&cmd);
}

/* The file in maildir whose name (before any ":2,flags") is uid, in new/ or
 * cur/ (Dovecot moves a message to cur/ once it has been seen). */
static int find_by_uid(const char *maildir, const char *uid, char *path, size_t cap)
{
    static const char *const sub[] = {"new", "cur"};
    size_t ul = strlen(uid);
    int i;
    for (i = 0; i < 2; i++) {
        char dirpath[2048];
        DIR *d;
        struct dirent *e;
        snprintf(dirpath, sizeof dirpath, "%s/%s", maildir, sub[i]);
        d = opendir(dirpath);
        if (d == NULL) {
            continue;
        }
        while ((e = readdir(d)) != NULL) {
            if (strncmp(e->d_name, uid, ul) == 0 &&
                (e->d_name[ul] == '\0' || e->d_name[ul] == ':')) {
                snprintf(path, cap, "%s/%s", dirpath, e->d_name);
                closedir(d);
                return 0;
            }
        }
        closedir(d);
    }
    return -1;
}

static int uid_exists(const char *maildir, const char *uid)
{
    char path[4096];
    return find_by_uid(maildir, uid, path, sizeof path) == 0;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* ---- message makers ------------------------------------------------------- */

static unsigned long rng_state = 12345;
static unsigned long rng(void)
{
    rng_state = rng_state * 1103515245UL + 12345UL;
    return (rng_state >> 8) & 0xffffffUL;
}

static void add_headers(buf *b, const char *to, const char *subject, const char *id)
{
    buf_str(b, "From: Postie Interop <interop@postie.test>\n");
    buf_str(b, "To: ");
    buf_str(b, to);
    buf_str(b, "\nSubject: ");
    buf_str(b, subject);
    buf_str(b, "\nMessage-ID: <");
    buf_str(b, id);
    buf_str(b, "@postie.test>\nDate: Sun, 1 Nov 2026 10:00:00 +0000\n\n");
}

/* A line of printable text of len characters (no leading '.'). */
static void add_text_line(buf *b, size_t len)
{
    static const char alphabet[] =
        "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789 .,;:-_!?()<>";
    size_t i;
    char line[1200];
    if (len > sizeof line - 1) {
        len = sizeof line - 1;
    }
    for (i = 0; i < len; i++) {
        line[i] = alphabet[rng() % (sizeof alphabet - 1)];
    }
    if (len > 0 && line[0] == '.') {
        line[0] = 'x';
    }
    line[len] = '\n';
    buf_put(b, line, len + 1);
}

static char *make_file(const char *name, const buf *content)
{
    char *path = malloc(strlen(workdir) + strlen(name) + 2);
    if (path == NULL) {
        setup_fail("out of memory");
    }
    sprintf(path, "%s/%s", workdir, name);
    write_file(path, content);
    return path;
}

/* ---- client helpers -------------------------------------------------------- */

typedef struct session {
    postie_tcp tcp;
    postie_transport tr;
    postie_pop3 p;
} session;

/* Connects to host and reads the greeting (and CAPA). */
static postie_status connect_open(session *s, const char *host)
{
    postie_status st = postie_tcp_connect(&s->tcp, host, cfg_port, 10000);
    if (st != POSTIE_OK) {
        diag("connect %s port %s: %s (errno %d)", host, cfg_port, st_name(st), s->tcp.last_errno);
        return st;
    }
    postie_tcp_transport(&s->tcp, &s->tr);
    st = postie_pop3_init(&s->p, &s->tr);
    if (st == POSTIE_OK) {
        /* these checks run over plain TCP on loopback (pop3_tls_interop.c
         * covers TLS): opt out of the default policy explicitly */
        st = postie_pop3_set_tls(&s->p, POSTIE_TLS_OFF, NULL);
        postie_pop3_allow_plaintext_credentials(&s->p, 1);
    }
    if (st == POSTIE_OK) {
        st = postie_pop3_open(&s->p);
    }
    if (st != POSTIE_OK) {
        diag("open: %s (%s)", st_name(st), postie_pop3_reply_text(&s->p));
        postie_pop3_close(&s->p);
    }
    return st;
}

/* connect_open + login; diagnostics on failure. */
static postie_status start(session *s, const char *host, const char *user, const char *pass,
                           postie_pop3_login_mode mode)
{
    postie_status st = connect_open(s, host);
    if (st != POSTIE_OK) {
        return st;
    }
    st = postie_pop3_login(&s->p, user, pass, mode);
    if (st != POSTIE_OK) {
        diag("login %s: %s (%s)", user, st_name(st), postie_pop3_reply_text(&s->p));
        postie_pop3_close(&s->p);
    }
    return st;
}

static void finish(session *s)
{
    int committed = 0;
    postie_status st = postie_pop3_quit(&s->p, &committed);
    if (st != POSTIE_OK) {
        diag("quit: %s", st_name(st));
    }
}

/* Reads the message in progress with reads of at most bufsize bytes and
 * compares it with want. Returns 1 when equal; else 0 with a diagnostic. */
static int read_compare(postie_pop3 *p, const buf *want, size_t bufsize, const char *what)
{
    char *b = malloc(bufsize);
    size_t off = 0, n = 0;
    postie_status st;
    int ok = 1;
    if (b == NULL) {
        setup_fail("out of memory");
    }
    while ((st = postie_pop3_read(p, b, bufsize, &n)) == POSTIE_OK) {
        if (n == 0 || n > bufsize) {
            diag("%s: read returned OK with n=%zu (cap %zu)", what, n, bufsize);
            ok = 0;
            break;
        }
        if (ok && (off + n > want->len || memcmp(b, want->p + off, n) != 0)) {
            size_t i = 0;
            while (i < n && off + i < want->len && b[i] == want->p[off + i]) {
                i++;
            }
            diag("%s: differs at byte %zu of %zu", what, off + i, want->len);
            ok = 0; /* keep reading so the session stays in step */
        }
        off += n;
    }
    if (st != POSTIE_DONE) {
        diag("%s: read ended with %s after %zu bytes", what, st_name(st), off);
        ok = 0;
    } else if (n != 0) {
        diag("%s: DONE with n=%zu", what, n);
        ok = 0;
    }
    if (ok && off != want->len) {
        diag("%s: got %zu bytes, want %zu", what, off, want->len);
        ok = 0;
    }
    free(b);
    return ok;
}

/* RETR msg and compare with the served form of the Maildir file with that UIDL. */
static int retr_compare(session *s, unsigned long msg, const char *maildir, size_t bufsize,
                        unsigned long *announced)
{
    char uid[POSTIE_POP3_UID_MAX], path[4096], what[128];
    buf file = {0}, want = {0};
    postie_status st;
    int ok;

    snprintf(what, sizeof what, "RETR %lu (buffer %zu)", msg, bufsize);
    st = postie_pop3_uidl(&s->p, msg, uid, sizeof uid);
    if (st != POSTIE_OK) {
        diag("%s: UIDL: %s", what, st_name(st));
        return 0;
    }
    if (find_by_uid(maildir, uid, path, sizeof path) != 0 || read_file(path, &file) != 0) {
        diag("%s: no Maildir file for UIDL %s", what, uid);
        return 0;
    }
    served_form(&file, &want);
    st = postie_pop3_retr_begin(&s->p, msg, announced);
    if (st != POSTIE_OK) {
        diag("%s: %s (%s)", what, st_name(st), postie_pop3_reply_text(&s->p));
        ok = 0;
    } else {
        ok = read_compare(&s->p, &want, bufsize, what);
    }
    buf_free(&file);
    buf_free(&want);
    return ok;
}

/* Listing collectors for the callback forms. */
typedef struct listing {
    unsigned long n;
    unsigned long msg[64];
    unsigned long octets[64];
    char uid[64][POSTIE_POP3_UID_MAX];
    int in_order;
} listing;

static int on_list(void *user, unsigned long msg, unsigned long octets)
{
    listing *l = user;
    if (l->n < 64) {
        l->msg[l->n] = msg;
        l->octets[l->n] = octets;
    }
    l->n++;
    return 0;
}

static int on_uidl(void *user, unsigned long msg, const char *uid)
{
    listing *l = user;
    if (l->n < 64) {
        l->msg[l->n] = msg;
        snprintf(l->uid[l->n], sizeof l->uid[l->n], "%s", uid);
    }
    l->n++;
    return 0;
}

static int on_list_stop_after_one(void *user, unsigned long msg, unsigned long octets)
{
    (void)msg;
    (void)octets;
    ((listing *)user)->n++;
    return 1;
}

/* ---- the checks --------------------------------------------------------- */

/* Three small messages in mailbox 1: plain, dot lines, a longer body. */
#define SMALL 3
static char small_path[SMALL][1024];  /* Maildir files */
static buf small_served[SMALL];        /* what POP3 must hand back */

static void prepare_small(void)
{
    buf m = {0};
    char *files[SMALL];
    int i;

    reset_box(cfg_user1);
    add_headers(&m, cfg_user1, "plain", "plain.1");
    buf_str(&m, "Hello Alice,\n\nthis is a short plain message.\n\n-- \nPostie\n");
    files[0] = make_file("small-plain.eml", &m);

    m.len = 0;
    add_headers(&m, cfg_user1, "dot lines", "dots.1");
    buf_str(&m, ".a line that starts with a dot\n"
                "..two dots\n"
                ".\n"
                "the line above is a single dot\n"
                ". dot and space\n"
                "...\n"
                "middle.\n"
                ".\n"
                ".\n"
                "..\n"
                ".end\n"
                ".\n");
    files[1] = make_file("small-dots.eml", &m);

    m.len = 0;
    add_headers(&m, cfg_user1, "twenty lines", "lines.1");
    for (i = 1; i <= 20; i++) {
        char line[64];
        snprintf(line, sizeof line, "body line %02d of 20\n", i);
        buf_str(&m, line);
    }
    files[2] = make_file("small-lines.eml", &m);

    deliver(cfg_user1, files, SMALL, small_path);
    for (i = 0; i < SMALL; i++) {
        buf f = {0};
        if (read_file(small_path[i], &f) != 0) {
            setup_fail("cannot read %s", small_path[i]);
        }
        served_form(&f, &small_served[i]);
        buf_free(&f);
        free(files[i]);
    }
    buf_free(&m);
}

/* Index in small_path of the file named uid, or -1. */
static int small_index(const char *uid)
{
    int i;
    for (i = 0; i < SMALL; i++) {
        if (strcmp(base_name(small_path[i]), uid) == 0) {
            return i;
        }
    }
    return -1;
}

static void test_greeting_and_logins(void)
{
    session s;
    postie_status st;
    unsigned caps;
    const char *ts;

    st = connect_open(&s, cfg_host);
    if (!check(st == POSTIE_OK, "connect and greeting over IPv4 (%s)", cfg_host)) {
        return;
    }
    caps = postie_pop3_caps(&s.p);
    ts = postie_pop3_timestamp(&s.p);
    check(caps & POSTIE_POP3_CAP_CAPA, "server answered CAPA");
    check((caps & (POSTIE_POP3_CAP_TOP | POSTIE_POP3_CAP_UIDL | POSTIE_POP3_CAP_USER)) ==
              (POSTIE_POP3_CAP_TOP | POSTIE_POP3_CAP_UIDL | POSTIE_POP3_CAP_USER),
          "CAPA lists TOP, UIDL and USER (caps 0x%x)", caps);
    check((caps & POSTIE_POP3_CAP_APOP) && ts[0] == '<' && ts[strlen(ts) - 1] == '>' &&
              strchr(ts, '@') != NULL,
          "greeting carries an APOP timestamp (%s)", ts);
    check((caps & POSTIE_POP3_CAP_SASL) && strstr(postie_pop3_sasl_mechs(&s.p), "PLAIN") != NULL,
          "CAPA SASL mechanisms learnt (%s)", postie_pop3_sasl_mechs(&s.p));
    check(postie_pop3_get_state(&s.p) == POSTIE_POP3_STATE_AUTHORIZATION,
          "state is AUTHORIZATION after open");
    /* Values with CR/LF are refused before anything is sent: the same session
     * then still logs in. */
    st = postie_pop3_login(&s.p, "alice@postie.test\r\nDELE 1", cfg_pass1, POSTIE_POP3_LOGIN_USER);
    check(st == POSTIE_ERR_PARAM, "user with CRLF is POSTIE_ERR_PARAM (%s)", st_name(st));
    st = postie_pop3_login(&s.p, cfg_user1, "x\nPASS y", POSTIE_POP3_LOGIN_APOP);
    check(st == POSTIE_ERR_PARAM, "password with LF is POSTIE_ERR_PARAM (%s)", st_name(st));
    st = postie_pop3_login(&s.p, cfg_user1, cfg_pass1, POSTIE_POP3_LOGIN_APOP);
    check(st == POSTIE_OK, "APOP login (%s: %s)", st_name(st), postie_pop3_reply_text(&s.p));
    check(postie_pop3_get_state(&s.p) == POSTIE_POP3_STATE_TRANSACTION,
          "state is TRANSACTION after login");
    if (st == POSTIE_OK) {
        finish(&s);
    } else {
        postie_pop3_close(&s.p);
    }

    /* Greeting only, no CAPA (an RFC 1939 exchange); CAPA asked for later. */
    st = postie_tcp_connect(&s.tcp, cfg_host, cfg_port, 10000);
    if (st == POSTIE_OK) {
        postie_tcp_transport(&s.tcp, &s.tr);
        st = postie_pop3_init(&s.p, &s.tr);
    }
    if (st == POSTIE_OK) {
        st = postie_pop3_set_tls(&s.p, POSTIE_TLS_OFF, NULL);
        postie_pop3_allow_plaintext_credentials(&s.p, 1);
    }
    if (st == POSTIE_OK) {
        st = postie_pop3_open_ex(&s.p, POSTIE_POP3_OPEN_NO_CAPA);
        check(st == POSTIE_OK && postie_pop3_caps(&s.p) == POSTIE_POP3_CAP_APOP,
              "open without CAPA keeps only the APOP bit (%s, caps 0x%x)", st_name(st),
              postie_pop3_caps(&s.p));
        st = postie_pop3_capa(&s.p);
        check(st == POSTIE_OK && (postie_pop3_caps(&s.p) & POSTIE_POP3_CAP_CAPA) &&
                  (postie_pop3_caps(&s.p) & POSTIE_POP3_CAP_APOP),
              "CAPA afterwards adds the capabilities and keeps APOP (%s, caps 0x%x)", st_name(st),
              postie_pop3_caps(&s.p));
        st = postie_pop3_login(&s.p, cfg_user1, cfg_pass1, POSTIE_POP3_LOGIN_APOP);
        check(st == POSTIE_OK, "APOP login after open without CAPA (%s)", st_name(st));
        if (st == POSTIE_OK) {
            finish(&s);
        }
        postie_pop3_close(&s.p);
    } else {
        check(0, "connect for the no-CAPA open (%s)", st_name(st));
    }

    st = start(&s, cfg_host, cfg_user1, cfg_pass1, POSTIE_POP3_LOGIN_USER);
    check(st == POSTIE_OK, "USER/PASS login (%s)", st_name(st));
    if (st == POSTIE_OK) {
        finish(&s);
    }
    st = start(&s, cfg_host, cfg_user2, cfg_pass2, POSTIE_POP3_LOGIN_AUTO);
    check(st == POSTIE_OK, "AUTO login (%s)", st_name(st));
    if (st == POSTIE_OK) {
        finish(&s);
    }

    /* Wrong credentials, each mode. */
    {
        static const struct {
            postie_pop3_login_mode mode;
            const char *name;
        } modes[] = {{POSTIE_POP3_LOGIN_USER, "USER/PASS"},
                     {POSTIE_POP3_LOGIN_APOP, "APOP"},
                     {POSTIE_POP3_LOGIN_AUTO, "AUTO"}};
        size_t i;
        for (i = 0; i < sizeof modes / sizeof modes[0]; i++) {
            if (connect_open(&s, cfg_host) != POSTIE_OK) {
                check(0, "wrong password with %s: could not connect", modes[i].name);
                continue;
            }
            st = postie_pop3_login(&s.p, cfg_user1, "not-the-password", modes[i].mode);
            check(st == POSTIE_ERR_AUTH, "wrong password with %s is POSTIE_ERR_AUTH (%s: %s)",
                  modes[i].name, st_name(st), postie_pop3_reply_text(&s.p));
            /* The session stays in AUTHORIZATION: the right password works. */
            st = postie_pop3_login(&s.p, cfg_user1, cfg_pass1, modes[i].mode);
            check(st == POSTIE_OK, "then the right password with %s on the same session (%s: %s)",
                  modes[i].name, st_name(st), postie_pop3_reply_text(&s.p));
            if (st == POSTIE_OK) {
                finish(&s);
            }
            postie_pop3_close(&s.p);
        }
        if (connect_open(&s, cfg_host) == POSTIE_OK) {
            st = postie_pop3_login(&s.p, "nobody@postie.test", "whatever", POSTIE_POP3_LOGIN_USER);
            check(st == POSTIE_ERR_AUTH, "unknown user is POSTIE_ERR_AUTH (%s)", st_name(st));
            postie_pop3_close(&s.p);
        } else {
            check(0, "unknown user: could not connect");
        }
    }
}

static void test_commands(void)
{
    session s;
    postie_status st;
    unsigned long count = 0, octets = 0, total = 0, size = 0, msg, i;
    unsigned long sizes[SMALL + 1];
    char uid[POSTIE_POP3_UID_MAX];
    int idx[SMALL + 1]; /* message number -> index in small_* */
    int ok, seen[SMALL] = {0};
    listing l;

    for (i = 0; i < SMALL; i++) {
        total += small_served[i].len;
    }
    if (!check(start(&s, cfg_host, cfg_user1, cfg_pass1, POSTIE_POP3_LOGIN_APOP) == POSTIE_OK,
               "log in for the command checks")) {
        return;
    }
    st = postie_pop3_stat(&s.p, &count, &octets);
    check(st == POSTIE_OK && count == SMALL && octets == total,
          "STAT: %lu messages, %lu octets (want %d, %lu)", count, octets, SMALL, total);

    /* UIDL n: each UID is the name of one delivered file. */
    ok = 1;
    for (msg = 1; msg <= SMALL; msg++) {
        st = postie_pop3_uidl(&s.p, msg, uid, sizeof uid);
        idx[msg] = st == POSTIE_OK ? small_index(uid) : -1;
        if (idx[msg] < 0 || seen[idx[msg]]++) {
            diag("UIDL %lu: %s uid '%s'", msg, st_name(st), uid);
            ok = 0;
        }
    }
    if (!check(ok, "UIDL n gives each message's Maildir file name, each once")) {
        postie_pop3_close(&s.p);
        return;
    }
    {
        char small_uid[8];
        st = postie_pop3_uidl(&s.p, 1, small_uid, sizeof small_uid);
        check(st == POSTIE_ERR_BUFFER, "UIDL into a too small buffer is POSTIE_ERR_BUFFER (%s)",
              st_name(st));
        check(postie_pop3_noop(&s.p) == POSTIE_OK, "session usable after POSTIE_ERR_BUFFER");
    }

    /* UIDL all, iterator and callback. */
    ok = postie_pop3_uidl_begin(&s.p) == POSTIE_OK;
    for (i = 1; ok && i <= SMALL; i++) {
        st = postie_pop3_uidl_next(&s.p, &msg, uid, sizeof uid);
        if (st != POSTIE_OK || msg != i || small_index(uid) != idx[i]) {
            diag("UIDL all entry %lu: %s msg %lu uid '%s'", i, st_name(st), msg, uid);
            ok = 0;
        }
    }
    if (ok) {
        st = postie_pop3_uidl_next(&s.p, &msg, uid, sizeof uid);
        ok = st == POSTIE_DONE;
    }
    check(ok, "UIDL all (iterator) matches UIDL n and ends with POSTIE_DONE");
    memset(&l, 0, sizeof l);
    st = postie_pop3_uidl_all(&s.p, on_uidl, &l);
    ok = st == POSTIE_OK && l.n == SMALL;
    for (i = 0; ok && i < SMALL; i++) {
        ok = l.msg[i] == i + 1 && small_index(l.uid[i]) == idx[i + 1];
    }
    check(ok, "UIDL all (callback) matches UIDL n (%s, %lu entries)", st_name(st), l.n);

    /* LIST n and LIST all: sizes of the served (CRLF) form. */
    ok = 1;
    for (msg = 1; msg <= SMALL; msg++) {
        st = postie_pop3_list(&s.p, msg, &size);
        sizes[msg] = size;
        if (st != POSTIE_OK || size != small_served[idx[msg]].len) {
            diag("LIST %lu: %s size %lu want %zu", msg, st_name(st), size,
                 small_served[idx[msg]].len);
            ok = 0;
        }
    }
    check(ok, "LIST n gives each message's size with CRLF line ends");
    ok = postie_pop3_list_begin(&s.p) == POSTIE_OK;
    if (ok) {
        st = postie_pop3_noop(&s.p);
        check(st == POSTIE_ERR_BUSY, "NOOP while LIST all is being read is POSTIE_ERR_BUSY (%s)",
              st_name(st));
    }
    for (i = 1; ok && i <= SMALL; i++) {
        st = postie_pop3_list_next(&s.p, &msg, &size);
        if (st != POSTIE_OK || msg != i || size != sizes[i]) {
            diag("LIST all entry %lu: %s msg %lu size %lu", i, st_name(st), msg, size);
            ok = 0;
        }
    }
    if (ok) {
        ok = postie_pop3_list_next(&s.p, &msg, &size) == POSTIE_DONE;
    }
    check(ok, "LIST all (iterator) matches LIST n and ends with POSTIE_DONE");
    memset(&l, 0, sizeof l);
    st = postie_pop3_list_all(&s.p, on_list, &l);
    ok = st == POSTIE_OK && l.n == SMALL;
    for (i = 0; ok && i < SMALL; i++) {
        ok = l.msg[i] == i + 1 && l.octets[i] == sizes[i + 1];
    }
    check(ok, "LIST all (callback) matches LIST n (%s, %lu entries)", st_name(st), l.n);
    memset(&l, 0, sizeof l);
    st = postie_pop3_list_all(&s.p, on_list_stop_after_one, &l);
    check(st == POSTIE_OK && l.n == 1 && postie_pop3_noop(&s.p) == POSTIE_OK,
          "LIST all stopped by the callback drops the rest and the session goes on (%s)",
          st_name(st));

    /* RETR, byte for byte, through several buffer sizes. */
    {
        static const size_t bufsizes[] = {4093, 1, 2, 3, 7, 64, 65536};
        size_t b;
        for (b = 0; b < sizeof bufsizes / sizeof bufsizes[0]; b++) {
            unsigned long announced = 1;
            ok = 1;
            for (msg = 1; msg <= SMALL; msg++) {
                ok &= retr_compare(&s, msg, cfg_maildir1, bufsizes[b], &announced);
                if (announced != 0 && announced != sizes[msg]) {
                    diag("RETR %lu announced %lu octets, LIST said %lu", msg, announced, sizes[msg]);
                    ok = 0;
                }
            }
            check(ok, "RETR of all %d messages byte for byte, read %zu byte(s) at a time", SMALL,
                  bufsizes[b]);
        }
    }
    /* The dot-line message in particular. */
    for (msg = 1; msg <= SMALL; msg++) {
        if (idx[msg] == 1) {
            check(retr_compare(&s, msg, cfg_maildir1, 1, NULL),
                  "lines starting with '.', and lines that are just '.', come back unstuffed");
        }
    }

    /* TOP: the header, the blank line, then n lines of the body. */
    for (msg = 1; msg <= SMALL; msg++) {
        if (idx[msg] == 2) {
            static const unsigned long lines[] = {0, 1, 5, 20, 100};
            const buf *full = &small_served[2];
            const char *body = strstr(full->p, "\r\n\r\n");
            size_t k;
            ok = body != NULL;
            for (k = 0; ok && k < sizeof lines / sizeof lines[0]; k++) {
                buf want = {0};
                const char *end = body + 4;
                unsigned long n;
                char what[64];
                for (n = 0; n < lines[k] && end < full->p + full->len; n++) {
                    end = strstr(end, "\r\n") + 2;
                }
                buf_put(&want, full->p, (size_t)(end - full->p));
                snprintf(what, sizeof what, "TOP %lu %lu", msg, lines[k]);
                st = postie_pop3_top_begin(&s.p, msg, lines[k]);
                if (st != POSTIE_OK) {
                    diag("%s: %s", what, st_name(st));
                    ok = 0;
                } else {
                    ok = read_compare(&s.p, &want, lines[k] == 5 ? 1 : 4093, what);
                }
                buf_free(&want);
            }
            check(ok, "TOP n 0/1/5/20/100 give the header, blank line and that many body lines");
        }
    }

    /* A command while a message is being read is refused; drain frees it. */
    st = postie_pop3_retr_begin(&s.p, 1, NULL);
    if (st == POSTIE_OK) {
        char b[10];
        size_t n;
        postie_status busy = postie_pop3_noop(&s.p);
        check(busy == POSTIE_ERR_BUSY, "NOOP during RETR is POSTIE_ERR_BUSY (%s)", st_name(busy));
        st = postie_pop3_read(&s.p, b, sizeof b, &n);
        st = st == POSTIE_OK ? postie_pop3_drain(&s.p) : st;
        check(st == POSTIE_OK && postie_pop3_noop(&s.p) == POSTIE_OK,
              "drain after a partial RETR leaves the session in step (%s)", st_name(st));
    } else {
        check(0, "RETR 1 for the busy check: %s", st_name(st));
    }

    /* Message numbers outside 1..count: refused locally, session goes on. */
    {
        unsigned long bad[2];
        int b;
        bad[0] = 0;
        bad[1] = count + 1;
        for (b = 0; b < 2; b++) {
            unsigned long m = bad[b];
            int all = 1;
            st = postie_pop3_list(&s.p, m, &size);
            all &= st == POSTIE_ERR_NO_SUCH_MESSAGE;
            st = postie_pop3_uidl(&s.p, m, uid, sizeof uid);
            all &= st == POSTIE_ERR_NO_SUCH_MESSAGE;
            st = postie_pop3_retr_begin(&s.p, m, NULL);
            all &= st == POSTIE_ERR_NO_SUCH_MESSAGE;
            st = postie_pop3_top_begin(&s.p, m, 0);
            all &= st == POSTIE_ERR_NO_SUCH_MESSAGE;
            st = postie_pop3_dele(&s.p, m);
            all &= st == POSTIE_ERR_NO_SUCH_MESSAGE;
            check(all, "message %lu: LIST, UIDL, RETR, TOP, DELE are POSTIE_ERR_NO_SUCH_MESSAGE", m);
        }
        st = postie_pop3_noop(&s.p);
        check(st == POSTIE_OK, "NOOP works after those (%s)", st_name(st));
        st = postie_pop3_stat(&s.p, &count, &octets);
        check(st == POSTIE_OK && count == SMALL, "STAT still says %d messages (%lu)", SMALL, count);
        check(retr_compare(&s, 1, cfg_maildir1, 4093, NULL), "RETR 1 still byte for byte");
    }

    /* DELE then RSET keeps the message. */
    st = postie_pop3_dele(&s.p, 2);
    check(st == POSTIE_OK, "DELE 2 (%s: %s)", st_name(st), postie_pop3_reply_text(&s.p));
    st = postie_pop3_retr_begin(&s.p, 2, NULL);
    check(st == POSTIE_ERR_SERVER, "RETR of a deleted message is POSTIE_ERR_SERVER (%s: %s)",
          st_name(st), postie_pop3_reply_text(&s.p));
    if (st == POSTIE_OK) {
        postie_pop3_drain(&s.p);
    }
    st = postie_pop3_dele(&s.p, 2);
    check(st == POSTIE_ERR_SERVER, "DELE of a deleted message is POSTIE_ERR_SERVER (%s)",
          st_name(st));
    st = postie_pop3_stat(&s.p, &count, NULL);
    check(st == POSTIE_OK && count == SMALL - 1, "STAT after DELE counts %d (%lu)", SMALL - 1,
          count);
    st = postie_pop3_rset(&s.p);
    check(st == POSTIE_OK, "RSET (%s)", st_name(st));
    st = postie_pop3_stat(&s.p, &count, NULL);
    check(st == POSTIE_OK && count == SMALL, "STAT after RSET counts %d again (%lu)", SMALL, count);
    check(retr_compare(&s, 2, cfg_maildir1, 4093, NULL), "RETR 2 after RSET byte for byte");
    {
        int committed = -1;
        st = postie_pop3_quit(&s.p, &committed);
        check(st == POSTIE_OK && committed == 1, "QUIT (%s, committed %d)", st_name(st), committed);
        check(postie_pop3_get_state(&s.p) == POSTIE_POP3_STATE_CLOSED, "state is CLOSED after QUIT");
        st = postie_pop3_noop(&s.p);
        check(st == POSTIE_ERR_STATE, "NOOP after QUIT is POSTIE_ERR_STATE (%s)", st_name(st));
    }
    ok = 1;
    for (i = 0; i < SMALL; i++) {
        ok &= uid_exists(cfg_maildir1, base_name(small_path[i]));
    }
    check(ok, "after DELE, RSET, QUIT every Maildir file is still there");
}

static void test_dele_quit(void)
{
    session s;
    postie_status st;
    char uid1[POSTIE_POP3_UID_MAX], uid2[POSTIE_POP3_UID_MAX];
    unsigned long count = 0;
    int committed = -1;

    /* DELE then close without QUIT: nothing is removed. */
    if (!check(start(&s, cfg_host, cfg_user1, cfg_pass1, POSTIE_POP3_LOGIN_USER) == POSTIE_OK,
               "log in for DELE + close")) {
        return;
    }
    st = postie_pop3_uidl(&s.p, 1, uid1, sizeof uid1);
    st = st == POSTIE_OK ? postie_pop3_dele(&s.p, 1) : st;
    check(st == POSTIE_OK, "DELE 1 (%s)", st_name(st));
    postie_pop3_close(&s.p);
    check(postie_pop3_get_state(&s.p) == POSTIE_POP3_STATE_CLOSED, "state is CLOSED after close");
    {
        struct timespec pause = {0, 300 * 1000 * 1000}; /* let Dovecot see the disconnect */
        nanosleep(&pause, NULL);
    }
    check(uid_exists(cfg_maildir1, uid1), "DELE then close without QUIT keeps the file");

    /* DELE then QUIT: the file is gone. */
    if (!check(start(&s, cfg_host, cfg_user1, cfg_pass1, POSTIE_POP3_LOGIN_USER) == POSTIE_OK,
               "log in for DELE + QUIT")) {
        return;
    }
    st = postie_pop3_uidl(&s.p, 1, uid1, sizeof uid1);
    st = st == POSTIE_OK ? postie_pop3_uidl(&s.p, 2, uid2, sizeof uid2) : st;
    st = st == POSTIE_OK ? postie_pop3_dele(&s.p, 1) : st;
    check(st == POSTIE_OK, "DELE 1 (%s)", st_name(st));
    st = postie_pop3_quit(&s.p, &committed);
    check(st == POSTIE_OK && committed == 1, "QUIT after DELE (%s, committed %d)", st_name(st),
          committed);
    check(!uid_exists(cfg_maildir1, uid1), "DELE then QUIT removed the Maildir file %s", uid1);
    check(uid_exists(cfg_maildir1, uid2), "the other messages' files stay");

    if (start(&s, cfg_host, cfg_user1, cfg_pass1, POSTIE_POP3_LOGIN_APOP) == POSTIE_OK) {
        char uid[POSTIE_POP3_UID_MAX];
        st = postie_pop3_stat(&s.p, &count, NULL);
        check(st == POSTIE_OK && count == SMALL - 1, "a new session counts %d messages (%lu)",
              SMALL - 1, count);
        st = postie_pop3_uidl(&s.p, 1, uid, sizeof uid);
        check(st == POSTIE_OK && strcmp(uid, uid2) == 0,
              "the old message 2 is now message 1 (%s)", uid);
        finish(&s);
    } else {
        check(0, "log in after DELE + QUIT");
    }
}

/* A listing cut short (callback stop, or drain) as the first command of a
 * session must not make later message numbers look out of range: the header
 * promises that the count comes from STAT or LIST. */
static void test_partial_listing_first(void)
{
    session s;
    postie_status st;
    listing l;
    char uid[POSTIE_POP3_UID_MAX];

    if (start(&s, cfg_host, cfg_user1, cfg_pass1, POSTIE_POP3_LOGIN_USER) != POSTIE_OK) {
        check(0, "log in for the partial-listing checks");
        return;
    }
    memset(&l, 0, sizeof l);
    st = postie_pop3_list_all(&s.p, on_list_stop_after_one, &l);
    check(st == POSTIE_OK && l.n == 1, "LIST all stopped after one entry as the first command (%s)",
          st_name(st));
    st = postie_pop3_uidl(&s.p, SMALL, uid, sizeof uid);
    check(st == POSTIE_OK, "then UIDL %d still works (%s: %s)", SMALL, st_name(st),
          postie_pop3_reply_text(&s.p));
    finish(&s);

    if (start(&s, cfg_host, cfg_user1, cfg_pass1, POSTIE_POP3_LOGIN_USER) != POSTIE_OK) {
        check(0, "log in for the partial-listing checks");
        return;
    }
    st = postie_pop3_uidl_begin(&s.p);
    st = st == POSTIE_OK ? postie_pop3_drain(&s.p) : st;
    check(st == POSTIE_OK, "UIDL all drained unread as the first command (%s)", st_name(st));
    st = postie_pop3_list(&s.p, 1, NULL);
    check(st == POSTIE_OK, "then LIST 1 still works (%s)", st_name(st));
    finish(&s);
}

static void test_ipv6(void)
{
    session s;
    postie_status st;
    unsigned long count = 0, octets = 0;

    if (cfg_host6 == NULL || cfg_host6[0] == '\0') {
        skip("POP3 over IPv6", "no IPv6 loopback on this machine (STACK_HOST6 empty)");
        return;
    }
    st = start(&s, cfg_host6, cfg_user1, cfg_pass1, POSTIE_POP3_LOGIN_APOP);
    if (!check(st == POSTIE_OK, "APOP login over IPv6 (%s)", cfg_host6)) {
        return;
    }
    st = postie_pop3_stat(&s.p, &count, &octets);
    check(st == POSTIE_OK && count > 0, "STAT over IPv6 (%lu messages, %lu octets)", count, octets);
    check(retr_compare(&s, 1, cfg_maildir1, 4093, NULL), "RETR over IPv6 byte for byte");
    finish(&s);
    st = start(&s, cfg_host6, cfg_user1, cfg_pass1, POSTIE_POP3_LOGIN_USER);
    check(st == POSTIE_OK, "USER/PASS login over IPv6 (%s)", st_name(st));
    if (st == POSTIE_OK) {
        finish(&s);
    }
}

/* 1,000 small messages in mailbox 2: every one byte for byte. */
#define MANY 1000
static void test_many(void)
{
    static char paths[MANY][1024];
    char **files = calloc(MANY, sizeof *files);
    unsigned long count = 0, octets = 0, total = 0, msg, size, seen_sizes = 0;
    size_t i;
    buf m = {0};
    session s;
    postie_status st;
    int ok, bad = 0;
    static const size_t bufsizes[] = {4093, 1, 13, 512, 65536};
    char *hit = calloc(MANY, 1);
    unsigned long *want_size = calloc(MANY, sizeof *want_size);
    size_t *file_of = calloc(MANY + 1, sizeof *file_of); /* message number -> paths[] */

    if (files == NULL || hit == NULL || want_size == NULL || file_of == NULL) {
        setup_fail("out of memory");
    }
    reset_box(cfg_user2);
    for (i = 0; i < MANY; i++) {
        char name[64], subj[64], id[64];
        size_t lines = 1 + rng() % 12, k;
        m.len = 0;
        snprintf(subj, sizeof subj, "small message %zu of %d", i + 1, MANY);
        snprintf(id, sizeof id, "many.%zu", i + 1);
        add_headers(&m, cfg_user2, subj, id);
        for (k = 0; k < lines; k++) {
            if (rng() % 7 == 0) {
                buf_str(&m, rng() % 2 ? ".\n" : ".dot-led line\n");
            } else {
                add_text_line(&m, rng() % 100);
            }
        }
        snprintf(name, sizeof name, "many-%04zu.eml", i + 1);
        files[i] = make_file(name, &m);
    }
    deliver(cfg_user2, files, MANY, paths);
    for (i = 0; i < MANY; i++) {
        buf f = {0}, sv = {0};
        read_file(paths[i], &f);
        served_form(&f, &sv);
        want_size[i] = sv.len;
        total += sv.len;
        buf_free(&f);
        buf_free(&sv);
        free(files[i]);
    }
    free(files);
    buf_free(&m);

    if (!check(start(&s, cfg_host, cfg_user2, cfg_pass2, POSTIE_POP3_LOGIN_USER) == POSTIE_OK,
               "log in to the mailbox with %d messages", MANY)) {
        goto out;
    }
    st = postie_pop3_stat(&s.p, &count, &octets);
    check(st == POSTIE_OK && count == MANY && octets == total,
          "STAT: %lu messages, %lu octets (want %d, %lu)", count, octets, MANY, total);

    /* UIDL all maps each number to a delivered file; LIST all gives its size. */
    ok = postie_pop3_uidl_begin(&s.p) == POSTIE_OK;
    {
        char uid[POSTIE_POP3_UID_MAX];
        unsigned long n = 0;
        while (ok && (st = postie_pop3_uidl_next(&s.p, &msg, uid, sizeof uid)) == POSTIE_OK) {
            size_t j;
            n++;
            for (j = 0; j < MANY && strcmp(base_name(paths[j]), uid) != 0; j++) {
            }
            if (msg != n || j == MANY || hit[j]++) {
                diag("UIDL all: entry %lu msg %lu uid '%s'", n, msg, uid);
                ok = 0;
            } else {
                file_of[msg] = j;
            }
        }
        ok = ok && st == POSTIE_DONE && n == MANY;
    }
    check(ok, "UIDL all lists %d distinct delivered files", MANY);
    if (!ok) {
        postie_pop3_drain(&s.p);
    }
    ok = postie_pop3_list_begin(&s.p) == POSTIE_OK;
    {
        unsigned long n = 0, sum = 0;
        while (ok && (st = postie_pop3_list_next(&s.p, &msg, &size)) == POSTIE_OK) {
            n++;
            sum += size;
            ok = msg == n;
        }
        ok = ok && st == POSTIE_DONE && n == MANY && sum == total;
        seen_sizes = sum;
    }
    check(ok, "LIST all lists %d sizes adding up to STAT's octets (%lu)", MANY, seen_sizes);
    if (!ok) {
        postie_pop3_drain(&s.p);
    }

    for (msg = 1; msg <= MANY; msg++) {
        if (!retr_compare(&s, msg, cfg_maildir2, bufsizes[msg % 5], NULL)) {
            if (++bad >= 5) {
                diag("stopping after 5 mismatches");
                break;
            }
        }
    }
    check(bad == 0, "RETR of all %d messages byte for byte (buffers 1, 13, 512, 4093, 65536)",
          MANY);

    /* the same messages again through the pipelining queue (RFC 2449):
     * Dovecot announces PIPELINING, so RETRs go out POSTIE_POP3_PIPELINE_MAX
     * at a time and the replies are matched to their entries */
    check(postie_pop3_pipelining(&s.p), "Dovecot announces PIPELINING: the queue pipelines");
    {
        unsigned long queued = 0, answered = 0;
        bad = 0;
        while (answered < MANY && bad < 5) {
            postie_pop3_cmd_kind kind;
            unsigned long no = 0;
            while (queued < MANY && postie_pop3_queue_retr(&s.p, queued + 1) == POSTIE_OK) {
                queued++;
            }
            st = postie_pop3_flush(&s.p);
            st = st == POSTIE_OK ? postie_pop3_next(&s.p, &kind, &no, NULL) : st;
            if (st != POSTIE_OK || kind != POSTIE_POP3_CMD_RETR || no != answered + 1) {
                diag("pipelined RETR %lu: %s, entry %d/%lu", answered + 1, st_name(st), (int)kind,
                     no);
                bad = 5;
                break;
            }
            {
                buf f = {0}, want = {0};
                char what[64], path[4096];
                snprintf(what, sizeof what, "pipelined RETR %lu", no);
                /* Dovecot moves a message read once into cur/: find it by UIDL */
                if (find_by_uid(cfg_maildir2, base_name(paths[file_of[no]]), path, sizeof path) != 0 ||
                    read_file(path, &f) != 0) {
                    diag("%s: no Maildir file", what);
                }
                served_form(&f, &want);
                if (!read_compare(&s.p, &want, bufsizes[no % 5], what)) {
                    bad++;
                }
                buf_free(&f);
                buf_free(&want);
            }
            answered++;
        }
        check(bad == 0 && answered == MANY && postie_pop3_queued(&s.p) == 0,
              "pipelined RETR of all %d messages byte for byte, replies in order", MANY);
        /* after a failure, read what is still queued so the session goes on */
        while (postie_pop3_drain(&s.p) == POSTIE_OK &&
               postie_pop3_next(&s.p, NULL, NULL, NULL) != POSTIE_DONE &&
               postie_pop3_get_state(&s.p) == POSTIE_POP3_STATE_TRANSACTION) {
        }
    }
    st = postie_pop3_dele(&s.p, MANY);
    st = st == POSTIE_OK ? postie_pop3_rset(&s.p) : st;
    check(st == POSTIE_OK, "DELE %d and RSET in a large mailbox (%s)", MANY, st_name(st));
    finish(&s);
out:
    free(hit);
    free(want_size);
    free(file_of);
    reset_box(cfg_user2);
}

/* A 20 MB message: long and short lines, dot lines scattered through. */
static void test_big(void)
{
    char *files[1];
    char path[1][1024];
    buf m = {0}, f = {0}, want = {0};
    session s;
    postie_status st;
    unsigned long count = 0, size = 0, announced = 0;
    const size_t target = 20u * 1024u * 1024u;
    struct timespec t0, t1;

    reset_box(cfg_user1);
    add_headers(&m, cfg_user1, "twenty megabytes", "big.1");
    while (m.len < target) {
        unsigned long r = rng() % 100;
        if (r < 2) {
            buf_str(&m, ".\n");
        } else if (r < 5) {
            buf_str(&m, "..leading dots\n");
        } else if (r < 7) {
            add_text_line(&m, 998); /* the longest line RFC 5322 allows */
        } else if (r < 9) {
            buf_str(&m, "\n");
        } else {
            add_text_line(&m, rng() % 120);
        }
    }
    buf_str(&m, "last line\n");
    files[0] = make_file("big.eml", &m);
    deliver(cfg_user1, files, 1, path);
    free(files[0]);
    buf_free(&m);
    read_file(path[0], &f);
    served_form(&f, &want);
    diag("big message: %zu bytes in the Maildir, %zu served", f.len, want.len);
    buf_free(&f);

    if (!check(start(&s, cfg_host, cfg_user1, cfg_pass1, POSTIE_POP3_LOGIN_AUTO) == POSTIE_OK,
               "log in for the 20 MB message")) {
        buf_free(&want);
        return;
    }
    st = postie_pop3_stat(&s.p, &count, NULL);
    st = st == POSTIE_OK ? postie_pop3_list(&s.p, 1, &size) : st;
    check(st == POSTIE_OK && count == 1 && size == want.len, "LIST 1 of the 20 MB message: %lu (want %zu)",
          size, want.len);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    st = postie_pop3_retr_begin(&s.p, 1, &announced);
    check(st == POSTIE_OK && read_compare(&s.p, &want, 4093, "RETR 1 (20 MB, buffer 4093)"),
          "20 MB message byte for byte through a 4093-byte buffer");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    diag("20 MB RETR took %.2f s", (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
    st = postie_pop3_retr_begin(&s.p, 1, NULL);
    check(st == POSTIE_OK && read_compare(&s.p, &want, 1, "RETR 1 (20 MB, buffer 1)"),
          "20 MB message byte for byte through a 1-byte buffer");
    st = postie_pop3_top_begin(&s.p, 1, 3);
    if (st == POSTIE_OK) {
        st = postie_pop3_drain(&s.p);
    }
    check(st == POSTIE_OK && postie_pop3_noop(&s.p) == POSTIE_OK,
          "TOP 1 3 of the big message drained, session in step (%s)", st_name(st));
    finish(&s);
    buf_free(&want);
}

/* ---- main ----------------------------------------------------------------- */

static void remove_workdir(void)
{
    DIR *d = opendir(workdir);
    struct dirent *e;
    if (d == NULL) {
        return;
    }
    while ((e = readdir(d)) != NULL) {
        char p[8192];
        if (e->d_name[0] == '.') {
            continue;
        }
        snprintf(p, sizeof p, "%s/%s", workdir, e->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(workdir);
}

int main(int argc, char **argv)
{
    int i, k;

    for (i = 1; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (eq == NULL || eq == argv[i]) {
            fprintf(stderr, "usage: %s [NAME=VALUE...]  (see the file's header)\n", argv[0]);
            return 2;
        }
        *eq = '\0';
        setenv(argv[i], eq + 1, 1);
    }
    cfg_script = need("STACK_SCRIPT");
    cfg_dir = need("STACK_DIR");
    cfg_host = need("STACK_HOST");
    cfg_host6 = getenv("STACK_HOST6");
    cfg_port = need("POP3_PORT");
    cfg_user1 = need("USER1");
    cfg_pass1 = need("PASS1");
    cfg_maildir1 = need("MAILDIR1");
    cfg_user2 = need("USER2");
    cfg_pass2 = need("PASS2");
    cfg_maildir2 = need("MAILDIR2");

    snprintf(workdir, sizeof workdir, "%s/pop3-interop-XXXXXX", cfg_dir);
    if (mkdtemp(workdir) == NULL) {
        setup_fail("mkdtemp %s: %s", workdir, strerror(errno));
    }

    diag("POP3 interop against %s / %s port %s", cfg_host, cfg_host6 ? cfg_host6 : "-", cfg_port);
    prepare_small();
    test_greeting_and_logins();
    test_commands();
    test_partial_listing_first();
    test_ipv6();
    test_dele_quit();
    test_many();
    test_big();

    remove_workdir();
    for (k = 0; k < SMALL; k++) {
        buf_free(&small_served[k]);
    }
    if (skipped) {
        diag("%d skipped", skipped);
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
