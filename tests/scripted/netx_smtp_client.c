/*
 * netx_smtp_client - drives the NetX Duo SMTP client services of postie_netx
 * against the scripted server (tests/scripted/cases/netx_smtp_*.txt).
 *
 *   netx_smtp_client HOST PORT AUTH USER PASS FROM TO SUBJECT BODY
 *
 * AUTH: plain, login or none. BODY takes the escapes \r \n \\ \x20. Creates
 * the client (domain "client.example"), sends one mail with
 * nx_smtp_mail_send, prints "send 0xNN reply N" and exits 0 when the status
 * was NX_SUCCESS, 1 otherwise.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nx_api.h"
#include "nxd_smtp_client.h"

static ULONG pool_memory[4096];
static NX_PACKET_POOL pool;
static NX_IP ip;
static NX_SMTP_CLIENT client;

static size_t unescape(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    while (*in && o + 1 < cap) {
        if (in[0] == '\\' && in[1] == 'r') { out[o++] = '\r'; in += 2; }
        else if (in[0] == '\\' && in[1] == 'n') { out[o++] = '\n'; in += 2; }
        else if (in[0] == '\\' && in[1] == '\\') { out[o++] = '\\'; in += 2; }
        else if (in[0] == '\\' && in[1] == 'x' && in[2] && in[3]) {
            char hex[3] = {in[2], in[3], 0};
            out[o++] = (char)strtol(hex, NULL, 16);
            in += 4;
        } else { out[o++] = *in++; }
    }
    out[o] = '\0';
    return o;
}

int main(int argc, char **argv)
{
    NXD_ADDRESS server;
    unsigned char a[16];
    char subject[512], body[8192];
    size_t body_len;
    UINT auth, st;
    int i;

    if (argc != 10) {
        fprintf(stderr, "usage: %s HOST PORT plain|login|none USER PASS FROM TO SUBJECT BODY\n", argv[0]);
        return 2;
    }
    auth = strcmp(argv[3], "plain") == 0   ? NX_SMTP_CLIENT_AUTH_PLAIN
           : strcmp(argv[3], "login") == 0 ? NX_SMTP_CLIENT_AUTH_LOGIN
                                           : NX_SMTP_CLIENT_AUTH_NONE;
    memset(&server, 0, sizeof server);
    if (inet_pton(AF_INET, argv[1], a) == 1) {
        server.nxd_ip_version = NX_IP_VERSION_V4;
        server.nxd_ip_address.v4 = IP_ADDRESS(a[0], a[1], a[2], a[3]);
    } else if (inet_pton(AF_INET6, argv[1], a) == 1) {
        server.nxd_ip_version = NX_IP_VERSION_V6;
        for (i = 0; i < 4; i++) {
            server.nxd_ip_address.v6[i] = ((ULONG)a[4 * i] << 24) | ((ULONG)a[4 * i + 1] << 16) |
                                          ((ULONG)a[4 * i + 2] << 8) | a[4 * i + 3];
        }
    } else {
        return 2;
    }
    unescape(argv[8], subject, sizeof subject);
    body_len = unescape(argv[9], body, sizeof body);
    if (nx_packet_pool_create(&pool, "smtp pool", 64, pool_memory, sizeof pool_memory) != NX_SUCCESS ||
        nx_ip_create(&ip, "ip", IP_ADDRESS(127, 0, 0, 1), 0xFFFFFF00UL, &pool, _nx_ram_network_driver,
                     pool_memory, 0, 1) != NX_SUCCESS) {
        puts("setup failed");
        return 1;
    }
    st = nxd_smtp_client_create(&client, &ip, &pool, argv[4], argv[5], argv[6], "client.example", auth,
                                &server, (UINT)atoi(argv[2]));
    if (st != NX_SUCCESS) {
        printf("create 0x%02x\n", st);
        return 1;
    }
    st = nx_smtp_mail_send(&client, argv[7], NX_SMTP_MAIL_PRIORITY_NORMAL, subject, body, (UINT)body_len);
    printf("send 0x%02x reply %u\n", st, client.nx_smtp_client_reply_code_status);
    nx_smtp_client_delete(&client);
    nx_packet_pool_delete(&pool);
    return st == NX_SUCCESS ? 0 : 1;
}
