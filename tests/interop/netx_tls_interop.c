/*
 * netx_tls_interop.c - the NetX Duo POP3 and SMTP client services of
 * postie_netx over TLS (nx_postie_tls.h) against the real Postfix and Dovecot
 * of scripts/teststack.sh, every certificate verified against the stack's
 * own CA:
 *   1. nx_smtp_mail_send over STARTTLS (AUTH PLAIN) and over SMTPS (AUTH
 *      LOGIN): both mails arrive in USER1's Maildir with their bodies intact;
 *      a wrong server name and an unknown CA are refused, and nothing
 *      arrives;
 *   2. a larger message (dot lines) is put in the Maildir;
 *   3. the POP3 create over STLS (USER/PASS, checked against the server's IP
 *      address when no name is given) and over POP3S (APOP, with the
 *      certificate's pin) fetches every item packet by packet, byte for byte
 *      the Maildir files; the second deletes them; Dovecot's log must show
 *      both logins made over TLS;
 *   4. a wrong server name, an unknown CA and a wrong pin are refused on both
 *      POP3 ports; the create leaves nothing open.
 * Built without OpenSSL, it checks that the TLS calls say
 * NX_POSTIE_TLS_NOT_AVAILABLE.
 *
 * Settings from the environment (tests/interop/run.sh sources the stack's
 * env): STACK_SCRIPT STACK_DIR STACK_HOST POP3_PORT POP3S_PORT SMTP_PORT
 * SMTPS_PORT TLS_SERVER_NAME TLS_CA TLS_OTHER_CA TLS_SERVER_CERT DOVECOT_LOG
 * USER1 PASS1 MAILDIR1 (the pin is computed with the openssl tool). Prints "ok - ..." / "not ok - ..." lines and "N passed, N failed"
 * last; exit 1 when a check failed, 2 on a set-up error.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "interop_util.h"

#include "nx_api.h"
#include "nxd_pop3_client.h"
#include "nxd_smtp_client.h"
#include "nx_postie_tls.h"


static ULONG pool_area[(64 * (1500 + sizeof(NX_PACKET))) / sizeof(ULONG)];
static NX_PACKET_POOL pool;
static NX_IP ip;

#ifdef POSTIE_HAVE_OPENSSL

static const char *host, *name, *ca, *other_ca, *user, *pass, *maildir, *script, *stack;
static ULONG pop3_port, pop3s_port;
static UINT smtp_port, smtps_port;
static ULONG server_v4;

/* Number of files in MAILDIR/new and cur; the paths (up to 8) of them. */
static int maildir_files(char paths[][4096], int max)
{
    static const char *subs[2] = {"new", "cur"};
    int count = 0, s;
    for (s = 0; s < 2; s++) {
        char dir[4096];
        DIR *d;
        struct dirent *e;
        snprintf(dir, sizeof dir, "%s/%s", maildir, subs[s]);
        d = opendir(dir);
        if (d == NULL) continue;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.') continue;
            if (paths != NULL && count < max) {
                snprintf(paths[count], sizeof paths[count], "%.1000s/%.1000s", dir, e->d_name);
            }
            count++;
        }
        closedir(d);
    }
    return count;
}

/* The Maildir file holding needle, waiting for delivery up to 30 s. */
static char *wait_for(const char *needle)
{
    int round, i, n;
    char paths[8][4096];
    for (round = 0; round < 300; round++) {
        n = maildir_files(paths, 8);
        for (i = 0; i < n && i < 8; i++) {
            char *c = slurp(paths[i], NULL);
            if (c != NULL && strstr(c, needle) != NULL) return c;
            free(c);
        }
        {
            struct timespec ts = {0, 100000000L};
            nanosleep(&ts, NULL);
        }
    }
    return NULL;
}

static NX_POSTIE_TLS_CONFIG tls_config(UINT mode, const char *server_name, const char *ca_file)
{
    NX_POSTIE_TLS_CONFIG cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.nx_postie_tls_mode = mode;
    cfg.nx_postie_tls_server_name = (CHAR *)server_name;
    cfg.nx_postie_tls_ca_file = (CHAR *)ca_file;
    return cfg;
}

static const char BODY[] = "NetX Duo SMTP client over TLS.\r\nA line with a dot follows:\r\n"
                           ".\r\nand the mail goes on after it.\r\n";

/* One mail with nx_smtp_mail_send over TLS; returns its status. */
static UINT smtp_send(UINT port, UINT auth, const NX_POSTIE_TLS_CONFIG *cfg, const char *subject,
                      UINT *reply)
{
    NX_SMTP_CLIENT c;
    NXD_ADDRESS a;
    UINT status;
    memset(&a, 0, sizeof a);
    a.nxd_ip_version = NX_IP_VERSION_V4;
    a.nxd_ip_address.v4 = server_v4;
    status = nxd_smtp_client_create(&c, &ip, &pool, (CHAR *)user, (CHAR *)pass, (CHAR *)user,
                                    "client.postie.test", auth, &a, port);
    if (status != NX_SUCCESS) {
        printf("# nxd_smtp_client_create: 0x%02x\n", status);
        return status;
    }
    status = nx_postie_smtp_client_tls_set(&c, cfg);
    if (status == NX_SUCCESS) {
        status = nx_smtp_mail_send(&c, (CHAR *)user, NX_SMTP_MAIL_PRIORITY_NORMAL, (CHAR *)subject,
                                   (CHAR *)BODY, (UINT)strlen(BODY));
    }
    if (reply != NULL) *reply = c.nx_smtp_client_reply_code_status;
    nx_smtp_client_delete(&c);
    return status;
}

/* Every item, packet by packet, into *out (malloc'ed, concatenated);
 * deletes each when del. Returns the create status or the first failure. */
static UINT pop3_fetch(ULONG port, UINT apop, const NX_POSTIE_TLS_CONFIG *cfg, int del,
                       char **out, size_t *out_len, UINT *items)
{
    NX_POP3_CLIENT c;
    UINT status, n = 0, i;
    ULONG total = 0;
    size_t len = 0, cap = 1 << 20;
    char *data = malloc(cap);
    if (data == NULL) exit(2);
    *out = data;
    *out_len = 0;
    *items = 0;
    status = nx_postie_pop3_client_tls_create(&c, apop, &ip, &pool, server_v4, port, (CHAR *)user,
                                              (CHAR *)pass, cfg);
    if (status != NX_SUCCESS) {
        return status;
    }
    status = nx_pop3_client_mail_items_get(&c, &n, &total);
    for (i = 1; status == NX_SUCCESS && i <= n; i++) {
        ULONG size = 0;
        UINT final = NX_FALSE;
        status = nx_pop3_client_mail_item_get(&c, i, &size);
        while (status == NX_SUCCESS && !final) {
            NX_PACKET *pkt = NULL;
            ULONG got = 0;
            status = nx_pop3_client_mail_item_message_get(&c, &pkt, &got, &final);
            if (status == NX_SUCCESS) {
                while (len + got + 1 > cap) {
                    cap *= 2;
                    data = realloc(data, cap);
                    if (data == NULL) exit(2);
                }
                memcpy(data + len, pkt->nx_packet_prepend_ptr, got);
                len += got;
                nx_packet_release(pkt);
            }
        }
        if (status == NX_SUCCESS && del) {
            status = nx_pop3_client_mail_item_delete(&c, i);
        }
    }
    if (status == NX_SUCCESS) {
        status = nx_pop3_client_quit(&c);
    }
    nx_pop3_client_delete(&c);
    data[len] = '\0';
    *out = data;
    *out_len = len;
    *items = n;
    return status;
}

/* SHA-256 of the server certificate (DER), in hex, from the openssl tool. */
static int cert_pin(char *hex, size_t cap)
{
    char cmd[4096];
    FILE *p;
    snprintf(cmd, sizeof cmd, "openssl x509 -in '%s' -outform DER | openssl dgst -sha256 -r",
             need("TLS_SERVER_CERT"));
    p = popen(cmd, "r");
    if (p == NULL || fgets(hex, (int)cap, p) == NULL) {
        if (p) pclose(p);
        return -1;
    }
    pclose(p);
    hex[strcspn(hex, " \n")] = '\0';
    return strlen(hex) == 64 ? 0 : -1;
}

/* Dovecot's log from offset on: logins of USER1, and those made over TLS. */
static void logins_since(size_t offset, int *logins, int *over_tls)
{
    size_t len = 0;
    char *log = slurp(need("DOVECOT_LOG"), &len), *line;
    char key[512];
    *logins = *over_tls = 0;
    if (log == NULL || offset > len) {
        free(log);
        return;
    }
    snprintf(key, sizeof key, "Login: user=<%s>", user);
    for (line = strtok(log + offset, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        if (strstr(line, key) != NULL) {
            (*logins)++;
            if (strstr(line, ", TLS") != NULL) (*over_tls)++;
        }
    }
    free(log);
}

static size_t log_size(void)
{
    size_t len = 0;
    char *log = slurp(need("DOVECOT_LOG"), &len);
    free(log);
    return len;
}

static void refusals(const char *what, ULONG port, UINT mode, const char *pin_hex)
{
    NX_POSTIE_TLS_CONFIG cfg;
    char *out = NULL;
    size_t len;
    UINT items, st;

    cfg = tls_config(mode, "wrong.example", ca);
    st = pop3_fetch(port, NX_FALSE, &cfg, 0, &out, &len, &items);
    check(st == NX_POSTIE_TLS_VERIFY_FAILED, "%s: a wrong server name is refused (0x%x)", what, st);
    free(out);
    cfg = tls_config(mode, name, other_ca);
    st = pop3_fetch(port, NX_FALSE, &cfg, 0, &out, &len, &items);
    check(st == NX_POSTIE_TLS_VERIFY_FAILED, "%s: a CA that did not sign the certificate is refused (0x%x)",
          what, st);
    free(out);
    cfg = tls_config(mode, name, ca);
    cfg.nx_postie_tls_pin_type = NX_POSTIE_TLS_PIN_CERT;
    cfg.nx_postie_tls_pin_sha256 = (CHAR *)pin_hex;
    st = pop3_fetch(port, NX_FALSE, &cfg, 0, &out, &len, &items);
    check(st == NX_POSTIE_TLS_VERIFY_FAILED, "%s: a pin that is not the certificate's is refused (0x%x)",
          what, st);
    free(out);
}

int main(void)
{
    char subject[2][128], cmd[8192], big_path[4096], pin[80], paths[8][4096];
    char *stored, *want[8], *out;
    size_t want_len[8], out_len;
    NX_POSTIE_TLS_CONFIG cfg;
    UINT st, reply = 0, items = 0;
    int i, n, all, logins = 0, over_tls = 0;
    size_t log_offset;
    unsigned char a4[4];

    host = need("STACK_HOST");
    name = need("TLS_SERVER_NAME");
    ca = need("TLS_CA");
    other_ca = need("TLS_OTHER_CA");
    user = need("USER1");
    pass = need("PASS1");
    maildir = need("MAILDIR1");
    script = need("STACK_SCRIPT");
    stack = need("STACK_DIR");
    pop3_port = strtoul(need("POP3_PORT"), NULL, 10);
    pop3s_port = strtoul(need("POP3S_PORT"), NULL, 10);
    smtp_port = (UINT)strtoul(need("SMTP_PORT"), NULL, 10);
    smtps_port = (UINT)strtoul(need("SMTPS_PORT"), NULL, 10);
    if (inet_pton(AF_INET, host, a4) != 1) {
        printf("# STACK_HOST is not IPv4\n0 passed, 1 failed\n");
        return 2;
    }
    server_v4 = IP_ADDRESS(a4[0], a4[1], a4[2], a4[3]);
    if (nx_packet_pool_create(&pool, "netx tls", 1500, pool_area, sizeof pool_area) != NX_SUCCESS) {
        printf("# pool\n0 passed, 1 failed\n");
        return 2;
    }

    snprintf(cmd, sizeof cmd, "'%s' reset '%s' '%s'", script, stack, user);
    if (!check(system(cmd) == 0 && maildir_files(NULL, 0) == 0, "mailbox of %s emptied", user)) {
        printf("%d passed, %d failed\n", passed, failed);
        return 2;
    }

    /* 1. SMTP */
    for (i = 0; i < 2; i++) {
        snprintf(subject[i], sizeof subject[i], "netx tls %s %ld-%ld", i == 0 ? "starttls" : "smtps",
                 (long)getpid(), (long)time(NULL));
    }
    cfg = tls_config(NX_POSTIE_TLS_STARTTLS, name, ca);
    st = smtp_send(smtp_port, NX_SMTP_CLIENT_AUTH_PLAIN, &cfg, subject[0], &reply);
    check(st == NX_SUCCESS && reply == 250, "smtp STARTTLS, AUTH PLAIN: mail sent (0x%x, reply %u)", st,
          reply);
    cfg = tls_config(NX_POSTIE_TLS_IMPLICIT, name, ca);
    st = smtp_send(smtps_port, NX_SMTP_CLIENT_AUTH_LOGIN, &cfg, subject[1], &reply);
    check(st == NX_SUCCESS && reply == 250, "smtps, AUTH LOGIN: mail sent (0x%x, reply %u)", st, reply);
    for (i = 0; i < 2; i++) {
        stored = wait_for(subject[i]);
        check(stored != NULL && strstr(stored, "\nFrom: ") != NULL && strstr(stored, "\nMessage-ID: <") &&
                  strstr(stored, "\n\nNetX Duo SMTP client over TLS.\nA line with a dot follows:\n"
                                 ".\nand the mail goes on after it.\n") != NULL,
              "the %s mail arrived with its headers and its body whole", i == 0 ? "STARTTLS" : "SMTPS");
        free(stored);
    }
    cfg = tls_config(NX_POSTIE_TLS_STARTTLS, "wrong.example", ca);
    st = smtp_send(smtp_port, NX_SMTP_CLIENT_AUTH_PLAIN, &cfg, "not sent", NULL);
    check(st == NX_POSTIE_TLS_VERIFY_FAILED, "smtp STARTTLS: a wrong server name is refused (0x%x)", st);
    cfg = tls_config(NX_POSTIE_TLS_IMPLICIT, "wrong.example", ca);
    st = smtp_send(smtps_port, NX_SMTP_CLIENT_AUTH_PLAIN, &cfg, "not sent", NULL);
    check(st == NX_POSTIE_TLS_VERIFY_FAILED, "smtps: a wrong server name is refused (0x%x)", st);
    cfg = tls_config(NX_POSTIE_TLS_IMPLICIT, name, other_ca);
    st = smtp_send(smtps_port, NX_SMTP_CLIENT_AUTH_PLAIN, &cfg, "not sent", NULL);
    check(st == NX_POSTIE_TLS_VERIFY_FAILED, "smtps: a CA that did not sign the certificate is refused (0x%x)",
          st);
    {
        struct timespec ts = {1, 0};
        nanosleep(&ts, NULL); /* a refused mail would have had time to arrive */
    }
    check(maildir_files(NULL, 0) == 2, "nothing arrived from the refused sessions");

    /* 2. a larger message with dot lines, put in place directly */
    snprintf(big_path, sizeof big_path, "%s/netx-tls-interop-big.eml", stack);
    {
        FILE *f = fopen(big_path, "wb");
        if (f == NULL) { printf("# cannot write %s\n", big_path); return 2; }
        fprintf(f, "From: %s\nTo: %s\nSubject: big over TLS\n\n", user, user);
        for (i = 0; i < 3000; i++) {
            fprintf(f, "%s%05d the quick brown fox jumps over the lazy dog\n",
                    i % 7 == 0 ? "." : (i % 11 == 0 ? ".." : ""), i);
        }
        fprintf(f, ".\nend\n");
        fclose(f);
    }
    snprintf(cmd, sizeof cmd, "'%s' deliver '%s' '%s' '%s' >/dev/null", script, stack, user, big_path);
    check(system(cmd) == 0 && maildir_files(NULL, 0) == 3, "a third, larger message delivered");
    remove(big_path);

    /* what POP3 must serve: the Maildir files with CRLF line ends */
    n = maildir_files(paths, 8);
    for (i = 0; i < n && i < 8; i++) {
        size_t len;
        char *c = slurp(paths[i], &len);
        want[i] = c ? crlf(c, len, &want_len[i]) : NULL;
        free(c);
    }

    /* 3. POP3 over STLS (USER/PASS; no name: the certificate's IP address),
     * then over POP3S (APOP, pinned), which deletes */
    if (cert_pin(pin, sizeof pin) != 0) {
        printf("# cannot compute the certificate's pin\n");
        pin[0] = '\0';
    }
    log_offset = log_size();
    cfg = tls_config(NX_POSTIE_TLS_STARTTLS, NULL, ca);
    st = pop3_fetch(pop3_port, NX_FALSE, &cfg, 0, &out, &out_len, &items);
    check(st == NX_SUCCESS && items == 3, "pop3 STLS (USER/PASS, checked against %s): 3 items fetched (0x%x)",
          host, st);
    for (all = 1, i = 0; i < n && i < 8; i++) {
        if (want[i] == NULL || strstr(out, want[i]) == NULL) all = 0;
    }
    check(all && out_len == want_len[0] + want_len[1] + want_len[2],
          "pop3 STLS: the packets held the three messages byte for byte");
    free(out);

    cfg = tls_config(NX_POSTIE_TLS_IMPLICIT, name, ca);
    cfg.nx_postie_tls_pin_type = NX_POSTIE_TLS_PIN_CERT;
    cfg.nx_postie_tls_pin_sha256 = pin;
    st = pop3_fetch(pop3s_port, NX_TRUE, &cfg, 1, &out, &out_len, &items);
    check(st == NX_SUCCESS && items == 3, "pop3s (APOP, pinned): 3 items fetched and deleted (0x%x)", st);
    for (all = 1, i = 0; i < n && i < 8; i++) {
        if (want[i] == NULL || strstr(out, want[i]) == NULL) all = 0;
        free(want[i]);
    }
    check(all && out_len == want_len[0] + want_len[1] + want_len[2],
          "pop3s: the packets held the three messages byte for byte");
    free(out);
    check(maildir_files(NULL, 0) == 0, "the items were deleted at QUIT");
    logins_since(log_offset, &logins, &over_tls);
    check(logins == 2 && over_tls == 2, "Dovecot logged both logins as made over TLS (%d of %d)", over_tls,
          logins);

    /* 4. refusals */
    refusals("pop3 STLS", pop3_port, NX_POSTIE_TLS_STARTTLS,
             "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
    refusals("pop3s", pop3s_port, NX_POSTIE_TLS_IMPLICIT,
             "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");

    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

#else /* built without OpenSSL */

int main(void)
{
    NX_POP3_CLIENT p;
    NX_SMTP_CLIENT s;
    NXD_ADDRESS a;
    NX_POSTIE_TLS_CONFIG cfg;
    UINT st;

    memset(&cfg, 0, sizeof cfg);
    cfg.nx_postie_tls_mode = NX_POSTIE_TLS_STARTTLS;
    cfg.nx_postie_tls_server_name = (CHAR *)need("TLS_SERVER_NAME");
    nx_packet_pool_create(&pool, "netx tls", 1500, pool_area, sizeof pool_area);
    st = nx_postie_pop3_client_tls_create(&p, NX_FALSE, &ip, &pool, IP_ADDRESS(127, 0, 0, 1),
                                          strtoul(need("POP3_PORT"), NULL, 10), (CHAR *)need("USER1"),
                                          (CHAR *)need("PASS1"), &cfg);
    check(st == NX_POSTIE_TLS_NOT_AVAILABLE, "built without OpenSSL: the POP3 TLS create says so (0x%x)", st);
    memset(&a, 0, sizeof a);
    a.nxd_ip_version = NX_IP_VERSION_V4;
    a.nxd_ip_address.v4 = IP_ADDRESS(127, 0, 0, 1);
    st = nxd_smtp_client_create(&s, &ip, &pool, (CHAR *)need("USER1"), (CHAR *)need("PASS1"),
                                (CHAR *)need("USER1"), "client.postie.test", NX_SMTP_CLIENT_AUTH_PLAIN, &a,
                                (UINT)strtoul(need("SMTP_PORT"), NULL, 10));
    if (st == NX_SUCCESS) {
        st = nx_postie_smtp_client_tls_set(&s, &cfg);
        nx_smtp_client_delete(&s);
    }
    check(st == NX_POSTIE_TLS_NOT_AVAILABLE, "built without OpenSSL: the SMTP TLS set says so (0x%x)", st);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

#endif
