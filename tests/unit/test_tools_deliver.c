/* tools/deliver.c: Maildir (tmp -> new, unique names), mboxrd quoting and
 * mbox appends, MDA, the UIDL state file and pending-entry resolution. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <utime.h>
#include <unistd.h>
#include <cmocka.h>

#include "common.h"
#include "deliver.h"
#include "state.h"
#include "config.h"
#include "target.h"

static char root[64];

static int setup(void **state)
{
    (void)state;
    strcpy(root, "/tmp/postie-deliver-XXXXXX");
    return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];
    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;
    if (!d)
        return -1;
    while ((de = readdir(d)) != NULL)
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *b;
    long n;
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    b = malloc((size_t)n + 1);
    if (fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        fclose(f);
        return NULL;
    }
    b[n] = '\0';
    fclose(f);
    if (len)
        *len = (size_t)n;
    return b;
}

static void feed(tool_msg *m, const char *s, size_t chunk)
{
    char err[256];
    size_t n = strlen(s), i;
    for (i = 0; i < n; i += chunk)
        assert_int_equal(tool_msg_write(m, s + i, n - i < chunk ? n - i : chunk, err, sizeof err), 0);
}

static void test_maildir_tmp_then_new(void **state)
{
    tool_dest d;
    tool_msg m, m2;
    char err[512], md[128], p[512];
    int ex;
    char *got;
    size_t chunk;
    (void)state;
    snprintf(md, sizeof md, "%s/Mail/inbox", root);
    assert_int_equal(tool_dest_open(&d, &tool_target_maildir, md, err, sizeof err, &ex), 0);
    for (chunk = 1; chunk <= 7; chunk++) {
        assert_int_equal(tool_msg_begin(&d, &m, err, sizeof err), 0);
        assert_int_equal(tool_msg_begin(&d, &m2, err, sizeof err), 0);
        assert_string_not_equal(m.name, m2.name); /* unique names */
        tool_msg_abort(&m2);
        feed(&m, "Subject: hi\r\n\r\nline\r\nlone\rcr\r\n", chunk);
        snprintf(p, sizeof p, "%s/tmp", md);
        assert_int_equal(count_files(p), 1);
        assert_int_equal(tool_msg_finish(&m, err, sizeof err), 0);
        assert_non_null(strstr(m.info, "maildir "));
        assert_string_equal(m.info + 8, m.name);
        /* still only in tmp/ until committed */
        snprintf(p, sizeof p, "%s/new/%s", md, m.name);
        assert_int_not_equal(access(p, F_OK), 0);
        assert_int_equal(tool_msg_commit(&m, "uid1", NULL, 0, err, sizeof err, &ex), 0);
        got = slurp(p, NULL);
        assert_non_null(got);
        assert_string_equal(got, "Subject: hi\n\nline\nlone\rcr\n"); /* CRLF -> LF, lone CR kept */
        free(got);
        snprintf(p, sizeof p, "%s/tmp", md);
        assert_int_equal(count_files(p), 0);
        /* resolution of a pending entry naming it: found in new/ */
        assert_int_equal(tool_dest_resolve(&d, m.info), 1);
    }
    snprintf(p, sizeof p, "%s/new", md);
    assert_int_equal(count_files(p), 7);
    tool_dest_close(&d);
}

/* A batch's group flush: tool_msgs_durable makes every finished file of
 * the batch durable at once (a Maildir: one syncfs on Linux) and closes
 * it; the files are still only in tmp/, and each commit then renames it. */
static void test_maildir_group_flush(void **state)
{
    tool_dest d;
    tool_msg m[3], *ms[3];
    char err[512], md[128], p[512];
    int ex, i, whole = -1;
    (void)state;
    snprintf(md, sizeof md, "%s/group", root);
    assert_int_equal(tool_dest_open(&d, &tool_target_maildir, md, err, sizeof err, &ex), 0);
    assert_int_equal(tool_msgs_durable(ms, 0, &whole, err, sizeof err), 0);
    assert_int_equal(whole, 0); /* nothing flushed */
    for (i = 0; i < 3; i++) {
        assert_int_equal(tool_msg_begin(&d, &m[i], err, sizeof err), 0);
        feed(&m[i], "Subject: group\r\n\r\nbody\r\n", 5);
        assert_int_equal(tool_msg_finish(&m[i], err, sizeof err), 0);
        assert_true(m[i].fd >= 0); /* open: not yet durable */
        ms[i] = &m[i];
    }
    assert_int_equal(tool_msgs_durable(ms, 3, &whole, err, sizeof err), 3);
#ifdef __linux__
    assert_int_equal(whole, 1); /* one syncfs: the whole file system */
#endif
    for (i = 0; i < 3; i++)
        assert_int_equal(m[i].fd, -1); /* durable and closed */
    snprintf(p, sizeof p, "%s/tmp", md);
    assert_int_equal(count_files(p), 3);
    snprintf(p, sizeof p, "%s/new", md);
    assert_int_equal(count_files(p), 0);
    /* again: nothing left to flush, all durable */
    assert_int_equal(tool_msgs_durable(ms, 3, &whole, err, sizeof err), 3);
    for (i = 0; i < 3; i++)
        assert_int_equal(tool_msg_commit(&m[i], "u", NULL, 1, err, sizeof err, &ex), 0);
    assert_int_equal(tool_dest_sync(&d), 0);
    assert_int_equal(count_files(p), 3);
    snprintf(p, sizeof p, "%s/tmp", md);
    assert_int_equal(count_files(p), 0);
    tool_dest_close(&d);
}

static void test_maildir_resolve_pending(void **state)
{
    tool_dest d;
    tool_msg m;
    char err[512], md[128], from[512], to[512], info[320];
    int ex;
    (void)state;
    snprintf(md, sizeof md, "%s/md2", root);
    assert_int_equal(tool_dest_open(&d, &tool_target_maildir, md, err, sizeof err, &ex), 0);

    /* killed after the pending entry, before the rename: not delivered, tmp cleaned */
    assert_int_equal(tool_msg_begin(&d, &m, err, sizeof err), 0);
    feed(&m, "a\r\n", 100);
    assert_int_equal(tool_msg_finish(&m, err, sizeof err), 0);
    strcpy(info, m.info);
    assert_int_equal(tool_dest_resolve(&d, info), 0);
    snprintf(from, sizeof from, "%s/tmp", md);
    assert_int_equal(count_files(from), 0);

    /* delivered, then a MUA moved it to cur/ with flags: delivered */
    assert_int_equal(tool_msg_begin(&d, &m, err, sizeof err), 0);
    feed(&m, "b\r\n", 100);
    assert_int_equal(tool_msg_finish(&m, err, sizeof err), 0);
    strcpy(info, m.info);
    assert_int_equal(tool_msg_commit(&m, "u", NULL, 0, err, sizeof err, &ex), 0);
    snprintf(from, sizeof from, "%s/new/%s", md, info + 8);
    snprintf(to, sizeof to, "%s/cur/%s:2,S", md, info + 8);
    assert_int_equal(rename(from, to), 0);
    assert_int_equal(tool_dest_resolve(&d, info), 1);
    /* a name that is only a prefix of another does not count */
    info[strlen(info) - 1] = '\0';
    assert_int_equal(tool_dest_resolve(&d, info), 0);
    tool_dest_close(&d);
}

static void test_maildir_old_tmp_files_cleaned(void **state)
{
    tool_dest d;
    char err[512], md[128], old[256], young[256];
    int ex;
    struct utimbuf ut;
    FILE *f;
    (void)state;
    snprintf(md, sizeof md, "%s/md3", root);
    assert_int_equal(tool_dest_open(&d, &tool_target_maildir, md, err, sizeof err, &ex), 0);
    tool_dest_close(&d);
    snprintf(old, sizeof old, "%s/tmp/1.M1P1Q1.old", md);
    snprintf(young, sizeof young, "%s/tmp/2.M1P1Q1.young", md);
    f = fopen(old, "w");
    fclose(f);
    f = fopen(young, "w");
    fclose(f);
    ut.actime = ut.modtime = time(NULL) - 37 * 3600;
    assert_int_equal(utime(old, &ut), 0);
    ut.actime = ut.modtime = time(NULL) - 35 * 3600;
    assert_int_equal(utime(young, &ut), 0);
    assert_int_equal(tool_dest_open(&d, &tool_target_maildir, md, err, sizeof err, &ex), 0);
    assert_int_not_equal(access(old, F_OK), 0);
    assert_int_equal(access(young, F_OK), 0);
    tool_dest_close(&d);
}

static void test_maildir_uncreatable(void **state)
{
    tool_dest d;
    char err[512], p[256];
    int ex = 0;
    FILE *f;
    (void)state;
    snprintf(p, sizeof p, "%s/afile", root);
    f = fopen(p, "w");
    fclose(f);
    snprintf(p, sizeof p, "%s/afile/md", root);
    assert_int_equal(tool_dest_open(&d, &tool_target_maildir, p, err, sizeof err, &ex), -1);
    assert_int_equal(ex, TOOL_EX_CANTCREAT);
    assert_non_null(strstr(err, "cannot create Maildir"));
}

static void test_mboxrd_quote(void **state)
{
    size_t n;
    char *q;
    (void)state;
    q = tool_mboxrd_quote("From a\nFrom b\n>From c\n>>From d\nFromage\n From e\n>From", 52, &n);
    assert_string_equal(q, ">From a\n>From b\n>>From c\n>>>From d\nFromage\n From e\n>From\n");
    assert_int_equal(n, strlen(q));
    free(q);
    q = tool_mboxrd_quote("", 0, &n);
    assert_string_equal(q, "\n");
    free(q);
}

static void test_mbox_append_and_resolve(void **state)
{
    tool_dest d;
    tool_msg m;
    tool_state st;
    char err[512], mb[256], sp[256], info[320];
    int ex;
    char *got;
    size_t len;
    long long off;
    unsigned long long mlen;
    (void)state;
    snprintf(mb, sizeof mb, "%s/mbox", root);
    snprintf(sp, sizeof sp, "%s/state", root);
    assert_int_equal(tool_state_open(&st, sp, err, sizeof err, &ex), 0);
    assert_int_equal(tool_dest_open(&d, &tool_target_mbox, mb, err, sizeof err, &ex), 0);

    assert_int_equal(tool_msg_begin(&d, &m, err, sizeof err), 0);
    feed(&m, "Subject: one\r\n\r\nFrom here\r\n>From there\r\nend", 3);
    assert_int_equal(tool_msg_finish(&m, err, sizeof err), 0);
    assert_int_equal(tool_msg_commit(&m, "U1", &st, 0, err, sizeof err, &ex), 0);
    /* commit recorded the pending entry with the offset before appending */
    assert_non_null(tool_state_find(&st, "U1"));
    assert_int_equal(tool_state_find(&st, "U1")->kind, 'P');
    strcpy(info, tool_state_find(&st, "U1")->info);
    assert_int_equal(sscanf(info, "mbox %lld %llu", &off, &mlen), 2);
    assert_int_equal(off, 0);

    assert_int_equal(tool_msg_begin(&d, &m, err, sizeof err), 0);
    feed(&m, "Return-Path: <bounce@x.test>\r\nSubject: two\r\n\r\nbody\r\n", 5);
    assert_int_equal(tool_msg_finish(&m, err, sizeof err), 0);
    assert_int_equal(tool_msg_commit(&m, "U2", &st, 0, err, sizeof err, &ex), 0);

    got = slurp(mb, &len);
    assert_non_null(got);
    assert_int_equal(strncmp(got, "From MAILER-DAEMON ", 19), 0);
    assert_non_null(strstr(got, "\nSubject: one\n\n>From here\n>>From there\nend\n\nFrom bounce@x.test "));
    assert_non_null(strstr(got, "\nReturn-Path: <bounce@x.test>\nSubject: two\n\nbody\n\n"));
    assert_int_equal(got[len - 1], '\n');
    assert_int_equal(got[len - 2], '\n');
    assert_int_equal((size_t)mlen, (size_t)(strstr(got + 1, "From bounce") - got));
    free(got);
    /* the recorded entry resolves as delivered */
    assert_int_equal(tool_dest_resolve(&d, info), 1);
    /* a partial append (killed mid-write) is cut off and counts as not delivered */
    {
        FILE *f = fopen(mb, "a");
        char pinfo[64];
        fputs("From MAILER-DAEMON x\nSubject: half", f);
        fclose(f);
        snprintf(pinfo, sizeof pinfo, "mbox %zu 500", len);
        assert_int_equal(tool_dest_resolve(&d, pinfo), 0);
        got = slurp(mb, &len);
        assert_null(strstr(got, "half"));
        free(got);
        snprintf(pinfo, sizeof pinfo, "mbox %zu 500", len); /* nothing written at all */
        assert_int_equal(tool_dest_resolve(&d, pinfo), 0);
    }
    tool_state_close(&st);
    tool_dest_close(&d);
}

static void test_mda(void **state)
{
    tool_dest d;
    tool_msg m;
    char err[512], cmd[512], out[256];
    int ex;
    char *got;
    (void)state;
    snprintf(out, sizeof out, "%s/mda-out", root);
    snprintf(cmd, sizeof cmd, "{ echo \"uid=$POSTIE_UIDL\"; cat; } > '%s'", out);
    assert_int_equal(tool_dest_open(&d, &tool_target_mda, cmd, err, sizeof err, &ex), 0);
    assert_int_equal(tool_msg_begin(&d, &m, err, sizeof err), 0);
    feed(&m, "Subject: x\r\n\r\nbody\r\n", 4);
    assert_int_equal(tool_msg_finish(&m, err, sizeof err), 0);
    assert_string_equal(m.info, "mda");
    assert_int_equal(tool_msg_commit(&m, "UID-9", NULL, 0, err, sizeof err, &ex), 0);
    got = slurp(out, NULL);
    assert_string_equal(got, "uid=UID-9\nSubject: x\n\nbody\n");
    free(got);
    assert_int_equal(tool_dest_resolve(&d, "mda"), TOOL_RESOLVE_AGAIN); /* cannot be asked */
    tool_dest_close(&d);

    assert_int_equal(tool_dest_open(&d, &tool_target_mda, "cat >/dev/null; exit 75", err,
                                    sizeof err, &ex), 0);
    assert_int_equal(tool_msg_begin(&d, &m, err, sizeof err), 0);
    feed(&m, "x\r\n", 4);
    assert_int_equal(tool_msg_finish(&m, err, sizeof err), 0);
    assert_int_equal(tool_msg_commit(&m, "U", NULL, 0, err, sizeof err, &ex), -1);
    assert_int_equal(ex, TOOL_EX_TEMPFAIL);
    assert_non_null(strstr(err, "exit status 75"));
    tool_dest_close(&d);
    assert_int_equal(tool_dest_open(&d, &tool_target_mda, "exit 1", err, sizeof err, &ex), 0);
    assert_int_equal(tool_msg_begin(&d, &m, err, sizeof err), 0);
    assert_int_equal(tool_msg_finish(&m, err, sizeof err), 0);
    assert_int_equal(tool_msg_commit(&m, "U", NULL, 0, err, sizeof err, &ex), -1);
    assert_int_equal(ex, TOOL_EX_UNAVAILABLE);
    tool_dest_close(&d);
}

static void test_state_file(void **state)
{
    tool_state st;
    char err[512], sp[256], tmp[300];
    int ex;
    char *got;
    pid_t pid;
    int status;
    (void)state;
    snprintf(sp, sizeof sp, "%s/deep/er/uidl", root);
    assert_int_equal(tool_state_open(&st, sp, err, sizeof err, &ex), 0); /* dirs created */
    assert_int_equal(st.n, 0);
    assert_int_equal(tool_state_set(&st, "AAA", 'D', NULL), 0);
    assert_int_equal(tool_state_set(&st, "BBB", 'P', "maildir 123.M1P2Q3.host"), 0);
    assert_int_equal(tool_state_set(&st, "CCC", 'D', NULL), 0);
    assert_int_equal(tool_state_save(&st, err, sizeof err), 0);
    snprintf(tmp, sizeof tmp, "%s.tmp", sp);
    assert_int_not_equal(access(tmp, F_OK), 0); /* no temporary left behind */
    got = slurp(sp, NULL);
    assert_non_null(strstr(got, "\nD AAA\nP BBB maildir 123.M1P2Q3.host\nD CCC\n"));
    free(got);

    /* another process cannot open the same state while we hold it */
    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        tool_state s2;
        char e2[512];
        int x2 = 0;
        if (tool_state_open(&s2, sp, e2, sizeof e2, &x2) == 0)
            _exit(0);
        _exit(strstr(e2, "another postie-fetch") && x2 == TOOL_EX_TEMPFAIL ? 42 : 1);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_int_equal(WEXITSTATUS(status), 42);

    tool_state_set(&st, "BBB", 'D', NULL);
    tool_state_remove(&st, "AAA");
    assert_null(tool_state_find(&st, "AAA"));
    assert_int_equal(tool_state_save(&st, err, sizeof err), 0);
    tool_state_close(&st);

    assert_int_equal(tool_state_open(&st, sp, err, sizeof err, &ex), 0);
    assert_int_equal(st.n, 2);
    assert_int_equal(tool_state_find(&st, "BBB")->kind, 'D');
    assert_null(tool_state_find(&st, "BBB")->info);
    assert_int_equal(tool_state_find(&st, "CCC")->kind, 'D');
    tool_state_close(&st);

    /* a stale temporary from a killed save is ignored; the old file stands */
    {
        FILE *f = fopen(tmp, "w");
        fputs("garbage, half written", f);
        fclose(f);
        assert_int_equal(tool_state_open(&st, sp, err, sizeof err, &ex), 0);
        assert_int_equal(st.n, 2);
        assert_int_equal(tool_state_save(&st, err, sizeof err), 0);
        tool_state_close(&st);
    }

    /* a malformed file is an error, not an empty state */
    {
        FILE *f = fopen(sp, "w");
        fputs("D ok\nX what\n", f);
        fclose(f);
        assert_int_equal(tool_state_open(&st, sp, err, sizeof err, &ex), -1);
        assert_int_equal(ex, TOOL_EX_DATAERR);
        assert_non_null(strstr(err, ":2: malformed entry"));
        f = fopen(sp, "w");
        fputs("D ok\nD trunc", f);
        fclose(f);
        assert_int_equal(tool_state_open(&st, sp, err, sizeof err, &ex), -1);
        assert_non_null(strstr(err, ":2: line too long or not terminated"));
    }
}

/* 100,000 UIDs: set, found, half removed (entries move inside the table),
 * saved and read back. With a linear lookup this is 10^10 comparisons;
 * the test checks the counts only, the hash index makes it quick. */
static void test_state_many_uids(void **state)
{
    tool_state st;
    char err[512], sp[256], uid[32];
    int ex, i, found = 0, gone = 0;
    (void)state;
    snprintf(sp, sizeof sp, "%s/many", root);
    assert_int_equal(tool_state_open(&st, sp, err, sizeof err, &ex), 0);
    for (i = 0; i < 100000; i++) {
        snprintf(uid, sizeof uid, "uid-%07d", i);
        assert_int_equal(tool_state_set(&st, uid, 'D', NULL), 0);
    }
    assert_int_equal(st.n, 100000);
    assert_int_equal(tool_state_set(&st, "uid-0000007", 'P', "mda"), 0); /* update */
    assert_int_equal(st.n, 100000);
    for (i = 0; i < 100000; i += 2) {
        snprintf(uid, sizeof uid, "uid-%07d", i);
        tool_state_remove(&st, uid);
    }
    assert_int_equal(st.n, 50000);
    for (i = 0; i < 100000; i++) {
        tool_state_entry *e;
        snprintf(uid, sizeof uid, "uid-%07d", i);
        e = tool_state_find(&st, uid);
        if (e) {
            assert_string_equal(e->uid, uid);
            found++;
        } else {
            gone++;
        }
    }
    assert_int_equal(found, 50000);
    assert_int_equal(gone, 50000);
    assert_int_equal(tool_state_find(&st, "uid-0000007")->kind, 'P');
    assert_int_equal(tool_state_save(&st, err, sizeof err), 0);
    tool_state_close(&st);
    assert_int_equal(tool_state_open(&st, sp, err, sizeof err, &ex), 0);
    assert_int_equal(st.n, 50000);
    assert_non_null(tool_state_find(&st, "uid-0099999"));
    assert_null(tool_state_find(&st, "uid-0099998"));
    tool_state_close(&st);
}

/* A pending mbox entry is resolved by the mbox itself: the bytes at the
 * recorded offset must hash as recorded; a dot-lock left by a dead process
 * of this host is not waited for; an mbox rewritten since cannot tell. */
static void test_mbox_resolve_by_content(void **state)
{
    tool_dest d;
    tool_msg m;
    tool_state st;
    char err[512], mb[256], sp[256], info[320], lock[300];
    int ex;
    size_t len;
    char *got;
    time_t t0;
    (void)state;
    snprintf(mb, sizeof mb, "%s/mbox3", root);
    snprintf(sp, sizeof sp, "%s/state3", root);
    snprintf(lock, sizeof lock, "%s.lock", mb);
    assert_int_equal(tool_state_open(&st, sp, err, sizeof err, &ex), 0);
    assert_int_equal(tool_dest_open(&d, &tool_target_mbox, mb, err, sizeof err, &ex), 0);
    assert_int_equal(tool_msg_begin(&d, &m, err, sizeof err), 0);
    feed(&m, "Subject: hashed\r\n\r\nbody\r\n", 4);
    assert_int_equal(tool_msg_finish(&m, err, sizeof err), 0);
    assert_int_equal(tool_msg_commit(&m, "H1", &st, 0, err, sizeof err, &ex), 0);
    strcpy(info, tool_state_find(&st, "H1")->info);
    {
        long long off;
        unsigned long long l, h;
        assert_int_equal(sscanf(info, "mbox %lld %llu %llx", &off, &l, &h), 3);
    }
    /* a dead process's lock (a PID that cannot exist, this host) */
    {
        FILE *f = fopen(lock, "w");
        fprintf(f, "%ld %s\n", 999999999L, d.host);
        fclose(f);
    }
    t0 = time(NULL);
    assert_int_equal(tool_dest_resolve(&d, info), TOOL_RESOLVE_YES);
    assert_true(time(NULL) - t0 < 5);
    assert_int_not_equal(access(lock, F_OK), 0);
    /* the same length of other bytes at that offset: cannot tell */
    got = slurp(mb, &len);
    got[len - 3] ^= 1;
    {
        FILE *f = fopen(mb, "w");
        fwrite(got, 1, len, f);
        fclose(f);
    }
    free(got);
    assert_int_equal(tool_dest_resolve(&d, info), TOOL_RESOLVE_UNKNOWN);
    /* a shrunk mbox (rewritten by a mail reader): cannot tell, and nothing
     * is cut off */
    assert_int_equal(truncate(mb, 3), 0);
    {
        char shifted[340];
        long long off;
        unsigned long long l, h;
        sscanf(info, "mbox %lld %llu %llx", &off, &l, &h);
        snprintf(shifted, sizeof shifted, "mbox 10 %llu %016llx", l, h);
        assert_int_equal(tool_dest_resolve(&d, shifted), TOOL_RESOLVE_UNKNOWN);
    }
    got = slurp(mb, &len);
    assert_int_equal(len, 3);
    free(got);
    tool_state_close(&st);
    tool_dest_close(&d);
}

/* The targets are a table: each row complete, found by name, its name a
 * configuration key; an entry of one target resolves as not delivered in
 * another's destination. */
static void test_target_table(void **state)
{
    size_t i;
    tool_cfg cfg;
    tool_dest d;
    char err[512], md[128];
    int ex;
    (void)state;
    for (i = 0; tool_targets[i]; i++) {
        const tool_target *t = tool_targets[i];
        char text[128];
        assert_non_null(t->name);
        assert_non_null(t->arg);
        assert_non_null(t->help);
        assert_non_null(t->out);
        assert_non_null(t->finish);
        assert_non_null(t->commit);
        assert_non_null(t->resolve);
        assert_ptr_equal(tool_target_find(t->name), t);
        snprintf(text, sizeof text, "account a\n%s /x\n", t->name);
        assert_int_equal(tool_cfg_parse(&cfg, "t", text, NULL, err, sizeof err), 0);
        assert_string_equal(tool_cfg_get(&cfg, NULL, t->name), "/x");
        tool_cfg_free(&cfg);
    }
    assert_int_equal(i, 3);
    assert_null(tool_target_find("imap"));
    assert_int_equal(tool_cfg_parse(&cfg, "t", "imap /x\n", NULL, err, sizeof err), -1);
    snprintf(md, sizeof md, "%s/md-table", root);
    assert_int_equal(tool_dest_open(&d, &tool_target_maildir, md, err, sizeof err, &ex), 0);
    assert_int_equal(tool_dest_resolve(&d, "mbox 0 10 0123456789abcdef"), TOOL_RESOLVE_NO);
    assert_int_equal(tool_dest_resolve(&d, "mda"), TOOL_RESOLVE_NO);
    assert_int_equal(tool_dest_resolve(&d, "maildirx y"), TOOL_RESOLVE_NO);
    tool_dest_close(&d);
}

/* An mbox that does not end with a blank line (another program appended
 * without one) gets the blank line at its end, and its first bytes stay. */
static void test_mbox_pads_at_the_end(void **state)
{
    tool_dest d;
    tool_msg m;
    char err[512], mb[256];
    int ex;
    size_t len;
    char *got;
    static const char before[] = "From a@x.test Mon Jan  1 00:00:00 2024\nSubject: old\n\nold body\n";
    (void)state;
    snprintf(mb, sizeof mb, "%s/mbox-pad", root);
    {
        FILE *f = fopen(mb, "w");
        fputs(before, f);
        fclose(f);
    }
    assert_int_equal(tool_dest_open(&d, &tool_target_mbox, mb, err, sizeof err, &ex), 0);
    assert_int_equal(tool_msg_begin(&d, &m, err, sizeof err), 0);
    feed(&m, "Subject: new\r\n\r\nnew body\r\n", 5);
    assert_int_equal(tool_msg_finish(&m, err, sizeof err), 0);
    assert_int_equal(tool_msg_commit(&m, "P1", NULL, 0, err, sizeof err, &ex), 0);
    got = slurp(mb, &len);
    assert_non_null(got);
    assert_int_equal(memcmp(got, before, sizeof before - 1), 0); /* untouched */
    assert_int_equal(strncmp(got + sizeof before - 1, "\nFrom MAILER-DAEMON ", 20), 0);
    assert_non_null(strstr(got, "\nSubject: new\n\nnew body\n\n"));
    free(got);
    tool_dest_close(&d);
}

static void test_state_default_path(void **state)
{
    char *p;
    (void)state;
    setenv("XDG_STATE_HOME", "/st", 1);
    p = tool_state_default_path("me/x", "pop.test", "995");
    assert_string_equal(p, "/st/postie/uidl/me_x@pop.test:995");
    free(p);
    unsetenv("XDG_STATE_HOME");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_maildir_tmp_then_new),
        cmocka_unit_test(test_maildir_group_flush),
        cmocka_unit_test(test_maildir_resolve_pending),
        cmocka_unit_test(test_maildir_old_tmp_files_cleaned),
        cmocka_unit_test(test_maildir_uncreatable),
        cmocka_unit_test(test_mboxrd_quote),
        cmocka_unit_test(test_mbox_append_and_resolve),
        cmocka_unit_test(test_mda),
        cmocka_unit_test(test_state_file),
        cmocka_unit_test(test_state_default_path),
        cmocka_unit_test(test_state_many_uids),
        cmocka_unit_test(test_target_table),
        cmocka_unit_test(test_mbox_pads_at_the_end),
        cmocka_unit_test(test_mbox_resolve_by_content),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
