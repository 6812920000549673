/*
 * netx_interop.c - the NetX Duo sample programs (examples/netx), built against
 * postie_netx, against the real Postfix and Dovecot of scripts/teststack.sh.
 *
 * The samples are run unchanged, as separate programs; only the environment
 * tells them the server, port and credentials (examples/netx/demo_settings.h).
 *   1. demo_netx_smtp_client sends a mail to USER1 through Postfix (AUTH
 *      PLAIN); it must arrive in USER1's Maildir with its headers, its body
 *      and its "." line intact.
 *   2. a second, larger message (dot lines, 200 KB) is put in the Maildir;
 *   3. demo_netx_pop3_client (APOP, then USER/PASS) fetches every item packet
 *      by packet and deletes it: its output must hold both messages exactly
 *      (the Maildir bytes with CRLF line ends), and the Maildir must be empty
 *      afterwards; a second run finds no items.
 *
 * Settings from the environment (tests/interop/run.sh sources the stack's
 * env): STACK_SCRIPT STACK_DIR USER1 PASS1 MAILDIR1. The samples are looked
 * for in BUILD/examples/netx (BUILD = two levels above this program), or in
 * NETX_DEMO_DIR. Prints "ok - ..." / "not ok - ..." lines and
 * "N passed, N failed" last; exit 1 when a check failed, 2 on a set-up error.
 */
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "interop_util.h"

static char demo_dir[4096];

/* Runs a shell command, captures stdout into a malloc'ed buffer. */
static char *run(const char *cmd, int *status, size_t *len)
{
    FILE *p = popen(cmd, "r");
    size_t cap = 65536, n = 0, r;
    char *text = malloc(cap);
    if (p == NULL || text == NULL) {
        *status = -1;
        free(text);
        return NULL;
    }
    while ((r = fread(text + n, 1, cap - n - 1, p)) > 0) {
        n += r;
        if (cap - n < 4096) {
            cap *= 2;
            text = realloc(text, cap);
            if (text == NULL) exit(2);
        }
    }
    text[n] = '\0';
    *status = pclose(p);
    if (len) *len = n;
    return text;
}

/* Files in MAILDIR/sub; the path of the first whose content holds needle. */
static int find_in(const char *maildir, const char *sub, const char *needle, char *path, size_t cap)
{
    char dir[4096];
    DIR *d;
    struct dirent *e;
    int count = 0;
    snprintf(dir, sizeof dir, "%s/%s", maildir, sub);
    d = opendir(dir);
    if (d == NULL) return 0;
    while ((e = readdir(d)) != NULL) {
        char p[8192];
        char *c;
        if (e->d_name[0] == '.') continue;
        count++;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (needle != NULL && path != NULL && (c = slurp(p, NULL)) != NULL) {
            if (strstr(c, needle) != NULL) snprintf(path, cap, "%s", p);
            free(c);
        }
    }
    closedir(d);
    return count;
}

static int mailbox_count(const char *maildir)
{
    return find_in(maildir, "new", NULL, NULL, 0) + find_in(maildir, "cur", NULL, NULL, 0);
}

int main(int argc, char **argv)
{
    const char *script = need("STACK_SCRIPT"), *stack = need("STACK_DIR");
    const char *user = need("USER1"), *maildir = need("MAILDIR1");
    char cmd[16384], subject[128], found[8192] = "", big_path[4096], delivered[8192] = "";
    char *out, *stored, *want[2] = {NULL, NULL};
    size_t want_len[2] = {0, 0};
    size_t out_len, stored_len;
    int st, i;
    (void)argc;

    need("PASS1");
    if (getenv("NETX_DEMO_DIR") != NULL) {
        snprintf(demo_dir, sizeof demo_dir, "%s", getenv("NETX_DEMO_DIR"));
    } else {
        char self[2048];
        char *slash;
        snprintf(self, sizeof self, "%s", argv[0]);
        slash = strrchr(self, '/');
        if (slash) *slash = '\0'; else snprintf(self, sizeof self, ".");
        snprintf(demo_dir, sizeof demo_dir, "%s/../examples/netx", self);
    }

    snprintf(cmd, sizeof cmd, "'%s' reset '%s' '%s'", script, stack, user);
    free(run(cmd, &st, NULL));
    if (!check(st == 0 && mailbox_count(maildir) == 0, "mailbox of %s emptied", user)) {
        printf("%d passed, %d failed\n", passed, failed);
        return 2;
    }

    /* 1. the SMTP sample */
    snprintf(subject, sizeof subject, "netx interop %ld-%ld", (long)getpid(), (long)time(NULL));
    snprintf(cmd, sizeof cmd, "NETX_DEMO_RECIPIENT='%s' NETX_DEMO_SUBJECT='%s' '%s/demo_netx_smtp_client'",
             user, subject, demo_dir);
    out = run(cmd, &st, NULL);
    printf("# %s", out ? out : "(no output)\n");
    check(st == 0 && out && strstr(out, "mail send: 0x00 (server reply 250)") != NULL,
          "demo_netx_smtp_client sent its mail (exit %d)", st);
    free(out);
    for (i = 0; i < 300 && found[0] == '\0'; i++) {
        find_in(maildir, "new", subject, found, sizeof found);
        if (found[0] == '\0') {
            struct timespec ts = {0, 100000000L};
            nanosleep(&ts, NULL);
        }
    }
    if (check(found[0] != '\0', "the mail arrived in %s's Maildir", user)) {
        stored = slurp(found, &stored_len);
        check(stored != NULL && strstr(stored, "\nSubject: netx interop") != NULL &&
              strstr(stored, "\nFrom: ") != NULL && strstr(stored, "\nTo: ") != NULL &&
              strstr(stored, "\nMessage-ID: <") != NULL && strstr(stored, "\nDate: ") != NULL &&
              strstr(stored, "\nMIME-Version: 1.0\n") != NULL,
              "it has the composed headers");
        check(stored != NULL && strstr(stored, "\n\nNetX Duo SMTP client demo.\nA line with a dot follows:\n"
                                               ".\nand the mail goes on after it.\n") != NULL,
              "its body arrived whole, the \".\" line included");
        free(stored);
    }

    /* 2. a larger message with dot lines, put in place directly */
    snprintf(big_path, sizeof big_path, "%s/netx-interop-big.eml", stack);
    {
        FILE *f = fopen(big_path, "wb");
        if (f == NULL) { printf("# cannot write %s\n", big_path); return 2; }
        fprintf(f, "From: %s\nTo: %s\nSubject: big %s\n\n", user, user, subject);
        for (i = 0; i < 3000; i++) {
            fprintf(f, "%s%05d the quick brown fox jumps over the lazy dog\n",
                    i % 7 == 0 ? "." : (i % 11 == 0 ? ".." : ""), i);
        }
        fprintf(f, ".\nend\n");
        fclose(f);
    }
    snprintf(cmd, sizeof cmd, "'%s' deliver '%s' '%s' '%s'", script, stack, user, big_path);
    out = run(cmd, &st, NULL);
    if (out) {
        out[strcspn(out, "\n")] = '\0';
        snprintf(delivered, sizeof delivered, "%s", out);
    }
    free(out);
    check(st == 0 && mailbox_count(maildir) == 2, "a second, larger message delivered");

    /* what POP3 must serve: the Maildir files with CRLF line ends (read now:
     * the server removes them when the sample deletes the items) */
    {
        const char *files[2];
        files[0] = found;
        files[1] = delivered;
        for (i = 0; i < 2; i++) {
            size_t n;
            char *c = files[i][0] ? slurp(files[i], &n) : NULL;
            want[i] = c ? crlf(c, n, &want_len[i]) : NULL;
            free(c);
        }
    }

    /* 3. the POP3 sample: APOP, then (second run) USER/PASS */
    snprintf(cmd, sizeof cmd, "NETX_DEMO_APOP=1 '%s/demo_netx_pop3_client'", demo_dir);
    out = run(cmd, &st, &out_len);
    check(st == 0 && out && strstr(out, "maildrop: 2 items") != NULL && strstr(out, "quit: 0x00") != NULL,
          "demo_netx_pop3_client fetched 2 items and quit (exit %d)", st);
    {
        int all = 1;
        for (i = 0; i < 2; i++) {
            if (want[i] == NULL || out == NULL || strstr(out, want[i]) == NULL) {
                all = 0;
                printf("# message %d not found whole in the sample's output\n", i + 1);
            }
            free(want[i]);
        }
        check(all, "the sample's packets held both messages byte for byte (dot lines unstuffed)");
    }
    if (out && (st != 0 || failed)) {
        printf("# sample output (first 2000 bytes):\n%.2000s\n", out);
    }
    free(out);
    check(mailbox_count(maildir) == 0, "both items were deleted at QUIT");

    snprintf(cmd, sizeof cmd, "NETX_DEMO_APOP=0 '%s/demo_netx_pop3_client'", demo_dir);
    out = run(cmd, &st, NULL);
    check(st == 0 && out && strstr(out, "maildrop: 0 items") != NULL && strstr(out, "quit: 0x00") != NULL,
          "a second run (USER/PASS) finds the maildrop empty (exit %d)", st);
    free(out);

    /* a wrong password is refused, not taken for success */
    snprintf(cmd, sizeof cmd, "PASS1=wrong-password NETX_DEMO_APOP=0 '%s/demo_netx_pop3_client'", demo_dir);
    out = run(cmd, &st, NULL);
    check(st != 0 && out && strstr(out, "POP3 client create failed: 0xb4") != NULL,
          "a wrong password makes the create service fail");
    free(out);

    remove(big_path);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
