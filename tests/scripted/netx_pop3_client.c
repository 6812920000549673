/*
 * netx_pop3_client - drives the NetX Duo POP3 client services of postie_netx
 * against the scripted server (tests/scripted/cases/netx_pop3_*.txt).
 *
 *   netx_pop3_client HOST PORT USER PASS APOP MODE [PAYLOAD]
 *
 * APOP: 0 or 1 (the create service's APOP_authentication). MODE:
 *   stat   nx_pop3_client_mail_items_get (STAT), then every item
 *   list   no STAT: items 1, 2, ... until the service says there is no such
 *          item (the client learns the count with LIST)
 *   v4     as stat, created with nx_pop3_client_create (IPv4 ULONG address)
 * Every item is fetched with nx_pop3_client_mail_item_get and
 * nx_pop3_client_mail_item_message_get packet by packet (packets of PAYLOAD
 * bytes, default 48) and deleted; then QUIT. Prints one line per step, the
 * message escaped (\r, \n, \\, \xNN). Exit 0 when every service returned
 * NX_SUCCESS, 1 otherwise.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nx_api.h"
#include "nxd_pop3_client.h"

static ULONG pool_memory[16384];
static NX_PACKET_POOL pool;
static NX_IP ip;
static NX_POP3_CLIENT client;
static char message[65536];

static void print_escaped(const char *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch == '\r') fputs("\\r", stdout);
        else if (ch == '\n') fputs("\\n", stdout);
        else if (ch == '\\') fputs("\\\\", stdout);
        else if (ch < 0x20 || ch > 0x7e) printf("\\x%02x", ch);
        else putchar(ch);
    }
    putchar('\n');
}

static int fetch(UINT item)
{
    ULONG size = 0, total = 0;
    UINT final = NX_FALSE, packets = 0, st;

    st = nx_pop3_client_mail_item_get(&client, item, &size);
    if (st != NX_SUCCESS) {
        printf("item %u get 0x%02x\n", item, st);
        return (int)st;
    }
    printf("item %u size %lu\n", item, size);
    while (!final) {
        NX_PACKET *pkt;
        ULONG got;
        st = nx_pop3_client_mail_item_message_get(&client, &pkt, &got, &final);
        if (st != NX_SUCCESS) {
            printf("item %u message_get 0x%02x\n", item, st);
            return -1;
        }
        if (got != pkt->nx_packet_length || total + got > sizeof message ||
            got > pool.nx_packet_pool_payload_size) {
            printf("item %u bad packet\n", item);
            return -1;
        }
        memcpy(message + total, pkt->nx_packet_prepend_ptr, got);
        total += got;
        packets++;
        nx_packet_release(pkt);
    }
    printf("item %u bytes %lu in %u packets\n", item, total, packets);
    print_escaped(message, total);
    st = nx_pop3_client_mail_item_delete(&client, item);
    printf("item %u delete 0x%02x\n", item, st);
    return st == NX_SUCCESS ? 0 : -1;
}

int main(int argc, char **argv)
{
    NXD_ADDRESS server;
    unsigned char a6[16];
    ULONG payload = 48;
    UINT st, apop, i;
    const char *mode;
    int rc = 0;

    if (argc < 7) {
        fprintf(stderr, "usage: %s HOST PORT USER PASS APOP stat|list|v4 [PAYLOAD]\n", argv[0]);
        return 2;
    }
    apop = (UINT)atoi(argv[5]);
    mode = argv[6];
    if (argc > 7) {
        payload = (ULONG)atol(argv[7]);
    }
    nx_system_initialize();
    if (nx_packet_pool_create(&pool, "pop3 pool", payload, pool_memory, sizeof pool_memory) != NX_SUCCESS ||
        nx_ip_create(&ip, "ip", IP_ADDRESS(127, 0, 0, 1), 0xFFFFFF00UL, &pool, _nx_ram_network_driver,
                     pool_memory, 0, 1) != NX_SUCCESS ||
        nx_tcp_enable(&ip) != NX_SUCCESS) {
        puts("setup failed");
        return 1;
    }
    memset(&server, 0, sizeof server);
    if (inet_pton(AF_INET, argv[1], a6) == 1) {
        server.nxd_ip_version = NX_IP_VERSION_V4;
        server.nxd_ip_address.v4 = IP_ADDRESS(a6[0], a6[1], a6[2], a6[3]);
    } else if (inet_pton(AF_INET6, argv[1], a6) == 1) {
        server.nxd_ip_version = NX_IP_VERSION_V6;
        for (i = 0; i < 4; i++) {
            server.nxd_ip_address.v6[i] = ((ULONG)a6[4 * i] << 24) | ((ULONG)a6[4 * i + 1] << 16) |
                                          ((ULONG)a6[4 * i + 2] << 8) | a6[4 * i + 3];
        }
    } else {
        puts("bad host");
        return 2;
    }
    if (strcmp(mode, "v4") == 0) {
        st = nx_pop3_client_create(&client, apop, &ip, &pool, server.nxd_ip_address.v4,
                                   (ULONG)atol(argv[2]), argv[3], argv[4]);
    } else {
        st = nxd_pop3_client_create(&client, apop, &ip, &pool, &server, (ULONG)atol(argv[2]),
                                    argv[3], argv[4]);
    }
    printf("create 0x%02x\n", st);
    if (st != NX_SUCCESS) {
        return 1;
    }
    if (strcmp(mode, "list") == 0) {
        for (i = 1;; i++) {
            int r = fetch(i);
            if (r == (int)NX_POP3_INVALID_MAIL_ITEM) {
                break;
            }
            if (r != 0) {
                rc = 1;
                break;
            }
        }
    } else {
        UINT items = 0;
        ULONG total = 0;
        st = nx_pop3_client_mail_items_get(&client, &items, &total);
        printf("items %u %lu (0x%02x)\n", items, total, st);
        if (st != NX_SUCCESS) {
            rc = 1;
        }
        for (i = 1; rc == 0 && i <= items; i++) {
            if (fetch(i) != 0) {
                rc = 1;
            }
        }
    }
    st = nx_pop3_client_quit(&client);
    printf("quit 0x%02x\n", st);
    if (st != NX_SUCCESS) {
        rc = 1;
    }
    nx_pop3_client_delete(&client);
    nx_packet_pool_delete(&pool);
    return rc;
}
