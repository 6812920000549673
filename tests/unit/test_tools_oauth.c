/* tools/oauth.c and tools/http.c without a provider: which URLs may be used,
 * form encoding, the settings and presets, the token file (a valid token is
 * used as it is; a file others may read is refused; no file asks for
 * --authorize), a refresh whose provider cannot be reached (exit 75, the
 * file left byte for byte), and a token endpoint played by a forked child
 * on loopback: silent (the request ends at its timeout), an endless answer
 * (cut at 256 KiB), 503 (75), invalid_grant (77), a rotated refresh token
 * (saved, mode 0600, before the new access token is used). The flows
 * against a real provider: tests/oauth/run.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "common.h"
#include "config.h"
#include "http.h"
#include "oauth.h"
#include "postie/sasl.h"

static char dir[64];
static char path[128];

static int setup_dir(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/postie-oauth-test.XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/tokens.json", dir);
    return 0;
}

static int remove_dir(void **state)
{
    char cmd[128];
    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static void test_url_ok(void **state)
{
    (void)state;
    assert_true(tool_http_url_ok("https://login.microsoftonline.com/common/oauth2/v2.0/token"));
    assert_true(tool_http_url_ok("http://127.0.0.1:8080/token"));
    assert_true(tool_http_url_ok("http://127.1.2.3/token"));
    assert_true(tool_http_url_ok("http://localhost:9/x"));
    assert_true(tool_http_url_ok("http://[::1]:9/x"));
    assert_false(tool_http_url_ok("http://example.org/token"));     /* plain http elsewhere */
    assert_false(tool_http_url_ok("http://127.0.0.1.example.org/"));
    assert_false(tool_http_url_ok("https://user:pw@example.org/"));  /* no userinfo */
    assert_false(tool_http_url_ok("https://example.org/a b"));
    assert_false(tool_http_url_ok("https://example.org/\r\nX: y"));
    assert_false(tool_http_url_ok("ftp://example.org/"));
    assert_false(tool_http_url_ok("file:///etc/passwd"));
    assert_false(tool_http_url_ok("https://"));
    assert_false(tool_http_url_ok(NULL));
}

static void test_form(void **state)
{
    char *f = NULL;
    (void)state;
    assert_int_equal(tool_http_form_add(&f, "grant_type", "refresh_token"), 0);
    assert_int_equal(tool_http_form_add(&f, "x", "a b&c=d/\xc3\xa9~-._"), 0);
    assert_string_equal(f, "grant_type=refresh_token&x=a%20b%26c%3Dd%2F%C3%A9~-._");
    tool_http_form_free(f);
}

static void load(tool_cfg *cfg, const char *text)
{
    char err[256];
    memset(cfg, 0, sizeof *cfg);
    assert_int_equal(tool_cfg_parse(cfg, "test", text, NULL, err, sizeof err), 0);
}

static int setup_with(const char *text, tool_oauth *o)
{
    tool_cfg cfg;
    int rc;
    load(&cfg, text);
    rc = tool_oauth_setup(o, &cfg, "pop3", tool_cfg_get(&cfg, "pop3", "user"), 5000,
                          "postie-fetch --authorize -a t");
    /* the struct copies what it keeps; only user points into cfg */
    o->user = "me@example.org";
    tool_cfg_free(&cfg);
    return rc;
}

static void test_settings(void **state)
{
    tool_oauth o;
    (void)state;
    tool_progname = "postie-fetch";
    assert_int_equal(setup_with("account t\nuser me@example.org\noauth_provider microsoft\n"
                                "oauth_client_id abc\n", &o), 0);
    assert_true(o.active);
    assert_string_equal(o.token_ep, "https://login.microsoftonline.com/common/oauth2/v2.0/token");
    assert_string_equal(o.device_ep,
                        "https://login.microsoftonline.com/common/oauth2/v2.0/devicecode");
    assert_non_null(strstr(o.scope, "https://outlook.office.com/POP.AccessAsUser.All"));
    assert_non_null(strstr(o.scope, "https://outlook.office.com/SMTP.Send"));
    assert_non_null(strstr(o.scope, "offline_access"));
    assert_int_equal(o.mechs, POSTIE_SASL_TOKEN_MECHS);
    tool_oauth_free(&o);

    assert_int_equal(setup_with("account t\nuser me@example.org\noauth_provider microsoft\n"
                                "oauth_client_id abc\noauth_tenant contoso.onmicrosoft.com\n"
                                "pop3_oauth_mechanism xoauth2\n", &o), 0);
    assert_string_equal(o.auth_ep, "https://login.microsoftonline.com/contoso.onmicrosoft.com/"
                                   "oauth2/v2.0/authorize");
    assert_int_equal(o.mechs, POSTIE_SASL_XOAUTH2);
    tool_oauth_free(&o);

    assert_int_equal(setup_with("account t\nuser me@gmail.com\noauth_provider google\n"
                                "oauth_client_id abc\noauth_client_secret s\n", &o), 0);
    assert_null(o.device_ep); /* Google's device flow has no mail scope */
    assert_string_equal(o.scope, "https://mail.google.com/");
    assert_non_null(strstr(o.extra_auth, "access_type=offline"));
    assert_string_equal(o.client_secret, "s");
    tool_oauth_free(&o);

    /* an issuer: endpoints come from discovery at --authorize */
    assert_int_equal(setup_with("account t\nuser u\noauth_provider https://id.example.org\n"
                                "oauth_client_id abc\n", &o), 0);
    assert_string_equal(o.issuer, "https://id.example.org");
    assert_null(o.token_ep);
    assert_string_equal(o.scope, "offline_access");
    tool_oauth_free(&o);

    /* what is refused, as configuration errors */
    assert_int_equal(setup_with("account t\nuser u\noauth_provider microsoft\n", &o),
                     TOOL_EX_CONFIG); /* no client id */
    tool_oauth_free(&o);
    assert_int_equal(setup_with("account t\nuser u\noauth_provider yahoo\noauth_client_id a\n", &o),
                     TOOL_EX_CONFIG);
    tool_oauth_free(&o);
    assert_int_equal(setup_with("account t\nuser u\noauth_provider http://id.example.org\n"
                                "oauth_client_id a\n", &o), TOOL_EX_CONFIG); /* plain http */
    tool_oauth_free(&o);
    assert_int_equal(setup_with("account t\nuser u\noauth_provider microsoft\noauth_client_id a\n"
                                "oauth_tenant ../x\n", &o), TOOL_EX_CONFIG);
    tool_oauth_free(&o);
    assert_int_equal(setup_with("account t\nuser u\noauth_provider microsoft\noauth_client_id a\n"
                                "oauth_flow magic\n", &o), TOOL_EX_CONFIG);
    tool_oauth_free(&o);
    assert_int_equal(setup_with("account t\nuser u\noauth_provider microsoft\noauth_client_id a\n"
                                "oauth_mechanism plain\n", &o), TOOL_EX_CONFIG);
    tool_oauth_free(&o);
}

static void test_hint(void **state)
{
    char *h;
    (void)state;
    h = tool_oauth_hint("postie-send", "/etc/postie.conf", "work");
    assert_string_equal(h, "postie-send --authorize -C /etc/postie.conf -a work");
    free(h);
    h = tool_oauth_hint("postie-fetch", NULL, NULL);
    assert_string_equal(h, "postie-fetch --authorize");
    free(h);
}

/* ---- the token file and the login ------------------------------------------------ */

static const char *seen;
static int calls;
static postie_status refuse_first; /* what the first AUTH returns */

static postie_status fake_auth(void *ctx, const char *token)
{
    static char buf[256];
    (void)ctx;
    calls++;
    snprintf(buf, sizeof buf, "%s", token);
    seen = buf;
    return calls == 1 ? refuse_first : POSTIE_OK;
}

static void write_file(const char *text, mode_t mode)
{
    FILE *f;
    unlink(path);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    chmod(path, mode);
}

static char *slurp(void)
{
    static char buf[4096];
    FILE *f = fopen(path, "r");
    size_t n;
    assert_non_null(f);
    n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void oauth_for_file(tool_oauth *o)
{
    char text[512];
    snprintf(text, sizeof text,
             "account t\nuser me@example.org\noauth_provider microsoft\noauth_client_id abc\n"
             "oauth_token_file %s\n", path);
    assert_int_equal(setup_with(text, o), 0);
}

static void test_valid_token_used(void **state)
{
    tool_oauth o;
    char text[512];
    postie_status st = POSTIE_ERR_INTERNAL;
    (void)state;
    snprintf(text, sizeof text,
             "{\"access_token\":\"AT-valid-123\",\"refresh_token\":\"RT-1\",\"expires_at\":%lld,"
             "\"token_endpoint\":\"http://127.0.0.1:1/token\",\"client_id\":\"abc\"}",
             (long long)time(NULL) + 3600);
    write_file(text, 0600);
    oauth_for_file(&o);
    calls = 0;
    refuse_first = POSTIE_OK;
    assert_int_equal(tool_oauth_login(&o, fake_auth, NULL, &st), 0);
    assert_int_equal(st, POSTIE_OK);
    assert_int_equal(calls, 1);
    assert_string_equal(seen, "AT-valid-123");
    tool_oauth_free(&o);

    /* a short-lived token (20 s, issued now) is used while a quarter of its
     * life is left, not refreshed at once (the endpoint cannot be reached:
     * a refresh would be exit 75) */
    snprintf(text, sizeof text,
             "{\"access_token\":\"AT-short\",\"refresh_token\":\"RT-1\",\"expires_at\":%lld,"
             "\"issued_at\":%lld,\"token_endpoint\":\"http://127.0.0.1:1/token\"}",
             (long long)time(NULL) + 20, (long long)time(NULL));
    write_file(text, 0600);
    oauth_for_file(&o);
    calls = 0;
    assert_int_equal(tool_oauth_login(&o, fake_auth, NULL, &st), 0);
    assert_string_equal(seen, "AT-short");
    tool_oauth_free(&o);
    /* without issued_at the margin is a minute: 20 s left means a refresh */
    snprintf(text, sizeof text,
             "{\"access_token\":\"AT-short\",\"refresh_token\":\"RT-1\",\"expires_at\":%lld,"
             "\"token_endpoint\":\"http://127.0.0.1:1/token\"}",
             (long long)time(NULL) + 20);
    write_file(text, 0600);
    oauth_for_file(&o);
    calls = 0;
    assert_int_equal(tool_oauth_login(&o, fake_auth, NULL, &st), TOOL_EX_TEMPFAIL);
    assert_int_equal(calls, 0);
    tool_oauth_free(&o);
}

static void test_file_others_may_read(void **state)
{
    tool_oauth o;
    postie_status st = POSTIE_OK;
    (void)state;
    write_file("{\"access_token\":\"AT\",\"expires_at\":99999999999}", 0644);
    oauth_for_file(&o);
    calls = 0;
    assert_int_equal(tool_oauth_login(&o, fake_auth, NULL, &st), TOOL_EX_CONFIG);
    assert_int_equal(calls, 0);
    tool_oauth_free(&o);
}

static void test_no_file(void **state)
{
    tool_oauth o;
    postie_status st = POSTIE_OK;
    (void)state;
    unlink(path);
    oauth_for_file(&o);
    calls = 0;
    assert_int_equal(tool_oauth_login(&o, fake_auth, NULL, &st), TOOL_EX_NOPERM);
    assert_int_equal(calls, 0);
    tool_oauth_free(&o);
}

static void test_provider_down(void **state)
{
    tool_oauth o;
    char text[512], before[4096];
    postie_status st = POSTIE_OK;
    (void)state;
    /* expired: a refresh is needed, and nothing listens on port 1 */
    snprintf(text, sizeof text,
             "{\"access_token\":\"AT-old\",\"refresh_token\":\"RT-keep\",\"expires_at\":%lld,"
             "\"token_endpoint\":\"http://127.0.0.1:1/token\",\"client_id\":\"abc\"}",
             (long long)time(NULL) - 10);
    write_file(text, 0600);
    strcpy(before, slurp());
    oauth_for_file(&o);
    calls = 0;
    assert_int_equal(tool_oauth_login(&o, fake_auth, NULL, &st), TOOL_EX_TEMPFAIL);
    assert_int_equal(calls, 0);
    assert_string_equal(slurp(), before);
    tool_oauth_free(&o);

    /* valid by the file, refused by the server: the forced refresh cannot
     * reach the provider either; 75, and the file as it was */
    snprintf(text, sizeof text,
             "{\"access_token\":\"AT-refused\",\"refresh_token\":\"RT-keep\",\"expires_at\":%lld,"
             "\"token_endpoint\":\"http://127.0.0.1:1/token\",\"client_id\":\"abc\"}",
             (long long)time(NULL) + 3600);
    write_file(text, 0600);
    strcpy(before, slurp());
    oauth_for_file(&o);
    calls = 0;
    refuse_first = POSTIE_ERR_AUTH;
    assert_int_equal(tool_oauth_login(&o, fake_auth, NULL, &st), TOOL_EX_TEMPFAIL);
    assert_int_equal(calls, 1);
    assert_string_equal(seen, "AT-refused");
    assert_string_equal(slurp(), before);
    tool_oauth_free(&o);
}

static void test_bad_token_never_sent(void **state)
{
    tool_oauth o;
    char text[512];
    postie_status st = POSTIE_OK;
    (void)state;
    /* an access token with CR LF in it (a damaged or hostile file) is not
     * used: the tool tries to refresh instead (here: provider unreachable) */
    snprintf(text, sizeof text,
             "{\"access_token\":\"AT\\r\\nQUIT\",\"refresh_token\":\"RT\",\"expires_at\":%lld,"
             "\"token_endpoint\":\"http://127.0.0.1:1/token\",\"client_id\":\"abc\"}",
             (long long)time(NULL) + 3600);
    write_file(text, 0600);
    oauth_for_file(&o);
    calls = 0;
    refuse_first = POSTIE_OK;
    assert_int_equal(tool_oauth_login(&o, fake_auth, NULL, &st), TOOL_EX_TEMPFAIL);
    assert_int_equal(calls, 0);
    tool_oauth_free(&o);
    /* a file that is not JSON: 78 and the re-authorize command */
    write_file("not json", 0600);
    oauth_for_file(&o);
    assert_int_equal(tool_oauth_login(&o, fake_auth, NULL, &st), TOOL_EX_CONFIG);
    assert_int_equal(calls, 0);
    tool_oauth_free(&o);
}

/* ---- a token endpoint played by a child process ------------------------------ */

enum { EP_SILENT, EP_ENDLESS, EP_503, EP_INVALID_GRANT, EP_ROTATE };

static pid_t child;

/* Listens on 127.0.0.1, forks a child that answers one request as mode
 * says; returns the port. */
static int endpoint(int mode)
{
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    int l = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(l >= 0);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(l, 4), 0);
    assert_int_equal(getsockname(l, (struct sockaddr *)&sa, &sl), 0);
    child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        static const char chunk[4096] = {0};
        char req[8192];
        const char *body = NULL, *status = "200 OK";
        char head[256];
        int c = accept(l, NULL, NULL), i;
        signal(SIGPIPE, SIG_IGN);
        (void)!read(c, req, sizeof req);
        if (mode == EP_SILENT) {
            sleep(20);
            _exit(0);
        }
        if (mode == EP_ENDLESS) {
            const char *h = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                            "Content-Length: 100000000\r\n\r\n";
            (void)!write(c, h, strlen(h));
            for (i = 0; i < 25000; i++)
                if (write(c, chunk, sizeof chunk) < 0)
                    break;
            _exit(0);
        }
        if (mode == EP_503) {
            status = "503 Service Unavailable";
            body = "{}";
        } else if (mode == EP_INVALID_GRANT) {
            status = "400 Bad Request";
            body = "{\"error\":\"invalid_grant\",\"error_description\":\"grant revoked\"}";
        } else {
            body = "{\"access_token\":\"AT-new\",\"token_type\":\"Bearer\","
                   "\"expires_in\":3600,\"refresh_token\":\"RT-new\"}";
        }
        snprintf(head, sizeof head, "HTTP/1.1 %s\r\nContent-Type: application/json\r\n"
                 "Content-Length: %zu\r\nConnection: close\r\n\r\n", status, strlen(body));
        (void)!write(c, head, strlen(head));
        (void)!write(c, body, strlen(body));
        close(c);
        _exit(0);
    }
    close(l);
    return ntohs(sa.sin_port);
}

static void endpoint_done(void)
{
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
}

static double now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return tv.tv_sec * 1000.0 + tv.tv_usec / 1000.0;
}

static void test_http_bounds(void **state)
{
    tool_http_resp r;
    char url[64], err[512];
    double t0;
    (void)state;
    /* a provider that never answers: the request ends at its timeout */
    snprintf(url, sizeof url, "http://127.0.0.1:%d/token", endpoint(EP_SILENT));
    t0 = now_ms();
    assert_int_equal(tool_http_request(url, "a=b", 1000, &r, err, sizeof err), TOOL_HTTP_DOWN);
    assert_true(now_ms() - t0 < 5000);
    endpoint_done();
    /* one that sends without end: cut at TOOL_HTTP_MAX_BODY */
    snprintf(url, sizeof url, "http://127.0.0.1:%d/token", endpoint(EP_ENDLESS));
    assert_int_equal(tool_http_request(url, "a=b", 10000, &r, err, sizeof err), TOOL_HTTP_DOWN);
    assert_non_null(strstr(err, "larger than"));
    endpoint_done();
}

/* an expired token and a token endpoint at port */
static void expired_file(int port)
{
    char text[512];
    snprintf(text, sizeof text,
             "{\"access_token\":\"AT-old\",\"refresh_token\":\"RT-old\",\"expires_at\":%lld,"
             "\"token_endpoint\":\"http://127.0.0.1:%d/token\",\"client_id\":\"abc\"}",
             (long long)time(NULL) - 10, port);
    write_file(text, 0600);
}

static void test_refresh_answers(void **state)
{
    tool_oauth o;
    postie_status st = POSTIE_OK;
    char before[4096];
    struct stat sb;
    (void)state;
    refuse_first = POSTIE_OK;

    expired_file(endpoint(EP_503)); /* provider failing: 75, file kept */
    strcpy(before, slurp());
    oauth_for_file(&o);
    calls = 0;
    assert_int_equal(tool_oauth_login(&o, fake_auth, NULL, &st), TOOL_EX_TEMPFAIL);
    assert_int_equal(calls, 0);
    assert_string_equal(slurp(), before);
    tool_oauth_free(&o);
    endpoint_done();

    expired_file(endpoint(EP_INVALID_GRANT)); /* revoked: 77, file kept */
    strcpy(before, slurp());
    oauth_for_file(&o);
    assert_int_equal(tool_oauth_login(&o, fake_auth, NULL, &st), TOOL_EX_NOPERM);
    assert_int_equal(calls, 0);
    assert_string_equal(slurp(), before);
    tool_oauth_free(&o);
    endpoint_done();

    expired_file(endpoint(EP_ROTATE)); /* rotated: saved, then used */
    oauth_for_file(&o);
    assert_int_equal(tool_oauth_login(&o, fake_auth, NULL, &st), 0);
    assert_int_equal(calls, 1);
    assert_string_equal(seen, "AT-new");
    assert_non_null(strstr(slurp(), "\"RT-new\""));
    assert_null(strstr(slurp(), "RT-old"));
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    tool_oauth_free(&o);
    endpoint_done();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_ok),
        cmocka_unit_test(test_form),
        cmocka_unit_test(test_settings),
        cmocka_unit_test(test_hint),
        cmocka_unit_test(test_valid_token_used),
        cmocka_unit_test(test_file_others_may_read),
        cmocka_unit_test(test_no_file),
        cmocka_unit_test(test_provider_down),
        cmocka_unit_test(test_bad_token_never_sent),
        cmocka_unit_test(test_http_bounds),
        cmocka_unit_test(test_refresh_answers),
    };
    return cmocka_run_group_tests(tests, setup_dir, remove_dir);
}
