/*
 * bench/bench_sizes.c - RAM a session needs on this host: sizeof of every
 * context struct the caller owns. Built twice by bench/CMakeLists.txt: with
 * the default configuration (bench_sizes) and with
 * bench/postie_config_min.h (bench_sizes_min). bench/size-arm.sh prints the
 * same figures for a Cortex-M.
 */
#include <stdio.h>

#include "postie/base64_stream.h"
#include "postie/compose.h"
#include "postie/line.h"
#include "postie/md5.h"
#include "postie/pop3.h"
#include "postie/posix_tcp.h"
#include "postie/posix_tls.h"
#include "postie/scram.h"
#include "postie/sha256.h"
#include "postie/smtp.h"

#define ROW(type, what) printf("| %s | %zu | %s |\n", #type, sizeof(type), what)

int main(void)
{
#ifdef POSTIE_HAVE_CONFIG_H
    const char *cfg = "bench/postie_config_min.h";
#else
    const char *cfg = "default";
#endif
    printf("| context (%s config, %zu-bit host) | bytes | what |\n|---|---:|---|\n", cfg,
           sizeof(void *) * 8);
    ROW(postie_pop3, "one POP3 session");
    ROW(postie_smtp, "one SMTP session");
    ROW(postie_compose, "one message being composed");
    ROW(postie_scram, "one SCRAM-SHA-256 exchange");
    ROW(postie_tcp, "POSIX TCP transport");
    ROW(postie_openssl, "OpenSSL transport (OpenSSL's own heap not counted)");
    ROW(postie_line, "line framer (inside both sessions)");
    ROW(postie_smtp_reply, "SMTP reply (two inside postie_smtp)");
    ROW(postie_base64_stream, "base64 encoder (inside postie_compose)");
    ROW(postie_sha256_ctx, "SHA-256");
    ROW(postie_md5_ctx, "MD5");
    return 0;
}
